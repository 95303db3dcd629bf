"""describe_context / parse_context / compose and split of user messages."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from quantumlayer_nb._context import (
    CONTEXT_HEADER,
    compose_user_message,
    describe_context,
    parse_context,
    split_user_message,
)


@pytest.fixture
def sales() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": pd.date_range("2024-01-01", periods=5, freq="MS"),
            "revenue": [10.5, 20.0, 30.25, 40.0, 50.0],
            "region": ["north", "south", "east", "west", "a" * 60],
        }
    )


def test_dataframe_description_has_shape_columns_dtypes_and_three_rows(sales: pd.DataFrame) -> None:
    text = describe_context({"sales": sales})
    assert text.startswith("sales: DataFrame, shape (5, 3)")
    assert "'revenue': 'float64'" in text
    assert "10.5" in text
    assert "30.25" in text
    assert "40.0" not in text  # only the first 3 rows


def test_long_cell_values_are_truncated() -> None:
    frame = pd.DataFrame({"note": ["x" * 200]})
    text = describe_context({"frame": frame})
    assert "x" * 200 not in text
    assert "…" in text


@pytest.mark.parametrize(
    "name",
    [
        "api_key",
        "OPENAI_API_KEY",
        "github_token",
        "Secret",
        "db_password",
        "passwd",
        "aws_credentials",
    ],
)
def test_secret_looking_names_are_redacted(name: str) -> None:
    text = describe_context({name: "sk-very-secret-value"})
    assert "sk-very-secret-value" not in text
    assert text == f"{name}: <redacted>"


def test_secret_looking_dataframe_columns_are_redacted_in_head() -> None:
    users = pd.DataFrame({"user": ["ann"], "password": ["hunter2"]})
    text = describe_context({"users": users})
    assert "hunter2" not in text
    assert "ann" in text


def test_series_array_containers_and_scalars_are_described() -> None:
    text = describe_context(
        {
            "prices": pd.Series([1.0, 2.0], name="price"),
            "matrix": np.zeros((3, 4)),
            "config": {"a": 1, "b": 2},
            "items": [1, 2, 3],
            "title": "hello world",
            "n": 42,
        }
    )
    assert "prices: Series 'price', length 2, dtype float64" in text
    assert "matrix: ndarray, shape (3, 4), dtype float64" in text
    assert "config: dict, len 2, keys [a, b]" in text
    assert "items: list, len 3" in text
    assert "title: str, len 11: 'hello world'" in text
    assert "n: int = 42" in text


def test_private_names_modules_and_functions_are_skipped() -> None:
    text = describe_context({"_hidden": 1, "np": np, "describe": describe_context, "kept": 1})
    assert text == "kept: int = 1"


def test_description_respects_max_chars(sales: pd.DataFrame) -> None:
    many = {f"frame{i}": sales for i in range(30)}
    text = describe_context(many, max_chars=600)
    assert len(text) <= 600
    assert "more variables not shown" in text
    assert [v.name for v in parse_context(text)][:2] == ["frame0", "frame1"]


def test_parse_context_reads_back_describe_context(sales: pd.DataFrame) -> None:
    odd = pd.DataFrame({"a, b": [1], "c (d)": ["x"]})
    variables = parse_context(describe_context({"sales": sales, "odd": odd, "token": "t", "n": 3}))
    assert [(v.name, v.kind) for v in variables] == [
        ("sales", "DataFrame"),
        ("odd", "DataFrame"),
        ("token", "redacted"),
        ("n", "int"),
    ]
    assert variables[0].columns == ["month", "revenue", "region"]
    assert variables[0].dtypes["revenue"] == "float64"
    assert variables[1].columns == ["a, b", "c (d)"]


def test_compose_and_split_round_trip() -> None:
    message = compose_user_message("plot revenue by month", "df: DataFrame, shape (1, 1)")
    assert message == f"plot revenue by month\n\n{CONTEXT_HEADER}\ndf: DataFrame, shape (1, 1)"
    assert split_user_message(message) == ("plot revenue by month", "df: DataFrame, shape (1, 1)")


def test_split_without_context_returns_none() -> None:
    assert compose_user_message("hello", None) == "hello"
    assert split_user_message("hello") == ("hello", None)


def test_importing_context_does_not_import_pandas_or_numpy() -> None:
    code = (
        "import sys, quantumlayer_nb._context\n"
        "print(sorted(m for m in ('pandas', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_many_variables_are_described_in_linear_time() -> None:
    import time

    variables: dict[str, object] = {f"value_{i}": i for i in range(20_000)}
    started = time.perf_counter()
    text = describe_context(variables)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0
    assert len(text) <= 2000
    shown = text.count("\n")
    assert text.endswith(f"… {20_000 - shown} more variables not shown")


def test_a_long_description_keeps_whole_leading_blocks_and_counts_the_rest() -> None:
    variables: dict[str, object] = {f"v{i}": i for i in range(500)}
    text = describe_context(variables, max_chars=100)
    lines = text.splitlines()
    assert lines[:-1] == [f"v{i}: int = {i}" for i in range(len(lines) - 1)]
    assert lines[-1] == f"… {500 - (len(lines) - 1)} more variables not shown"
    assert len(text) <= 100
