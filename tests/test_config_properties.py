"""Bad configuration, generated: the only error ever raised is a ConfigError naming its source."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantumlayer_nb.config import Settings, load_settings
from quantumlayer_nb.errors import ConfigError

PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

SETTINGS_KEYS = (
    "project", "user", "default_route", "aliases", "deployments", "routes", "budgets", "cache",
    "data_dir", "store_prompts", "recipes_dir", "recipe_threshold", "timeout", "safety",
)
NESTED_KEYS = (
    "model", "api_base", "api_key_env", "deployments", "policy", "weights", "retries",
    "scope", "limit_usd", "period", "kind", "mode", "semantic", "ttl_s", "secrets", "hap",
    "hap_threshold", "max_prompt_chars", "key_env_vars", "input_cost_per_token",
)

keys = st.one_of(st.sampled_from(SETTINGS_KEYS + NESTED_KEYS), st.text(min_size=1, max_size=8))
scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["openai/gpt-4o-mini", "loop", "priority", "hard", "month", "off", "1e3"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)
    ),
    max_leaves=12,
)
documents = st.dictionaries(keys, values, max_size=6)


def _toml_string(text: str) -> str:
    # JSON escapes are valid TOML basic-string escapes; TOML also wants DEL escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007F")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        assert math.isfinite(value)
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return "{" + ", ".join(f"{_toml_string(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


def to_toml(document: dict[str, Any]) -> str:
    """Write a dict as TOML, every table inline (so any nesting is one line)."""
    return "".join(f"{_toml_string(k)} = {_toml_value(v)}\n" for k, v in document.items())


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("config-properties")


def _fresh(base: Path) -> Path:
    return Path(tempfile.mkdtemp(dir=base))


def _load_or_config_error(folder: Path, **kwargs: Any) -> Settings | ConfigError:
    try:
        return load_settings(folder, **kwargs)
    except ConfigError as exc:
        error = exc
    assert str(error).strip(), "a ConfigError must say what is wrong"
    return error


def test_toml_writer_round_trips() -> None:
    import tomllib

    document = {"a": [1, 2.5, "x\x7f\n"], "b": {"c": True, "d": {}}}
    assert tomllib.loads(to_toml(document)) == document


@PROPERTY
@given(document=documents)
def test_any_qlayer_toml_loads_or_names_the_file(base: Path, document: dict[str, Any]) -> None:
    folder = _fresh(base)
    (folder / "qlayer.toml").write_text(to_toml(document), encoding="utf-8")
    outcome = _load_or_config_error(folder, environ={})
    if isinstance(outcome, ConfigError):
        assert str(folder / "qlayer.toml") in str(outcome)


@PROPERTY
@given(document=documents)
def test_any_pyproject_table_loads_or_names_the_file(
    base: Path, document: dict[str, Any]
) -> None:
    folder = _fresh(base)
    text = "[tool.qlayer]\n" + to_toml(document)
    (folder / "pyproject.toml").write_text(text, encoding="utf-8")
    outcome = _load_or_config_error(folder, environ={})
    if isinstance(outcome, ConfigError):
        assert "pyproject.toml" in str(outcome)


@PROPERTY
@given(raw=st.text(max_size=200))
def test_any_text_as_qlayer_toml_loads_or_names_the_file(base: Path, raw: str) -> None:
    folder = _fresh(base)
    (folder / "qlayer.toml").write_text(raw, encoding="utf-8")
    outcome = _load_or_config_error(folder, environ={})
    if isinstance(outcome, ConfigError):
        assert "qlayer.toml" in str(outcome)


@PROPERTY
@given(document=documents)
def test_any_configure_overrides_load_or_name_the_source(
    base: Path, document: dict[str, Any]
) -> None:
    outcome = _load_or_config_error(_fresh(base), environ={}, overrides=document)
    if isinstance(outcome, ConfigError):
        assert "qlayer.configure()" in str(outcome)


ENV_NAMES = st.one_of(
    st.sampled_from([
        "QLAYER_PROJECT", "QLAYER_USER", "QLAYER_DEFAULT_ROUTE", "QLAYER_TIMEOUT",
        "QLAYER_DATA_DIR", "QLAYER_STORE_PROMPTS", "QLAYER_RECIPE_THRESHOLD",
        "QLAYER_ALIASES__FAST", "QLAYER_ALIASES", "QLAYER_DEPLOYMENTS__LOOP__MODEL",
        "QLAYER_DEPLOYMENTS__LOOP__API_BASE", "QLAYER_DEPLOYMENTS", "QLAYER_ROUTES",
        "QLAYER_ROUTES__R__DEPLOYMENTS", "QLAYER_BUDGETS", "QLAYER_CACHE__MODE",
        "QLAYER_SAFETY__SECRETS", "QLAYER_SAFETY__HAP_THRESHOLD", "QLAYER_SAFETY",
    ]),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_", min_size=1, max_size=12).map(
        lambda tail: "QLAYER_" + tail
    ),
)
ENV_VALUES = st.one_of(
    st.text(max_size=30),
    values.map(lambda v: json.dumps(v)),
    st.sampled_from(["true", "0", "-1", "1e400", "nan", "{", "[1,", "{}", "[]", "null"]),
)


def _no_variable_nests_in_another(environ: dict[str, str]) -> bool:
    """Leave out QLAYER_A with QLAYER_A__B: that crash is pinned by its own test below."""
    return not any(other.startswith(name + "__") for name in environ for other in environ)


@PROPERTY
@given(
    environ=st.dictionaries(ENV_NAMES, ENV_VALUES, max_size=4).filter(
        _no_variable_nests_in_another
    )
)
def test_any_qlayer_environment_loads_or_names_the_variables(
    base: Path, environ: dict[str, str]
) -> None:
    outcome = _load_or_config_error(_fresh(base), environ=environ)
    if isinstance(outcome, ConfigError):
        assert "QLAYER_" in str(outcome)


@PROPERTY
@given(raw=st.binary(min_size=1, max_size=60))
def test_any_bytes_as_qlayer_toml_loads_or_names_the_file(base: Path, raw: bytes) -> None:
    folder = _fresh(base)
    (folder / "qlayer.toml").write_bytes(raw)
    outcome = _load_or_config_error(folder, environ={})
    if isinstance(outcome, ConfigError):
        assert "qlayer.toml" in str(outcome)


@PROPERTY
@given(raw=st.text(max_size=30).map(lambda tail: "~" + tail))
def test_any_qlayer_config_path_loads_or_names_the_variable(base: Path, raw: str) -> None:
    outcome = _load_or_config_error(_fresh(base), environ={"QLAYER_CONFIG": raw})
    if isinstance(outcome, ConfigError):
        assert "QLAYER_CONFIG" in str(outcome)


def test_plain_variable_then_nested_variable_is_a_config_error(base: Path) -> None:
    environ = {"QLAYER_ROUTES": "0", "QLAYER_ROUTES__R__DEPLOYMENTS": "0"}
    with pytest.raises(ConfigError, match="QLAYER_"):
        load_settings(_fresh(base), environ=environ)
