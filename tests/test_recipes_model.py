"""The offline model qlayer/recipes, called through litellm like any other model."""

from __future__ import annotations

import ast
import asyncio
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
import litellm

from quantumlayer_nb._context import compose_user_message, describe_context
from quantumlayer_nb.errors import ConfigError
from quantumlayer_nb.llm import _recipe_index
from quantumlayer_nb.llm.recipes import configure_recipes, register_recipe_model

MODEL = "qlayer/recipes"
FENCE = re.compile(r"\A```python\n(?P<code>.*)```\Z", re.DOTALL)

USER_RECIPE = """
[[recipe]]
id = "{id}"
title = "Greet the team in the log"
descriptions = ["say hello to the team", "print a greeting for my colleagues", "greet everyone"]
template = '''
print("hello team")
'''
"""


@pytest.fixture(scope="module", autouse=True)
def _registered() -> Iterator[None]:
    register_recipe_model(litellm)
    yield
    configure_recipes()


@pytest.fixture(autouse=True)
def _default_configuration() -> Iterator[None]:
    yield
    configure_recipes()


def ask(prompt: str, context: str | None = None, **kwargs: Any) -> Any:
    content = compose_user_message(prompt, context)
    return litellm.completion(
        model=MODEL, messages=[{"role": "user", "content": content}], **kwargs
    )


def text_of(response: Any) -> str:
    return str(response.choices[0].message.content)


def recipe_id(text: str) -> str:
    match = re.search(r"^# recipe: (\S+)", text, re.MULTILINE)
    assert match, text
    return match.group(1)


def code_of(text: str) -> str:
    match = FENCE.match(text)
    assert match, text
    return match.group("code")


@pytest.fixture
def sales() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": ["2024-01", "2024-02", "2024-03", "2024-01"],
            "revenue": [100.0, 80.0, 120.0, 40.0],
            "region": ["north", "south", "north", "east"],
        }
    )


EXPECTED = [
    ("plot revenue by month", "matplotlib.line"),
    ("load sales.csv and plot revenue by month", "matplotlib.csv_line"),
    ("read the file customers.csv", "pandas.read_csv"),
    ("total revenue per region", "pandas.groupby_sum"),
    ("how many orders per status", "pandas.value_counts"),
    ("drop duplicate rows based on email", "pandas.drop_duplicates"),
    ("fill missing ages with the median", "pandas.fill_missing"),
    ("merge orders with customers on customer_id", "pandas.merge"),
    ("make a histogram of price", "matplotlib.histogram"),
    ("interactive bar chart of sales per country with plotly", "plotly.bar"),
    ("query the dataframe with sql and group by region", "duckdb.group_by_sql"),
    ("train a logistic regression classifier to predict churn", "sklearn.logistic_regression"),
    ("split data into train and test", "sklearn.train_test_split"),
    ("list all parquet files in the data folder", "files.list_files"),
    ("convert the order_date column to datetime", "dates.parse_column"),
    ("7 day moving average of visits", "dates.rolling_mean"),
    ("extract email addresses from the notes column", "regex.extract_emails"),
    ("pivot table with product as rows and year as columns", "pandas.pivot_table"),
    ("top 5 customers by revenue", "pandas.nlargest"),
    ("cluster the customers with kmeans", "sklearn.kmeans"),
    ("rename column amt to amount", "pandas.rename_columns"),
    ("zip the output folder", "files.zip_folder"),
]


@pytest.mark.parametrize(("prompt", "expected"), EXPECTED)
def test_realistic_prompt_retrieves_expected_recipe(prompt: str, expected: str) -> None:
    text = text_of(ask(prompt))
    assert recipe_id(text) == expected
    ast.parse(code_of(text))


def test_response_is_free_local_and_counted() -> None:
    response = ask("total revenue per region")
    assert response.model == MODEL
    assert response.usage.prompt_tokens >= 1
    assert response.usage.completion_tokens == max(1, round(len(text_of(response)) / 4))
    assert response._hidden_params["response_cost"] == 0.0
    assert litellm.completion_cost(completion_response=response) == 0.0


def test_slots_come_from_context_dataframe(sales: pd.DataFrame) -> None:
    text = text_of(ask("sum revenue per region", describe_context({"sales": sales})))
    assert text.splitlines()[1] == (
        "# recipe: pandas.groupby_sum — slots: df=sales, by=region, value=revenue"
    )


def test_context_code_runs_on_the_described_data(
    sales: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    context = describe_context({"sales": sales})
    namespace: dict[str, object] = {"sales": sales.copy()}
    for prompt in ("total revenue per region", "plot revenue by month", "top 2 rows by revenue"):
        exec(code_of(text_of(ask(prompt, context))), namespace)
    plt.close("all")
    assert namespace["totals"].to_dict("list") == {  # type: ignore[attr-defined]
        "region": ["north", "south", "east"],
        "revenue": [220.0, 80.0, 40.0],
    }
    assert namespace["top"]["revenue"].tolist() == [120.0, 100.0]  # type: ignore[index]


def test_slots_come_from_prompt_file_number_and_quotes() -> None:
    read = text_of(ask("read data/x.parquet as events"))
    assert 'events = pd.read_parquet("data/x.parquet")' in read
    renamed = text_of(ask("rename column 'amt' to 'amount'"))
    assert 'rename(columns={"amt": "amount"})' in renamed
    top = text_of(ask("top 7 customers by revenue"))
    assert ".nlargest(7, " in top


def test_context_names_pick_the_right_dataframes() -> None:
    orders = pd.DataFrame({"order_id": [1], "customer_id": [1]})
    customers = pd.DataFrame({"customer_id": [1], "name": ["Ann"]})
    context = describe_context({"orders": orders, "customers": customers})
    text = text_of(ask("merge orders with customers on customer_id", context))
    assert 'orders.merge(customers, on="customer_id"' in text


def test_unfilled_slots_keep_defaults() -> None:
    text = text_of(ask("give me an overview of the dataframe"))
    assert "# recipe: pandas.inspect — slots: df=df" in text


@pytest.mark.parametrize(
    "prompt",
    ["write a sonnet about autumn", "what is the capital of France", "tell me a joke"],
)
def test_off_topic_prompt_gets_honest_no_match_answer(prompt: str) -> None:
    text = text_of(ask(prompt))
    assert text.startswith("No recipe matches this request (closest: '")
    assert "not a language model" in text
    assert "OPENAI_API_KEY" in text
    assert "```" not in text


def test_threshold_is_configurable() -> None:
    configure_recipes(threshold=0.99)
    assert "threshold 0.99" in text_of(ask("make a histogram of price"))
    configure_recipes(threshold=0.3)
    assert recipe_id(text_of(ask("make a histogram of price"))) == "matplotlib.histogram"


def test_threshold_outside_unit_interval_is_refused() -> None:
    with pytest.raises(ConfigError, match="outside"):
        configure_recipes(threshold=1.5)


def test_streaming_chunks_join_to_the_completion_text() -> None:
    whole = text_of(ask("total revenue per region"))
    chunks = list(ask("total revenue per region", stream=True))
    assert len(chunks) > 2
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == whole
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_async_completion_and_streaming_match_sync() -> None:
    messages = [{"role": "user", "content": "make a histogram of price"}]
    whole = text_of(litellm.completion(model=MODEL, messages=messages))

    async def run() -> tuple[str, str]:
        response = await litellm.acompletion(model=MODEL, messages=messages)
        stream = await litellm.acompletion(model=MODEL, messages=messages, stream=True)
        parts = [chunk.choices[0].delta.content or "" async for chunk in stream]
        return text_of(response), "".join(parts)

    assert asyncio.run(run()) == (whole, whole)


def test_register_is_idempotent_and_keeps_other_providers() -> None:
    other = {"provider": "someone-else", "custom_handler": object()}
    litellm.custom_provider_map = [*litellm.custom_provider_map, other]
    register_recipe_model(litellm)
    register_recipe_model(litellm)
    providers = [item["provider"] for item in litellm.custom_provider_map]
    assert providers.count("qlayer") == 1
    assert "someone-else" in providers
    litellm.custom_provider_map = [i for i in litellm.custom_provider_map if i is not other]


def test_user_folder_recipes_are_found(tmp_path: Path) -> None:
    (tmp_path / "team.toml").write_text(USER_RECIPE.format(id="team.greet"), encoding="utf-8")
    configure_recipes(extra_dirs=[tmp_path])
    assert recipe_id(text_of(ask("say hello to the team"))) == "team.greet"


def test_entry_point_recipes_are_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "shared_recipes"
    folder.mkdir()
    (folder / "greet.toml").write_text(USER_RECIPE.format(id="shared.greet"), encoding="utf-8")
    (tmp_path / "shared_recipes_pkg.py").write_text(
        f"from pathlib import Path\n\ndef folder():\n    return Path({str(folder)!r})\n"
    )
    dist_info = tmp_path / "shared_recipes_pkg-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: shared-recipes-pkg\n")
    (dist_info / "entry_points.txt").write_text(
        "[quantumlayer_nb.recipes]\nshared = shared_recipes_pkg:folder\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    configure_recipes()  # rescan entry points on the next request
    assert recipe_id(text_of(ask("say hello to the team"))) == "shared.greet"


def test_broken_recipe_file_gives_config_error_naming_file_recipe_and_problem(
    tmp_path: Path,
) -> None:
    (tmp_path / "broken.toml").write_text(
        '[[recipe]]\nid = "team.broken"\ntitle = "Broken"\ndescriptions = ["x", "y", "z"]\n'
        "template = 'print({{missing}})'\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        configure_recipes(extra_dirs=[tmp_path])
    message = str(caught.value)
    assert "broken.toml" in message
    assert "'team.broken'" in message
    assert "undefined slots ['missing']" in message


def test_invalid_toml_gives_config_error_naming_file(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("[[recipe]\nid = ", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml could not be read"):
        configure_recipes(extra_dirs=[tmp_path])


def test_index_is_built_once_across_threads() -> None:
    configure_recipes()
    found: list[int] = []
    threads = [
        threading.Thread(target=lambda: found.append(id(_recipe_index.get_index())))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(found)) == 1
