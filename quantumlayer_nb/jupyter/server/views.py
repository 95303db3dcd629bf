"""The endpoints' answers, computed from the reader's aggregates; and their query parameters.

Each ``*_view`` function takes checked parameters and returns the JSON-ready dict of one
endpoint (shapes in docs/server-api.md). :func:`parse` checks a request's query arguments
against :data:`PARAMETERS` and raises :class:`BadParameter` with what is accepted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from quantumlayer_nb.eval.passk import pass_at_k
from quantumlayer_nb.jupyter.server.readers import CallRow, DeploymentWindow, LedgerReader

__all__ = ["PARAMETERS", "BadParameter", "Param", "calls_view", "evaluations_view",
           "models_view", "parse", "summary_view"]

PASS_AT_K = (1, 2, 5, 10, 20, 50, 100)
_FRACTION = re.compile(r"\.\d{7,}")
_LEAP_SECOND = re.compile(r"(T\d\d:\d\d):60")


class BadParameter(ValueError):
    """A query parameter is missing, repeated, unknown or out of range; says what is accepted."""


@dataclass(frozen=True)
class Param:
    """One query parameter: its type (``int``, ``number``, ``text``, ``time``), bounds, default."""

    name: str
    kind: str
    description: str
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = 500


PARAMETERS: dict[str, tuple[Param, ...]] = {
    "summary": (),
    "jobs": (),
    "calls": (
        Param("limit", "int", "Calls per page.", 50, 1, 500),
        Param("offset", "int", "Calls to skip (newest first).", 0, 0, 1_000_000_000),
        Param("model", "text", "Only calls whose requested model, served model or deployment "
              "is this."),
        Param("outcome", "text", "Only calls with this outcome (ok, error, cache_hit, "
              "refused, ...)."),
        Param("notebook", "text", "Only calls from this notebook (its path, or the path's "
              "last part)."),
        Param("run", "text", "Only calls of this run id."),
        Param("since", "time", "Only calls at or after this time (ISO 8601 date or time, "
              "naive = UTC; or unix seconds)."),
        Param("until", "time", "Only calls before this time (as since)."),
        Param("q", "text", "Prompt text to search for (case-insensitive); only when "
              "store_prompts is on."),
    ),
    "models": (
        Param("window_s", "number", "The recent window, in seconds.", 3600, 1, 30 * 86400),
    ),
    "evaluations": (
        Param("limit", "int", "Evaluation runs to list (newest first).", 50, 1, 1000),
    ),
}


def _accepted(params: Sequence[Param]) -> str:
    return ", ".join(p.name for p in params) if params else "none"


def _to_time(param: Param, raw: str) -> str:
    text = raw.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds) or not 0 <= seconds < 32503680000:
            raise BadParameter(f"{param.name}={raw!r} is out of range: give unix seconds "
                               "between 0 and 32503680000, or an ISO 8601 date or time.")
        moment = datetime.fromtimestamp(seconds, timezone.utc)
        return moment.isoformat(timespec="microseconds")
    # RFC 3339 allows what fromisoformat does not: lower-case t/z, a leap second, more
    # than six fractional digits.
    normal = _FRACTION.sub(lambda m: m[0][:7], text.upper().replace("Z", "+00:00"))
    normal = _LEAP_SECOND.sub(r"\1:59", normal)
    try:
        moment = datetime.fromisoformat(normal)
    except ValueError:
        raise BadParameter(
            f"{param.name}={raw[:80]!r} is not a time: give an ISO 8601 date or time "
            "(2026-11-01, 2026-11-01T12:00:00+00:00) or unix seconds.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        moment = moment.astimezone(timezone.utc)
    except (OverflowError, ValueError):  # an offset that crosses year 1 or 9999
        moment = (datetime.min if moment.year < 5000 else datetime.max).replace(
            tzinfo=timezone.utc)
    return moment.isoformat(timespec="microseconds")


def _convert(param: Param, raw: str) -> Any:
    if param.kind == "text":
        if len(raw) > param.max_length:
            raise BadParameter(f"{param.name} is {len(raw)} characters long; at most "
                               f"{param.max_length} are accepted.")
        return raw
    if param.kind == "time":
        return _to_time(param, raw)
    bounds = f"between {param.minimum:g} and {param.maximum:g}"
    try:
        value: float = int(raw) if param.kind == "int" else float(raw)
    except ValueError:
        what = "a whole number" if param.kind == "int" else "a number"
        raise BadParameter(f"{param.name}={raw[:80]!r} is not {what}: give {what} "
                           f"{bounds}.") from None
    if not math.isfinite(value) or not (param.minimum or 0) <= value <= (param.maximum or 0):
        raise BadParameter(f"{param.name}={raw[:80]!r} is out of range: give a value {bounds}.")
    return value


def parse(endpoint: str, arguments: Mapping[str, Sequence[bytes]]) -> dict[str, Any]:
    """Check a request's query arguments; an empty value means "not given".

    Returns:
        Every parameter of the endpoint by name: its value, or its default.

    Raises:
        BadParameter: unknown, repeated, malformed or out-of-range parameter.
    """
    params = PARAMETERS[endpoint]
    known = {p.name: p for p in params}
    # jupyter_server's own ``token`` and the all-digit cache-buster that JupyterLab's
    # ServerConnection adds to every GET belong to the transport, not to this API.
    arguments = {name: raw for name, raw in arguments.items()
                 if name != "token" and not (name.isdigit() and raw in ([b""], []))}
    unknown = sorted(name for name in arguments if name not in known)
    if unknown:
        raise BadParameter(f"Unknown query parameter {unknown[0][:80]!r} for /{endpoint}; "
                           f"accepted: {_accepted(params)}.")
    values: dict[str, Any] = {p.name: p.default for p in params}
    for name, raw_values in arguments.items():
        if len(raw_values) > 1:
            raise BadParameter(f"Query parameter {name!r} is given {len(raw_values)} times; "
                               "give it at most once.")
        try:
            raw = raw_values[0].decode("utf-8")
        except UnicodeDecodeError:
            raise BadParameter(f"Query parameter {name!r} is not UTF-8 text.") from None
        if raw == "" or "\x00" in raw:
            if raw:
                raise BadParameter(f"Query parameter {name!r} holds a NUL character.")
            continue
        values[name] = _convert(known[name], raw)
    return values


def _money(value: float) -> float:
    return round(value, 8)


def summary_view(reader: LedgerReader, project: str, user: str,
                 budgets: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The ``summary`` endpoint: spend, calls and cache hits today, budgets, cost by model."""
    today, month = now.strftime("%Y-%m-%d"), now.strftime("%Y-%m")
    first_day = (now - timedelta(days=29)).strftime("%Y-%m-%d")
    today_usd = month_usd = saved = 0.0
    calls = hits = unknown = 0
    estimated = False
    by_who: dict[tuple[str, str], list[float]] = {}
    for (day, who_project, who_user), spent in reader.spend.items():
        if not day.startswith(month):
            continue
        month_usd += spent.cost_usd
        totals = by_who.setdefault((who_project, who_user), [0.0, 0.0])
        totals[1] += spent.cost_usd
        if day == today:
            today_usd += spent.cost_usd
            totals[0] += spent.cost_usd
            calls += spent.calls
            hits += spent.cache_hits
            saved += spent.saved_usd
            unknown += spent.unknown_cost_calls
            estimated = estimated or spent.tokens_estimated
    cost_by_model = [
        {"model": model, "day": day, "cost_usd": _money(cost), "calls": int(count)}
        for (day, model), (cost, count) in sorted(reader.model_days.items())
        if first_day <= day <= today
    ]
    return {
        "project": project, "user": user,
        "now": now.isoformat(timespec="seconds"),
        "spend": {"today_usd": _money(today_usd), "month_usd": _money(month_usd)},
        "spend_by": [{"project": p or None, "user": u or None, "today_usd": _money(t),
                      "month_usd": _money(m)} for (p, u), (t, m) in sorted(by_who.items())],
        "calls_today": calls, "cache_hits_today": hits,
        "cache_saved_usd_today": _money(saved),
        "estimated_cost_today": estimated, "unknown_cost_calls_today": unknown,
        "budgets": budgets, "cost_by_model": cost_by_model,
        "events_read": reader.events_read,
    }


def _filtered(rows: list[CallRow], params: dict[str, Any]) -> list[CallRow]:
    """The rows that pass every filter given, oldest first (one comprehension: fast)."""
    model, outcome, run = params["model"], params["outcome"], params["run"]
    notebook, query = params["notebook"], params["q"]
    # One comparison each first, so the costlier filters see fewer rows.
    if outcome is not None:
        rows = [r for r in rows if r.outcome == outcome]
    if run is not None:
        rows = [r for r in rows if r.run_id == run]
    if model is not None:
        rows = [r for r in rows if model == r.model_served or model == r.model_requested
                or model == r.deployment]
    if notebook is not None:
        tail = "/" + notebook
        rows = [r for r in rows if r.notebook is not None and (
            r.notebook == notebook or r.notebook.endswith(tail))]
    if query is not None:
        needle = query.lower()
        rows = [r for r in rows if r.prompt is not None and needle in r.prompt]
    return rows


def calls_view(reader: LedgerReader, params: dict[str, Any], store_prompts: bool
               ) -> dict[str, Any]:
    """The ``calls`` endpoint: one page of calls, newest first, filtered.

    Raises:
        BadParameter: ``q`` is given while ``store_prompts`` is off.
    """
    if params["q"] is not None and not store_prompts:
        raise BadParameter("q (prompt text search) needs store_prompts = true in qlayer.toml: "
                           "prompts are not kept on the ledger otherwise. Search by model, "
                           "outcome, notebook, run, since or until instead.")
    limit, offset = int(params["limit"]), int(params["offset"])
    lo, hi = reader.ts_range(params["since"], params["until"])
    rows = reader.rows
    filtered = any(params[name] is not None for name in ("model", "outcome", "notebook",
                                                         "run", "q"))
    if not filtered:
        total = max(hi - lo, 0)
        top = hi - offset
        page = [rows[i] for i in range(top - 1, max(top - limit, lo) - 1, -1)] if top > lo else []
    else:
        kept = _filtered(rows[lo:hi], params)
        total = len(kept)
        page = kept[max(total - offset - limit, 0):max(total - offset, 0)][::-1]
    return {"total": total, "offset": offset, "limit": limit,
            "calls": [row.as_json() for row in page]}


def _percentile(sorted_values: list[float], fraction: float) -> float | None:
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    value = sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)
    return round(value, 3)


_HINTS = {
    "RateLimitError": "The provider is rate limiting: lower concurrency, or set rpm on the "
                      "deployment so calls wait their turn instead of failing.",
    "AuthenticationError": "The provider refused the key: check the variable named by the "
                           "deployment's api_key_env (qlayer doctor shows which are set).",
    "MissingCredentials": "No key is set for this deployment: set the variable named by its "
                          "api_key_env, or route to another deployment.",
    "ProviderTimeout": "Calls time out: raise timeout in qlayer.toml or check the provider's "
                       "status.",
    "Timeout": "Calls time out: raise timeout in qlayer.toml or check the provider's status.",
    "ProviderUnavailable": "The provider is unreachable or failing: check api_base and the "
                           "provider's status; a route with a fallback keeps calls going.",
    "ContextWindowError": "Prompts are too long for this model: shorten them or route to a "
                          "model with a larger context window.",
    "ContextWindowExceeded": "Prompts are too long for this model: shorten them or route to "
                             "a model with a larger context window.",
    "BudgetExceeded": "A hard budget is exhausted: raise it with qlayer budget set, or wait "
                      "until it resets.",
    "ContentPolicyError": "The provider refused the content: rephrase the request.",
    "PolicyViolation": "The safety policy refused the request or the response: see the "
                       "message, and docs/trust.md for the checks.",
    "BadRequestError": "The provider rejected the request's parameters: check the deployment's "
                       "model name and options.",
}


def _hint(error_class: str | None) -> str | None:
    if error_class is None:
        return None
    return _HINTS.get(error_class, "See the error message; qlayer doctor checks the "
                      "configuration and the keys.")


def _rate_limited(error_class: str | None, message: str | None) -> bool:
    return "RateLimit" in (error_class or "") or "429" in (message or "")[:200]


def _circuit(attempts: list[tuple[float, float | None, bool, str | None, str | None]],
             now: float) -> str:
    """What a circuit breaker with the default settings would say after these attempts."""
    if not attempts:
        return "unknown"
    results: list[bool] = []
    state, opened = "closed", 0.0
    for unix, _, ok, _, _ in attempts[-100:]:
        if ok:
            state, results = "closed", [True]
            continue
        if state != "closed":
            opened = unix
            continue
        results = [*results[-19:], False]
        if len(results) >= 5 and results.count(False) / len(results) >= 0.5:
            state, opened, results = "open", unix, []
    if state == "open":
        return "open" if now - opened < 10.0 else "half_open"
    return "closed"


def models_view(reader: LedgerReader, window_s: float, configured: Mapping[str, str | None],
                now: float) -> dict[str, Any]:
    """The ``models`` endpoint: per deployment, health over the recent window."""
    since = now - window_s
    names = sorted(set(reader.deployments) | set(configured))
    found = []
    for name in names:
        window = reader.deployments.get(name) or DeploymentWindow()
        recent = sorted(a for a in window.attempts if a[0] >= since)
        latencies = sorted(a[1] for a in recent if a[2] and a[1] is not None)
        errors = [a for a in recent if not a[2]]
        found.append({
            "deployment": name, "model": configured.get(name) or window.model,
            "calls": len(recent),
            "p50_ms": _percentile(latencies, 0.5), "p90_ms": _percentile(latencies, 0.9),
            "error_rate": round(len(errors) / len(recent), 6) if recent else 0.0,
            "rate_limited": sum(_rate_limited(a[3], a[4]) for a in errors),
            "last_error": window.last_error, "last_error_hint": _hint(window.last_error_class),
            "circuit": _circuit(recent, now),
        })
    return {"models": found, "window_s": window_s}


def evaluations_view(reader: LedgerReader, limit: int) -> dict[str, Any]:
    """The ``evaluations`` endpoint: runs, newest first, with pass@k and cost per model."""
    runs = sorted(reader.evals.items(), key=lambda item: item[1].started, reverse=True)
    found = []
    for eval_id, run in runs[:limit]:
        models = []
        for model in sorted(set(run.tasks) | set(run.cost_usd)):
            tasks = run.tasks.get(model, {})
            largest = max((n for n, _ in tasks.values()), default=0)
            pass_at: dict[str, float] = {}
            for k in PASS_AT_K:
                values = [pass_at_k(n, c, k) for n, c in tasks.values() if n >= k]
                if k <= largest and values:
                    pass_at[str(k)] = round(sum(values) / len(values), 6)
            models.append({"model": model, "pass_at": pass_at,
                           "cost_usd": _money(run.cost_usd.get(model, 0.0)),
                           "samples": sum(n for n, _ in tasks.values()),
                           "tasks": len(tasks)})
        found.append({"eval_id": eval_id, "suite": run.suite, "started": run.started,
                      "models": models})
    return {"evaluations": found}
