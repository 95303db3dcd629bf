"""Settings: deployments, aliases, defaults, identity and paths.

Read, lowest precedence first, from:

1. defaults;
2. ``[tool.qlayer]`` in the project's ``pyproject.toml``;
3. ``qlayer.toml`` in the project folder (or the file named by ``QLAYER_CONFIG``);
4. ``QLAYER_*`` environment variables (``QLAYER_PROJECT``, ``QLAYER_DEFAULT_ROUTE``,
   ``QLAYER_ALIASES__FAST=openai/gpt-4o-mini``: a double underscore goes one level down);
5. overrides made in the session with :func:`configure`.

The project folder is the nearest folder, from the working directory up, holding a
``qlayer.toml`` or a ``pyproject.toml`` with a ``[tool.qlayer]`` table; else the working
directory itself.
"""

from __future__ import annotations

import getpass
import json
import math
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from quantumlayer_nb._env import env_get, env_names_with_prefix, env_size
from quantumlayer_nb._settings_models import BudgetConfig, ProjectConfig, RouteConfig
from quantumlayer_nb.cache.models import CacheConfig
from quantumlayer_nb.errors import ConfigError
from quantumlayer_nb.safety.policy import SafetyPolicy
from quantumlayer_nb.safety.secrets import placeholder_for, redact_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "RECIPES_MODEL",
    "Deployment",
    "Settings",
    "configure",
    "find_project_root",
    "get_settings",
    "load_settings",
    "redacted_view",
    "reset_configuration",
]

RECIPES_MODEL = "qlayer/recipes"
"""The built-in offline model: retrieval over the recipe library, not a language model."""

CONFIG_FILE = "qlayer.toml"

MAX_TIMEOUT_S = 7 * 24 * 3600.0
"""The longest timeout accepted anywhere (a week): longer ones overflow the clocks they set."""
MAX_NESTING = 32
"""Configuration nested deeper than this is refused (no setting goes beyond a few levels)."""

# Provider key variables and the model each one makes the default, in order of preference.
_DEFAULT_MODEL_BY_KEY: tuple[tuple[str, str], ...] = (
    ("OPENAI_API_KEY", "openai/gpt-4o-mini"),
    ("ANTHROPIC_API_KEY", "anthropic/claude-3-5-haiku-latest"),
    ("GEMINI_API_KEY", "gemini/gemini-2.0-flash"),
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Deployment(_Strict):
    """One concrete model endpoint that litellm can call."""

    model: str = Field(description="litellm model id: 'openai/gpt-4o-mini', 'ollama/llama3'.")
    api_base: str | None = Field(
        default=None, description="Base URL: Ollama, vLLM, Azure, any OpenAI-compatible server."
    )
    api_key_env: str | None = Field(
        default=None,
        description="NAME of the environment variable that holds the key (never the key itself).",
    )
    api_version: str | None = Field(default=None, description="API version (Azure).")
    input_cost_per_token: float | None = Field(
        default=None, ge=0, description="Price override in USD per prompt token."
    )
    output_cost_per_token: float | None = Field(
        default=None, ge=0, description="Price override in USD per completion token."
    )
    context_window: int | None = Field(
        default=None, gt=0, description="Max prompt tokens; default from litellm's model map."
    )
    timeout: float | None = Field(
        default=None, gt=0, le=MAX_TIMEOUT_S, description="Total timeout in seconds."
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Extra keyword arguments passed to litellm as they are."
    )
    connect_timeout: float | None = Field(
        default=None, gt=0, le=MAX_TIMEOUT_S, description="Connect timeout, s."
    )
    first_token_timeout: float | None = Field(
        default=None,
        gt=0,
        le=MAX_TIMEOUT_S,
        description="Longest wait for the first streamed token, s.",
    )
    rpm: int | None = Field(default=None, gt=0, description="Requests per minute allowed.")
    tpm: int | None = Field(default=None, gt=0, description="Tokens per minute allowed.")
    max_concurrent: int | None = Field(default=None, gt=0, description="Calls in flight at once.")
    weight: float = Field(default=1.0, gt=0, description="Weight under policy 'weighted'.")
    tags: list[str] = Field(default_factory=list, description="Free labels, e.g. 'code'.")

    @field_validator("model")
    @classmethod
    def _model_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must be a litellm model id such as 'openai/gpt-4o-mini'")
        return value.strip()

    @field_validator("api_key_env")
    @classmethod
    def _looks_like_a_name(cls, value: str | None) -> str | None:
        if value is not None and not value.replace("_", "").isalnum():
            raise ValueError(
                "must be the NAME of an environment variable (like 'OPENAI_API_KEY'), "
                "not the key itself"
            )
        return value


class Settings(_Strict):
    """Everything configurable. See docs/configuration.md for each key."""

    project: str = Field(description="Project name; scopes ledger, cache and budgets.")
    user: str = Field(description="Who is calling; from config, QLAYER_USER or JUPYTERHUB_USER.")
    default_route: str | None = Field(
        default=None,
        description="Model, alias, deployment or route used when none is given. "
        "Unset: a model for the first provider key found, else 'qlayer/recipes'.",
    )
    aliases: dict[str, str] = Field(default_factory=dict, description="Short names for models.")
    deployments: dict[str, Deployment] = Field(default_factory=dict)
    routes: dict[str, RouteConfig] = Field(default_factory=dict)
    budgets: list[BudgetConfig] = Field(default_factory=list)
    projects: dict[str, ProjectConfig] = Field(
        default_factory=dict, description="Per-project allowed models, keys and quotas."
    )
    cache: CacheConfig = Field(default_factory=lambda: CacheConfig())
    data_dir: Path = Field(default=Path(".qlayer"), description="Ledger, cache and store folder.")
    store_prompts: bool = Field(
        default=False, description="Keep raw prompts and responses on the ledger."
    )
    recipes_dir: Path | None = Field(
        default=None, description="Extra recipe folder for qlayer/recipes (default: ./recipes)."
    )
    recipe_threshold: float | None = Field(default=None, ge=0, le=1)
    timeout: float = Field(
        default=120.0, gt=0, le=MAX_TIMEOUT_S, description="Default total timeout in seconds."
    )
    confirm_above_usd: float | None = Field(
        default=None,
        ge=0,
        description="The %%qlayer magic asks before sending a call estimated above this many "
        "USD. None: never asks.",
    )
    safety: SafetyPolicy = Field(
        default_factory=lambda: SafetyPolicy(),
        description="What is checked on prompts and responses (secrets, abuse, size).",
    )
    project_root: Path = Field(description="The folder the relative paths are taken from.")
    config_files: tuple[Path, ...] = Field(
        default=(), description="The files this configuration was read from."
    )

    @property
    def data_path(self) -> Path:
        """The data folder as an absolute path."""
        path = self.data_dir.expanduser()
        return path if path.is_absolute() else self.project_root / path

    def resolved_default(self) -> str:
        """The model name used when a call names none."""
        if self.default_route:
            return self.default_route
        for env_var, model in _DEFAULT_MODEL_BY_KEY:
            if os.environ.get(env_var):
                return model
        return RECIPES_MODEL


_SECRET_SETTING = re.compile(
    r"(?i)(?:^|[_.\-])(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey"
    r"|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?|authorization)$"
)


def redacted_view(settings: Settings) -> dict[str, Any]:
    """The settings as JSON-ready data that is safe to print, log or show in a notebook.

    Every value a secret could hide in is redacted: the value of a key named like one
    (``params = {api_key = "..."}``, ``password``, ``token``, ...) is replaced by its
    placeholder whatever it looks like, and every other text (``api_base`` URLs with a
    password in them, headers, notes) goes through the secret scanner, which also replaces
    the values of ``safety.key_env_vars``. Names of key variables (``api_key_env``) are kept:
    they are not keys. Used by ``qlayer models`` and ``%qlayer config``.

    Args:
        settings: The settings to show.

    Returns:
        ``settings.model_dump(mode="json")`` with the secrets replaced by placeholders.
    """
    env_vars = tuple(settings.safety.key_env_vars)
    data: dict[str, Any] = settings.model_dump(mode="json")

    def clean(value: Any, key: str) -> Any:
        if isinstance(value, str):
            redacted = redact_text(value, env_vars)
            if redacted == value and value and _SECRET_SETTING.search(key):
                return placeholder_for("config_secret", value)  # a secret of no known shape
            return redacted
        if isinstance(value, dict):
            return {name: clean(item, str(name)) for name, item in value.items()}
        if isinstance(value, list):
            return [clean(item, key) for item in value]
        return value

    return {name: clean(value, name) for name, value in data.items()}


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder holding qlayer.toml or a pyproject.toml with [tool.qlayer]."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "[tool.qlayer" in _read_text(pyproject):
            return folder
    return here


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}). Save it as UTF-8."
        ) from exc
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}. Check its permissions.") from exc


def _read_toml(path: Path) -> dict[str, Any]:
    text = _read_text(path)
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}. Fix the syntax at that line.") from exc
    except RecursionError:
        raise ConfigError(
            f"{path} nests arrays or tables too deeply to read (thousands of levels). No "
            f"setting goes deeper than a few levels: flatten it (at most {MAX_NESTING})."
        ) from None
    return data


# QLAYER_* variables that are not settings keys.
_NOT_SETTINGS = frozenset(
    {"QLAYER_CONFIG", "QLAYER_RUN_ID", "QLAYER_NOTEBOOK", "QLAYER_CELL", "QLAYER_LOG_LEVEL",
     "QLAYER_LOG_FORMAT", "QLAYER_KERNEL_LOG"}
)


def _env_layer(environ: dict[str, str]) -> dict[str, Any]:
    layer: dict[str, Any] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith("QLAYER_") or name in _NOT_SETTINGS:
            continue
        keys = name[len("QLAYER_") :].lower().split("__")
        if keys[0] not in _SETTINGS_KEYS:
            continue  # another tool's QLAYER_* variable, not a setting
        value: Any = raw
        if raw[:1] in "[{":
            try:
                value = json.loads(raw)
            except RecursionError:
                raise ConfigError(
                    f"Environment variable {name} nests JSON too deeply to read. Give a flat "
                    f"value (at most {MAX_NESTING} levels)."
                ) from None
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"Environment variable {name} starts like JSON but is not valid JSON ({exc}). "
                    "Quote it as JSON or give a plain value."
                ) from exc
        node = layer
        for depth, key in enumerate(keys[:-1]):
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                parent = "QLAYER_" + "__".join(keys[: depth + 1]).upper()
                raise ConfigError(
                    f"{name} sets a key inside {parent}, which is also set to a plain value. "
                    f"Unset one of them."
                )
            node = child
        node[keys[-1]] = value
    return layer


_SETTINGS_KEYS = frozenset(Settings.model_fields) - {"project_root", "config_files"}


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _default_user() -> str:
    hub_user = os.environ.get("JUPYTERHUB_USER")
    if hub_user:
        return hub_user
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in some containers
        return "unknown"


def load_settings(
    start: Path | None = None,
    *,
    environ: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Read the settings for the project around ``start`` (default: the working directory).

    Raises:
        ConfigError: a file is unreadable or invalid; the message names the file and key.
    """
    env = dict(os.environ if environ is None else environ)
    root = find_project_root(start)
    layers: list[tuple[str, dict[str, Any]]] = []
    files: list[Path] = []
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        table = _read_toml(pyproject).get("tool", {}).get("qlayer")
        if table is not None:
            layers.append((f"{pyproject} [tool.qlayer]", table))
            files.append(pyproject)
    explicit = env.get("QLAYER_CONFIG")
    try:
        config_path = Path(explicit).expanduser() if explicit else root / CONFIG_FILE
        config_exists = config_path.is_file()
    except (RuntimeError, ValueError, OSError) as exc:  # "~nobody", a NUL byte, a bad path
        raise ConfigError(
            f"QLAYER_CONFIG={explicit!r} is not a usable path ({exc}). "
            "Point it at a qlayer.toml or unset it."
        ) from exc
    if explicit and not config_exists:
        raise ConfigError(
            f"QLAYER_CONFIG names {config_path}, which does not exist. "
            "Point it at a qlayer.toml or unset it."
        )
    if config_exists:
        layers.append((str(config_path), _read_toml(config_path)))
        files.append(config_path)
    layers.append(("QLAYER_* environment variables", _env_layer(env)))
    if overrides:
        layers.append(("qlayer.configure()", overrides))

    merged: dict[str, Any] = {
        "project": root.name or "default",
        "user": env.get("QLAYER_USER") or _default_user(),
    }
    layers.insert(0, ("the project folder and user name", dict(merged)))
    for source, layer in layers:
        _check_layer(source, layer)
        merged = _merge(merged, layer)
    merged["project_root"] = root
    merged["config_files"] = tuple(files)
    if merged.get("recipes_dir") is None and (root / "recipes").is_dir():
        merged["recipes_dir"] = root / "recipes"
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise _config_error(exc, [source for source, _ in layers[1:]]) from None
    _check_settings(settings, [source for source, _ in layers[1:]])
    # The values of every configured key variable are redacted wherever they appear.
    key_vars = list(settings.safety.key_env_vars)
    key_vars += [
        dep.api_key_env
        for dep in settings.deployments.values()
        if dep.api_key_env and dep.api_key_env not in key_vars
    ]
    if key_vars != settings.safety.key_env_vars:
        safety = settings.safety.model_copy(update={"key_env_vars": key_vars})
        settings = settings.model_copy(update={"safety": safety})
    project = settings.projects.get(settings.project)
    if project is not None and project.safety is not None:  # [projects.NAME.safety]
        settings = settings.model_copy(
            update={"safety": settings.safety.with_project(project.safety)}
        )
    return settings


def _check_layer(source: str, layer: dict[str, Any]) -> None:
    """Refuse what no setting can hold, before it reaches pydantic or a deep recursion.

    Non-finite numbers (``timeout = inf``, ``nan``), text that is not valid Unicode (lone
    surrogates, from bytes that were not UTF-8 in an environment variable or a path) and
    nesting deeper than ``MAX_NESTING``. Walked without recursion.

    Raises:
        ConfigError: naming the source and the key.
    """
    stack: list[tuple[str, Any, int]] = [(key, value, 1) for key, value in layer.items()]
    while stack:
        key, value, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ConfigError(
                f"{key[:120]} (in {source}) is nested more than {MAX_NESTING} levels deep. No "
                "setting goes deeper than a few levels: flatten it."
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(
                f"{key} = {value} (in {source}) is not a finite number. Give a finite "
                "number, or remove the key to use its default."
            )
        if isinstance(value, str) and not value.isascii() and _has_lone_surrogate(value):
            raise ConfigError(
                f"{key} (in {source}) holds bytes that are not UTF-8 text. Set it again as "
                "UTF-8 (check the terminal's or the file's encoding)."
            )
        if isinstance(value, dict):
            stack.extend((f"{key}.{sub}", item, depth + 1) for sub, item in value.items())
        elif isinstance(value, list):
            stack.extend((f"{key}[{i}]", item, depth + 1) for i, item in enumerate(value))


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_settings(settings: Settings, sources: list[str]) -> None:
    """Checks that need the whole validated configuration (its own models cannot see them).

    Raises:
        ConfigError: a route with no deployment, or a data folder that names a file.
    """
    where = ", ".join(sources) if sources else "defaults"
    for name, route in settings.routes.items():
        if not route.deployments:
            raise ConfigError(
                f"Route {name!r} has no deployments (deployments = [], read from {where}). "
                f'List at least one deployment, alias or litellm id: [routes.{name}] '
                'deployments = ["fast"], or remove the route.'
            )
    try:
        folder = settings.data_path
    except (RuntimeError, ValueError, OSError) as exc:  # "~nobody/x": no such user
        raise ConfigError(
            f"data_dir = {str(settings.data_dir)!r} (read from {where}) is not a usable path "
            f"({exc}). Point data_dir at a folder (default .qlayer)."
        ) from None
    for path in (folder, *folder.parents):
        try:
            if not path.exists():
                continue
        except (OSError, ValueError):  # unreadable, or a NUL byte in the path
            continue
        if not path.is_dir():
            raise ConfigError(
                f"data_dir = {str(settings.data_dir)!r} (read from {where}) cannot be a "
                f"folder: {path} is a file. Point data_dir at a folder (default .qlayer), or "
                "move the file away."
            )
        break


def _config_error(exc: ValidationError, sources: list[str]) -> ConfigError:
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            hint = f"unknown key; valid keys: {', '.join(_valid_keys(error['loc']))}"
        else:
            hint = error["msg"]
        lines.append(f"  {key}: {hint}")
    where = ", ".join(sources) if sources else "defaults"
    return ConfigError(
        f"Invalid configuration (read from {where}):\n" + "\n".join(lines) + "\n"
        "Fix these keys; docs/configuration.md lists every key with an example."
    )


def _valid_keys(loc: tuple[int | str, ...]) -> list[str]:
    model: type[BaseModel] = Settings
    if loc and loc[0] == "deployments":
        model = Deployment
    elif loc and loc[0] == "safety":
        model = SafetyPolicy
    elif loc and loc[0] == "routes":
        model = RouteConfig
    elif loc and loc[0] == "budgets":
        model = BudgetConfig
    elif loc and loc[0] == "projects":
        model = ProjectConfig
    elif loc and loc[0] == "cache":
        model = CacheConfig
    hidden = {"project_root", "config_files"}
    return sorted(name for name in model.model_fields if name not in hidden)


_lock = threading.Lock()
_overrides: dict[str, Any] = {}
_overrides_version = 0
# key -> [settings, file stamps, when the stamps were last checked]
_cache: dict[tuple[Any, ...], list[Any]] = {}
_RECHECK_FILES_S = 0.2
"""The working folder and config files are looked at most this often (a change shows up
within this time, or at once after configure() or reset_configuration()). Each look is a
system call, which on the request path would hand the interpreter to litellm's logging
thread and make the caller wait for it."""
_cwd: list[Any] = ["", -1.0]  # [working folder, when it was read]


def _working_folder() -> str:
    now = time.monotonic()
    if now - _cwd[1] >= _RECHECK_FILES_S:
        _cwd[0], _cwd[1] = os.getcwd(), now
    return str(_cwd[0])


# The QLAYER_* names seen at the last full look, with when and at what environment size.
_qlayer_names: list[Any] = [(), -1.0, -1]


def _qlayer_env() -> tuple[tuple[str, str | None], ...]:
    """The QLAYER_* variables. Their values are read on every call; the environment is
    searched for new names when its size changed, and at most every _RECHECK_FILES_S."""
    names, looked, size = _qlayer_names
    now = time.monotonic()
    if env_size() != size or now - looked >= _RECHECK_FILES_S:
        names = tuple(sorted(env_names_with_prefix("QLAYER_")))
        _qlayer_names[:] = [names, now, env_size()]
    return tuple((name, env_get(name)) for name in names)


def _cache_key() -> tuple[Any, ...]:
    return (_working_folder(), _qlayer_env(), _overrides_version)


def _stamp(settings: Settings) -> tuple[float, ...]:
    paths = {*settings.config_files, settings.project_root / CONFIG_FILE}
    stamp = []
    for path in sorted(paths):
        try:
            stamp.append(path.stat().st_mtime)
        except OSError:
            stamp.append(0.0)
    return tuple(stamp)


def get_settings() -> Settings:
    """The current settings, re-read when the working folder, files or QLAYER_* change."""
    key = _cache_key()
    hit = _cache.get(key)
    if hit is not None:
        now = time.monotonic()
        if now - hit[2] < _RECHECK_FILES_S:
            return hit[0]  # type: ignore[no-any-return]
        if _stamp(hit[0]) == hit[1]:
            hit[2] = now
            return hit[0]  # type: ignore[no-any-return]
    with _lock:
        settings = load_settings(overrides=_overrides)
        _cache.clear()
        _cache[key] = [settings, _stamp(settings), time.monotonic()]
    return settings


def configure(**overrides: Any) -> Settings:
    """Override settings for this process (``qlayer.configure(default_route="fast")``).

    Returns:
        The settings now in force.
    """
    _check_layer("qlayer.configure()", overrides)
    candidate = _merge(_overrides, overrides)
    load_settings(overrides=candidate)  # raises ConfigError before anything changes
    global _overrides_version
    with _lock:
        _overrides.clear()
        _overrides.update(candidate)
        _overrides_version += 1
        _cache.clear()
        _cwd[1] = -1.0
    return get_settings()


def reset_configuration() -> None:
    """Drop every override made with :func:`configure`."""
    global _overrides_version
    with _lock:
        _overrides.clear()
        _overrides_version += 1
        _cache.clear()
        _cwd[1] = -1.0

