"""Arbitrary command lines: ``qlayer`` answers with a documented exit code, never a traceback.

0 success, 1 a user or provider error, 2 a bad command line (click's usage error), and for
``qlayer generate`` ``NO_CODE_EXIT`` (3) when code was asked for and none came back.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from quantumlayer_nb.cli import NO_CODE_EXIT, _register_optional_commands, app

_register_optional_commands()  # budget, audit, models, ... as the `qlayer` script has them
DOCUMENTED_EXITS = (0, 1, 2, NO_CODE_EXIT)

PROPERTY = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Model names that fail fast without a network call: unknown names, providers whose key
# the project fixture removed, malformed names - and the offline default.
FAST_MODELS = st.sampled_from([
    "qlayer/recipes", "no-such-model", "openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest",
    "", " ", "/", "openai/", "-m", "fast", "qlayer/", "qlayer/nope",
])
words = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=30,
)
numbers = st.one_of(
    st.integers(min_value=-10, max_value=10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    words,
)
OPTION_NAMES = [
    "--model", "-m", "--format", "-f", "--system", "--temperature", "--max-tokens", "--json",
    "--by", "--since", "--help", "--estimate", "--version", "--", "-x", "--unknown",
]


def _generate_options() -> st.SearchStrategy[list[str]]:
    pairs = st.one_of(
        st.tuples(st.sampled_from(["--model", "-m"]), FAST_MODELS),
        st.tuples(st.sampled_from(["--format", "-f"]),
                  st.one_of(st.sampled_from(["code", "text", "markdown"]), words)),
        st.tuples(st.just("--system"), words),
        st.tuples(st.just("--temperature"), numbers),
        st.tuples(st.just("--max-tokens"), numbers),
        st.just(("--json",)),
        st.tuples(st.sampled_from(OPTION_NAMES)),
    )
    return st.lists(pairs, max_size=4).map(lambda groups: [a for group in groups for a in group])


free_arguments = st.lists(st.one_of(st.sampled_from(OPTION_NAMES), words), max_size=5)


def _assert_clean(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    context = f"args={args!r}\n{result.output}"
    assert result.exit_code in DOCUMENTED_EXITS, context
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{context}\n{result.exception!r}"
    )
    assert "Traceback" not in result.output, context


@pytest.fixture
def warm_recipes(project: Path) -> None:
    """Load the offline model (once per process), so each generated example is quick."""
    result = CliRunner().invoke(app, ["generate", "read a csv file"])
    assert result.exit_code == 0, result.output


@pytest.mark.slow
@PROPERTY
@given(prompt=words, options=_generate_options())
def test_generate_with_any_options_exits_cleanly(
    project: Path, warm_recipes: None, prompt: str, options: list[str]
) -> None:
    _assert_clean(["generate", prompt, *options])


@PROPERTY
@given(args=free_arguments)
def test_generate_with_any_arguments_exits_cleanly(
    project: Path, warm_recipes: None, args: list[str]
) -> None:
    _assert_clean(["generate", *args])


@PROPERTY
@given(
    by=st.one_of(
        st.sampled_from(["model", "day", "user", "project", "deployment", "route"]), words
    ),
    since=st.one_of(
        st.none(), words, st.sampled_from(["2026-01-01", "2026-13-45", "yesterday"])
    ),
    json_out=st.booleans(),
)
def test_usage_by_anything_exits_cleanly(
    project: Path, by: str, since: str | None, json_out: bool
) -> None:
    args = ["usage", "--by", by]
    args += ["--since", since] if since is not None else []
    args += ["--json"] if json_out else []
    _assert_clean(args)


@PROPERTY
@given(args=free_arguments)
def test_usage_with_any_arguments_exits_cleanly(project: Path, args: list[str]) -> None:
    _assert_clean(["usage", *args])


@PROPERTY
@given(args=free_arguments)
def test_models_with_any_arguments_exits_cleanly(project: Path, args: list[str]) -> None:
    _assert_clean(["models", *args])


@PROPERTY
@given(args=free_arguments)
def test_doctor_with_any_arguments_exits_cleanly(project: Path, args: list[str]) -> None:
    _assert_clean(["doctor", *args])
