"""Bad arguments to generate(), generated: each is a RequestError that names the argument.

The classes of bad input: non-finite numbers, wrong scalar types, empty collections,
undecodable text (lone surrogates, as Python makes of bytes that are not UTF-8) and deep
nesting. None of them may surface as a TypeError, OverflowError, UnicodeEncodeError,
RecursionError or a retryable ProviderError.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import quantumlayer_nb as qlayer
from quantumlayer_nb.errors import QLayerError, RequestError

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
OFFLINE = "qlayer/recipes"
PROMPT = "group df by region and sum revenue"

non_finite = st.sampled_from([math.inf, -math.inf, math.nan])
not_numbers = st.one_of(
    st.booleans(),
    st.text(max_size=8),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
lone_surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
text_with_surrogate = st.tuples(st.text(max_size=20), lone_surrogates, st.text(max_size=20)).map(
    "".join
)


def _refused(**arguments: Any) -> RequestError:
    prompt = arguments.pop("prompt", PROMPT)
    try:
        qlayer.generate(prompt, model=OFFLINE, **arguments)
    except RequestError as exc:
        assert str(exc).strip(), "a RequestError must say what is wrong"
        return exc
    except QLayerError as exc:  # pragma: no cover - the assertion below explains
        raise AssertionError(f"expected a RequestError, got {type(exc).__name__}: {exc}") from exc
    raise AssertionError(f"{arguments} was accepted")


@PROPERTY
@given(value=non_finite, argument=st.sampled_from(["temperature", "timeout", "max_tokens"]))
def test_non_finite_numbers_are_refused(project: Path, value: float, argument: str) -> None:
    assert argument in str(_refused(**{argument: value}))


@PROPERTY
@given(value=not_numbers, argument=st.sampled_from(["temperature", "timeout", "max_tokens"]))
def test_numbers_of_the_wrong_type_are_refused(project: Path, value: Any, argument: str) -> None:
    assert argument in str(_refused(**{argument: value}))


@PROPERTY
@given(value=st.floats(allow_nan=False, allow_infinity=False))
def test_max_tokens_must_be_an_int_not_a_float(project: Path, value: float) -> None:
    assert "max_tokens" in str(_refused(max_tokens=value))


@pytest.mark.parametrize("value", [math.nan, "100", 1.5, True])
def test_max_tokens_examples_from_the_issue_are_refused(project: Path, value: Any) -> None:
    message = str(_refused(max_tokens=value))
    assert "max_tokens" in message
    assert "whole number" in message or "positive" in message


def test_a_timeout_too_long_for_the_clock_is_refused(project: Path) -> None:
    assert "at most" in str(_refused(timeout=1e300))


@PROPERTY
@given(value=st.one_of(st.integers(), st.floats(), st.binary(max_size=4), st.none()))
def test_a_prompt_that_is_not_text_is_refused(project: Path, value: Any) -> None:
    assert "prompt" in str(_refused(prompt=value))


@PROPERTY
@given(value=st.one_of(st.text(max_size=10), st.integers(), st.booleans()))
def test_an_unknown_format_is_refused(project: Path, value: Any) -> None:
    if value in ("code", "text", "markdown"):
        return
    assert "format=" in str(_refused(format=value))


@PROPERTY
@given(prompt=st.text(alphabet=" \t\n\r", max_size=5))
def test_an_empty_or_blank_prompt_is_refused(project: Path, prompt: str) -> None:
    assert "empty" in str(_refused(prompt=prompt))


@pytest.mark.parametrize("metadata", [{}, {"tags": []}, {"notes": {}}])
def test_empty_collections_in_metadata_are_accepted(project: Path, metadata: Any) -> None:
    generation = qlayer.generate(PROMPT, model=OFFLINE, metadata=metadata)
    assert generation.call_id


@PROPERTY
@given(prompt=text_with_surrogate, cache=st.booleans())
def test_undecodable_prompt_text_is_refused_cache_or_not(
    project: Path, prompt: str, cache: bool
) -> None:
    message = str(_refused(prompt="make a plot " + prompt, cache=cache))
    assert "surrogate" in message
    assert "encoding" in message


@PROPERTY
@given(system=text_with_surrogate)
def test_undecodable_system_prompt_is_refused(project: Path, system: str) -> None:
    assert "system prompt" in str(_refused(system=system))


@PROPERTY
@given(value=text_with_surrogate)
def test_undecodable_metadata_text_is_refused(project: Path, value: str) -> None:
    assert "metadata" in str(_refused(metadata={"note": value}))


@PROPERTY
@given(depth=st.integers(min_value=40, max_value=5000), kind=st.sampled_from(["list", "dict"]))
def test_deeply_nested_metadata_is_refused(project: Path, depth: int, kind: str) -> None:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value] if kind == "list" else {"k": value}
    assert "nested deeper" in str(_refused(metadata={"deep": value}))


@PROPERTY
@given(value=st.one_of(non_finite, st.builds(object), st.sets(st.integers(), max_size=2)))
def test_metadata_that_is_not_json_is_refused(project: Path, value: Any) -> None:
    assert "metadata" in str(_refused(metadata={"x": value}))


def test_metadata_keys_must_be_text(project: Path) -> None:
    assert "keys must be text" in str(_refused(metadata={1: "one"}))
