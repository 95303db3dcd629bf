"""Projects: what the current project may call, with whose keys, and how much.

The current project's :class:`ProjectConfig` (``[projects.NAME]`` in qlayer.toml, looked up
by ``settings.project``; absent: no restrictions) applies to every call:

- ``allowed_models``: the requested name (and, for a route, every deployment it could use)
  must match one of the names or fnmatch patterns, checked before any network call.
- ``keys``: a provider key variable mapped to the variable holding this project's own key;
  calls of the project send that key instead. Only variable names ever appear in messages.
- ``rpm``, ``tokens_per_day``, ``usd_per_month``: quotas shared by every process of the
  project. The counters live in the budgets' sqlite file (``data_dir/budgets.sqlite``);
  ``usd_per_month`` is an implicit hard monthly project budget, reserved and committed by the
  router like any ``[[budgets]]`` entry.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import os
import sqlite3
import time
from collections.abc import Iterable

from quantumlayer_nb.config import Settings
from quantumlayer_nb.errors import BudgetExceeded, MissingCredentials, PolicyViolation
from quantumlayer_nb.routing import budget
from quantumlayer_nb.routing.models import BudgetConfig, ProjectConfig
from quantumlayer_nb.routing.resolve import Target, provider_of
from quantumlayer_nb.safety.secrets import redact_text

__all__ = [
    "QuotaExceeded",
    "admit",
    "apply_keys",
    "check_allowed",
    "config_for",
    "count_tokens",
    "key_variable",
    "with_project_budget",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS quota_requests (project TEXT NOT NULL, ts REAL NOT NULL);
CREATE INDEX IF NOT EXISTS quota_requests_project ON quota_requests (project, ts);
CREATE TABLE IF NOT EXISTS quota_tokens (
    project TEXT NOT NULL, day TEXT NOT NULL, tokens INTEGER NOT NULL,
    PRIMARY KEY (project, day)
);
"""
_WINDOW_S = 60.0
_PROVIDER_KEYS = {
    "openai": "OPENAI_API_KEY",
    "text-completion-openai": "OPENAI_API_KEY",
    "azure": "AZURE_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "cohere": "COHERE_API_KEY",
    "cohere_chat": "COHERE_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "fireworks_ai": "FIREWORKS_AI_API_KEY",
    "xai": "XAI_API_KEY",
    "perplexity": "PERPLEXITYAI_API_KEY",
}
_NOT_A_KEY_SUFFIXES = ("_API_BASE", "_API_VERSION", "_BASE_URL", "_REGION_NAME")
_key_variables: dict[str, str | None] = {}
_ready: set[tuple[int, str]] = set()


class QuotaExceeded(BudgetExceeded):
    """A project quota (requests per minute, tokens per day, USD per month) is used up."""

    def __init__(self, message: str, *, quota: str, limit: float, used: float,
                 resets: str | None) -> None:
        super().__init__(message)
        self.quota = quota
        self.limit = limit
        self.used = used
        self.resets = resets


def config_for(settings: Settings) -> ProjectConfig | None:
    """The current project's configuration; None when it has no ``[projects.NAME]`` table."""
    return settings.projects.get(settings.project) if settings.projects else None


def _matches(names: Iterable[str], patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for name in names for p in patterns)


def _names(target: Target) -> tuple[str, ...]:
    return (target.requested, target.name, target.deployment.model)


def check_allowed(project: str, config: ProjectConfig, requested: str, route_name: str | None,
                  targets: list[Target]) -> None:
    """Refuse a model, route or deployment the project may not use.

    Raises:
        PolicyViolation: category ``model_not_allowed``, naming the project, the model and
            the allowed list.
    """
    allowed = config.allowed_models
    if allowed is None:
        return
    refused: str | None = None
    if route_name is not None:
        if not _matches([route_name], allowed):
            refused = f"route {route_name!r}"
        else:
            for target in targets:
                if not _matches(_names(target)[1:], allowed):
                    refused = (f"deployment {target.name!r} ({target.deployment.model}) of "
                               f"route {route_name!r}")
                    break
    elif not any(_matches(_names(t), allowed) for t in targets):
        refused = f"model {requested!r}"
    if refused is None:
        return
    listed = ", ".join(allowed) or "(nothing)"
    refused = redact_text(refused)  # the requested name is user input; it lands on the ledger
    raise PolicyViolation(
        f"Project {project!r} may not use {refused}: allowed models are {listed}. Pick an "
        f"allowed model, or add it to allowed_models under [projects.{project}] in qlayer.toml.",
        category="model_not_allowed",
    )


def key_variable(target: Target) -> str | None:
    """The environment variable the deployment's key comes from (None: it sends no key)."""
    dep = target.deployment
    if dep.api_key_env:
        return dep.api_key_env
    if dep.api_base or target.is_recipes:
        return None  # a custom server gets no provider key unless api_key_env names one
    if dep.model not in _key_variables:
        _key_variables[dep.model] = _provider_key(dep.model)
    return _key_variables[dep.model]


def _provider_key(model: str) -> str | None:
    provider = provider_of(model)
    if provider in _PROVIDER_KEYS:
        return _PROVIDER_KEYS[provider]
    from quantumlayer_nb.llm._lazy import litellm_module

    report = litellm_module().validate_environment(model)
    missing = [m for m in report.get("missing_keys", []) if not m.endswith(_NOT_A_KEY_SUFFIXES)]
    return missing[0] if missing else None


def apply_keys(project: str, config: ProjectConfig, target: Target) -> Target:
    """The target calling with the project's own key, when the project maps its key variable.

    Raises:
        MissingCredentials: the variable holding the project's key is not set (named, never
            its value).
    """
    if not config.keys:
        return target
    provider_var = key_variable(target)
    own = config.keys.get(provider_var) if provider_var else None
    if own is None:
        return target
    if not os.environ.get(own):
        raise MissingCredentials(
            f"Project {project!r} takes its key for ${provider_var} from ${own}, which is not "
            f"set. Set it (export {own}=...) or change keys under [projects.{project}] in "
            "qlayer.toml.",
            env_vars=[own],
        )
    deployment = target.deployment.model_copy(update={"api_key_env": own})
    return dataclasses.replace(target, deployment=deployment)


def with_project_budget(settings: Settings, config: ProjectConfig) -> Settings:
    """Settings whose budgets include ``usd_per_month`` as a hard monthly project budget.

    An explicit monthly ``project`` budget of the same project is merged into it (the
    smaller limit wins) so the spending is not counted twice.
    """
    if config.usd_per_month is None:
        return settings
    same = [b for b in settings.budgets if b.scope == "project" and b.period == "month"
            and b.name in (None, settings.project)]
    limit = min([config.usd_per_month, *(b.limit_usd for b in same if b.kind == "hard")])
    implicit = BudgetConfig(scope="project", limit_usd=limit, period="month")
    kept = [b for b in settings.budgets if b not in same]
    return settings.model_copy(update={"budgets": [*kept, implicit]})


def _connect(settings: Settings) -> sqlite3.Connection:
    conn = budget._connect(settings.data_path)  # the budgets' file: one store for all limits
    marker = (id(conn), str(settings.data_path))
    if marker not in _ready:
        conn.executescript(_SCHEMA)
        _ready.add(marker)
    return conn


def _how(project: str, field: str) -> str:
    return f"raise {field} under [projects.{project}] in qlayer.toml"


def admit(settings: Settings, config: ProjectConfig) -> None:
    """Count one request against the project's quotas, or refuse it.

    Raises:
        QuotaExceeded: what is used up, the numbers, when it resets and how to raise it.
    """
    if config.rpm is None and config.tokens_per_day is None and config.usd_per_month is None:
        return
    project = settings.project
    conn = _connect(settings)
    now = time.time()
    conn.execute("BEGIN IMMEDIATE")
    try:
        if config.tokens_per_day is not None:
            _check_tokens(conn, project, config.tokens_per_day)
        if config.usd_per_month is not None:
            _check_usd(conn, settings, config.usd_per_month)
        if config.rpm is not None:
            _check_rpm(conn, project, config.rpm, now)
            conn.execute("INSERT INTO quota_requests VALUES (?, ?)", (project, now))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _check_rpm(conn: sqlite3.Connection, project: str, rpm: int, now: float) -> None:
    conn.execute("DELETE FROM quota_requests WHERE project=? AND ts<=?",
                 (project, now - _WINDOW_S))
    count, oldest = conn.execute(
        "SELECT COUNT(*), MIN(ts) FROM quota_requests WHERE project=?", (project,)).fetchone()
    if count >= rpm:
        wait = max(0.0, oldest + _WINDOW_S - now)
        raise QuotaExceeded(
            f"Project {project!r} reached its quota of {rpm} requests per minute ({count} in "
            f"the last 60 s). Retry in {wait:.0f} s, or {_how(project, 'rpm')}.",
            quota="rpm", limit=rpm, used=count, resets=f"in {wait:.0f} s",
        )


def _today() -> tuple[str, str]:
    today = dt.datetime.now(dt.timezone.utc).date()
    return today.isoformat(), f"{today + dt.timedelta(days=1)} 00:00 UTC"


def _check_tokens(conn: sqlite3.Connection, project: str, limit: int) -> None:
    day, resets = _today()
    row = conn.execute("SELECT tokens FROM quota_tokens WHERE project=? AND day=?",
                       (project, day)).fetchone()
    used = int(row[0]) if row else 0
    if used >= limit:
        raise QuotaExceeded(
            f"Project {project!r} used {used:,} of its {limit:,} tokens today (UTC). Wait "
            f"until {resets}, or {_how(project, 'tokens_per_day')}.",
            quota="tokens_per_day", limit=limit, used=used, resets=resets,
        )


def _check_usd(conn: sqlite3.Connection, settings: Settings, limit: float) -> None:
    config = BudgetConfig(scope="project", limit_usd=limit, period="month")
    period, resets = budget._period(config, dt.datetime.now())
    (spent,) = conn.execute(
        "SELECT COALESCE(SUM(amount), 0) FROM spend WHERE budget=? AND period=?",
        (budget.budget_label(config, settings), period)).fetchone()
    if spent >= limit:
        project = settings.project
        raise QuotaExceeded(
            f"Project {project!r} spent ${spent:.2f} of its ${limit:.2f} per month. Wait "
            f"until {resets}, or {_how(project, 'usd_per_month')}.",
            quota="usd_per_month", limit=limit, used=float(spent), resets=resets,
        )


def count_tokens(settings: Settings, config: ProjectConfig, tokens: int) -> None:
    """Add a call's prompt + completion tokens to the project's count for today (UTC)."""
    if config.tokens_per_day is None or tokens <= 0:
        return
    day, _ = _today()
    _connect(settings).execute(
        "INSERT INTO quota_tokens VALUES (?, ?, ?) ON CONFLICT (project, day) "
        "DO UPDATE SET tokens = tokens + excluded.tokens",
        (settings.project, day, tokens),
    )
