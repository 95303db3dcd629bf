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


# --- the classes of bad input issue 10 found crashing: each is a ConfigError naming its key ---
NUMERIC_KEYS = (
    "timeout", "recipe_threshold", "confirm_above_usd", "deployments.d.timeout",
    "deployments.d.weight", "deployments.d.input_cost_per_token", "routes.r.backoff_max_s",
    "safety.hap_threshold", "cache.semantic_threshold", "cache.ttl_s",
)  # fmt: skip
NON_FINITE_TOML = st.sampled_from(["inf", "-inf", "+inf", "nan", "-nan"])


def _dotted(key: str, value_toml: str) -> str:
    """`a.b.c = v` as TOML, with the route and deployment it needs to be otherwise valid."""
    extra = ""
    if key.startswith("deployments.d."):
        extra = 'deployments.d.model = "openai/gpt-4o-mini"\n'
    if key.startswith("routes.r."):
        extra = 'routes.r.deployments = ["qlayer/recipes"]\n'
    return f"{extra}{key} = {value_toml}\n"


@PROPERTY
@given(key=st.sampled_from(NUMERIC_KEYS), value=NON_FINITE_TOML)
def test_non_finite_numbers_are_a_config_error_naming_the_key(
    base: Path, key: str, value: str
) -> None:
    folder = _fresh(base)
    (folder / "qlayer.toml").write_text(_dotted(key, value), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(folder, environ={})
    assert key in str(caught.value)
    assert "finite" in str(caught.value)


@PROPERTY
@given(
    key=st.sampled_from(NUMERIC_KEYS),
    value=st.sampled_from(['"fast"', "true", "[]", "{}", '"1e400"', "[1, 2]", '""']),
)
def test_numbers_of_the_wrong_type_load_or_name_the_key(base: Path, key: str, value: str) -> None:
    folder = _fresh(base)
    (folder / "qlayer.toml").write_text(_dotted(key, value), encoding="utf-8")
    outcome = _load_or_config_error(folder, environ={})
    if isinstance(outcome, ConfigError):
        assert key.split(".")[-1] in str(outcome)


def test_timeout_inf_is_refused_before_it_can_overflow_a_clock(base: Path) -> None:
    folder = _fresh(base)
    (folder / "qlayer.toml").write_text("timeout = 1e300\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="timeout"):
        load_settings(folder, environ={})


EMPTY_COLLECTIONS = (
    "aliases = {}", "deployments = {}", "routes = {}", "budgets = []", "projects = {}",
    "safety.key_env_vars = []", 'deployments.d = {model = "openai/x", params = {}, tags = []}',
    'routes.r = {deployments = ["qlayer/recipes"], weights = {}}',
    'projects.p = {allowed_models = [], keys = {}}',
)  # fmt: skip


@pytest.mark.parametrize("line", EMPTY_COLLECTIONS)
def test_empty_collections_load(base: Path, line: str) -> None:
    folder = _fresh(base)
    (folder / "qlayer.toml").write_text(line + "\n", encoding="utf-8")
    assert isinstance(load_settings(folder, environ={}), Settings)


def test_a_route_with_no_deployments_is_a_config_error(base: Path) -> None:
    folder = _fresh(base)
    (folder / "qlayer.toml").write_text("[routes.r]\ndeployments = []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"Route 'r' has no deployments") as caught:
        load_settings(folder, environ={})
    assert "qlayer.toml" in str(caught.value)


@PROPERTY
@given(name=st.sampled_from(["r", "fast", "x y"]))
def test_an_empty_route_from_the_environment_names_the_variables(base: Path, name: str) -> None:
    environ = {"QLAYER_ROUTES": json.dumps({name: {"deployments": []}})}
    with pytest.raises(ConfigError, match="QLAYER_"):
        load_settings(_fresh(base), environ=environ)


def test_data_dir_naming_a_file_is_a_config_error(base: Path) -> None:
    folder = _fresh(base)
    (folder / "notes.txt").write_text("not a folder")
    (folder / "qlayer.toml").write_text('data_dir = "notes.txt/ledger"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="data_dir") as caught:
        load_settings(folder, environ={})
    assert "is a file" in str(caught.value)


lone_surrogate_text = st.tuples(
    st.just("v"), st.text(max_size=8), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
).map("".join)  # starts with a letter: "[" or "{" would be read as JSON first


@PROPERTY
@given(
    name=st.sampled_from(["QLAYER_PROJECT", "QLAYER_USER", "QLAYER_DEFAULT_ROUTE",
                          "QLAYER_DATA_DIR", "QLAYER_ALIASES__FAST"]),
    value=lone_surrogate_text,
)
def test_undecodable_environment_text_is_a_config_error(
    base: Path, name: str, value: str
) -> None:
    with pytest.raises(ConfigError, match="UTF-8"):
        load_settings(_fresh(base), environ={name: value})


@PROPERTY
@given(value=lone_surrogate_text)
def test_undecodable_configure_text_is_a_config_error(base: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=r"qlayer\.configure"):
        load_settings(_fresh(base), environ={}, overrides={"project": value})


def _nested_toml(depth: int, kind: str) -> str:
    if kind == "array":
        return "x = " + "[" * depth + "]" * depth + "\n"
    if kind == "inline":
        return "x = " + "{a = " * depth + "1" + "}" * depth + "\n"
    return "x" + ".a" * depth + " = 1\n"  # dotted keys


@PROPERTY
@given(
    depth=st.integers(min_value=40, max_value=6000),
    kind=st.sampled_from(["array", "inline", "dotted"]),
)
def test_deep_nesting_in_toml_is_a_config_error(base: Path, depth: int, kind: str) -> None:
    folder = _fresh(base)
    (folder / "qlayer.toml").write_text(_nested_toml(depth, kind), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(folder, environ={})
    assert "qlayer.toml" in str(caught.value)
    assert "nest" in str(caught.value)


@PROPERTY
@given(depth=st.integers(min_value=40, max_value=6000))
def test_deep_nesting_in_an_environment_variable_is_a_config_error(
    base: Path, depth: int
) -> None:
    environ = {"QLAYER_ALIASES": "[" * depth + "]" * depth}
    with pytest.raises(ConfigError, match="QLAYER_"):
        load_settings(_fresh(base), environ=environ)


@PROPERTY
@given(depth=st.integers(min_value=40, max_value=6000))
def test_deep_nesting_in_configure_is_a_config_error(base: Path, depth: int) -> None:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    with pytest.raises(ConfigError, match=r"qlayer\.configure"):
        load_settings(_fresh(base), environ={}, overrides={"aliases": value})
