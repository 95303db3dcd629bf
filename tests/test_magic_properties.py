"""Property-based: no magic line, however odd, crashes the parser; failures are usage errors."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantumlayer_nb.jupyter._parser import (
    CELL_USAGE,
    LINE_USAGE,
    MagicUsageError,
    parse_cell_line,
    parse_config_pairs,
    parse_eval,
    parse_value,
    split_line,
)

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OPTION_WORDS = st.sampled_from(
    ["-m", "-f", "--system", "--context", "--no-insert", "--stream", "--tag", "--models", "--n",
     "--k", "--samples", "--repair-rounds", "code", "text", "markdown", "df,sales", "3", "-1",
     "1,5", "x", "'", '"', "=", "--", "-", "a=b", "cache.mode=off"]
)
LINES = st.one_of(st.text(max_size=80), st.lists(OPTION_WORDS, max_size=8).map(" ".join))


@PROPERTY
@given(line=LINES)
def test_cell_line_parses_or_is_a_usage_error(line: str) -> None:
    try:
        options = parse_cell_line(line)
    except MagicUsageError as exc:
        assert CELL_USAGE in str(exc)
    else:
        assert options.format in ("code", "markdown", "text")


@PROPERTY
@given(line=LINES)
def test_eval_words_parse_or_are_a_usage_error(line: str) -> None:
    try:
        options = parse_eval(split_line(line, LINE_USAGE))
    except MagicUsageError as exc:
        assert LINE_USAGE in str(exc)
    else:
        assert options.n >= 1
        assert min(options.k) >= 1
        assert options.repair_rounds >= 0


@PROPERTY
@given(words=st.lists(st.one_of(st.text(max_size=20), OPTION_WORDS), max_size=6))
def test_config_pairs_parse_or_are_a_usage_error(words: list[str]) -> None:
    try:
        pairs = parse_config_pairs(words)
    except MagicUsageError as exc:
        assert LINE_USAGE in str(exc)
    else:
        assert all(isinstance(key, str) for key in pairs)


@PROPERTY
@given(text=st.text(max_size=40))
def test_any_config_value_reads_as_something(text: str) -> None:
    assert parse_value(text) is not None or text.strip() in ("null",)


def test_unbalanced_quote_is_a_usage_error() -> None:
    with pytest.raises(MagicUsageError, match="usage"):
        split_line("-m 'fast", CELL_USAGE)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)


@PROPERTY
@given(value=JSON_VALUES)
def test_a_json_literal_reaches_config_as_the_value_it_is(value: object) -> None:
    import json

    from quantumlayer_nb.jupyter._parser import split_config_words

    words = split_config_words(f"budgets={json.dumps(value)} timeout=7.5")
    assert parse_config_pairs(words) == {"budgets": value, "timeout": 7.5}


@PROPERTY
@given(text=st.text(max_size=60))
def test_config_words_split_or_are_a_usage_error(text: str) -> None:
    from quantumlayer_nb.jupyter._parser import split_config_words

    try:
        words = split_config_words(text)
    except MagicUsageError as exc:
        assert LINE_USAGE in str(exc)
    else:
        assert all(word and not word.isspace() for word in words)


def test_toml_inline_table_and_quoted_text_read_as_documented() -> None:
    from quantumlayer_nb.jupyter._parser import split_config_words

    words = split_config_words("cache = 1 name='my project' budget={scope = \"project\"}")
    assert words == ["cache", "=", "1", "name='my project'", 'budget={scope = "project"}']
    pairs = parse_config_pairs(words[3:])
    assert pairs == {"name": "my project", "budget": {"scope": "project"}}
