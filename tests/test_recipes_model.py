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


# --- through qlayer.generate: the package answers the built-in model without litellm -------


@pytest.fixture
def monthly_sales() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": ["2024-01", "2024-01", "2024-02", "2024-02", "2024-03", "2024-03"],
            "region": ["north", "south"] * 3,
            "revenue": [10.0, 5.0, 20.0, 7.0, 30.0, 9.0],
        }
    )


def _run(code: str, namespace: dict[str, object]) -> dict[str, object]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        exec(compile(code, "<generated>", "exec"), namespace)
    finally:
        plt.close("all")
    return namespace


def test_frame_passed_as_context_fills_the_frame_slot(
    project: Path, monthly_sales: pd.DataFrame
) -> None:
    import quantumlayer_nb as qlayer

    result = qlayer.generate(
        "group sales by region and sum revenue", context={"sales": monthly_sales}
    )
    assert result.code is not None
    namespace = _run(result.code, {"sales": monthly_sales})
    totals = namespace["totals"]
    assert dict(zip(totals["region"], totals["revenue"], strict=True)) == {  # type: ignore[index]
        "north": 60.0,
        "south": 21.0,
    }


def test_frame_named_in_the_prompt_fills_the_frame_slot_without_context(project: Path) -> None:
    import quantumlayer_nb as qlayer

    code = qlayer.generate("group sales by region and sum revenue").code
    assert code is not None
    assert "sales.groupby(" in code
    assert "df." not in code


def test_line_chart_sums_rows_that_share_an_x_value(
    project: Path, monthly_sales: pd.DataFrame
) -> None:
    import quantumlayer_nb as qlayer

    result = qlayer.generate("plot revenue by month", context={"sales": monthly_sales})
    assert result.code is not None
    namespace = _run(result.code, {"sales": monthly_sales})
    ax = namespace["ax"]
    assert list(ax.lines[0].get_ydata()) == [15.0, 27.0, 39.0]  # type: ignore[attr-defined]


def test_column_slots_never_invent_columns_the_frame_lacks(
    project: Path, monthly_sales: pd.DataFrame
) -> None:
    import quantumlayer_nb as qlayer

    result = qlayer.generate("make a histogram", context={"sales": monthly_sales})
    assert result.code is None
    assert result.text.startswith("No recipe matches this request as it stands")
    assert "month, region, revenue" in result.text


def test_text_and_markdown_requests_never_get_code(project: Path) -> None:
    import quantumlayer_nb as qlayer

    for fmt, prompt in (
        ("markdown", "explain what a groupby does"),
        ("text", "explain what a left join is"),
        ("markdown", "explain pivot tables"),
    ):
        result = qlayer.generate(prompt, format=fmt)  # type: ignore[arg-type]
        assert "```" not in result.text, prompt
        assert result.code is None
        assert "not a language model" in result.text


def test_prose_answer_comes_from_a_recipe_that_truly_matches(project: Path) -> None:
    import quantumlayer_nb as qlayer

    pivot = qlayer.generate("explain pivot tables", format="markdown").text
    assert "pandas.pivot_table" in pivot
    groupby = qlayer.generate("explain what a groupby does", format="markdown").text
    assert groupby.startswith("No recipe matches")
    assert "configure a model" in groupby


def test_fix_request_with_a_traceback_gets_the_honest_answer_not_slot_values(
    project: Path,
) -> None:
    import quantumlayer_nb as qlayer

    prompt = (
        "This notebook cell failed.\n\nCell:\n```python\nduckdb.query_csv(path)\n```\n\n"
        "Error:\n```\nTraceback (most recent call last):\n  File \"/tmp/ipykernel_7/1.py\", "
        "line 3823, in <module>\nNameError: name 'duckdb' is not defined\n```\n\n"
        "Reply with the corrected cell in one ```python block."
    )
    result = qlayer.generate(prompt, format="code", metadata={"tags": ["fix"]})
    assert result.code is None
    assert "3823" not in result.text
    assert "cannot read, fix or explain" in result.text
    assert "Configure a model" in result.text


def test_explain_of_a_pasted_cell_never_fills_slots_with_it(project: Path) -> None:
    import quantumlayer_nb as qlayer

    cell = "import pandas as pd\ndf = pd.read_csv('x.csv')\ndf.groupby('a')['b'].sum()\n"
    prompt = f"Explain what this notebook cell does, briefly:\n```python\n{cell}```"
    result = qlayer.generate(prompt, format="markdown")
    assert "```" not in result.text
    assert "x.csv" not in result.text
    assert result.text.startswith("No recipe matches")


def test_explain_of_a_recipe_cell_describes_that_recipe(project: Path) -> None:
    import quantumlayer_nb as qlayer

    made = qlayer.generate("total revenue per region").code
    assert made is not None
    prompt = f"Explain what this notebook cell does, briefly:\n```python\n{made}```"
    text = qlayer.generate(prompt, format="markdown").text
    assert "pandas.groupby_sum" in text
    assert "```" not in text


def test_generate_api_does_not_import_litellm_for_the_builtin_model(project: Path) -> None:
    import subprocess
    import sys

    script = (
        "import sys, quantumlayer_nb as q\n"
        "r = q.generate('total revenue per region')\n"
        "s = q.generate('total revenue per region', stream=True)\n"
        "parts = [p for p in s]\n"
        "assert 'groupby' in r.code, r.text\n"
        "assert ''.join(parts) == r.text\n"
        "print('litellm' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=project, env=env,
        timeout=120, check=True,
    )
    assert out.stdout.strip() == "False", out.stderr


def test_direct_answer_matches_the_litellm_handler(project: Path) -> None:
    import quantumlayer_nb as qlayer

    for prompt in ("total revenue per region", "write a sonnet about autumn"):
        direct = qlayer.generate(prompt, cache=False)
        via_litellm = ask(prompt)
        assert direct.text == text_of(via_litellm)
        assert direct.tokens_out == via_litellm.usage.completion_tokens
        assert direct.cost_usd == 0.0


def test_index_embeddings_equal_wordllamas_own() -> None:
    import numpy as np
    import wordllama
    from wordllama import WordLlama

    from quantumlayer_nb.llm._recipe_embed import TokenAverageEmbedder, load_embedder

    ours = load_embedder()
    assert isinstance(ours, TokenAverageEmbedder)
    reference = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    texts = ["plot revenue by month", "naïve café — ünïcode", "a " * 300, "x"]
    assert np.allclose(ours.embed(texts, norm=True), reference.embed(texts, norm=True), atol=1e-6)


def test_answering_never_configures_the_root_logger(project: Path) -> None:
    import subprocess
    import sys

    script = (
        "import logging\n"
        "from quantumlayer_nb.llm._recipe_answer import answer\n"
        "answer('plot revenue by month')\n"
        "root = logging.getLogger()\n"
        "print(len(root.handlers), root.level)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=project,
        timeout=120, check=True,
    )
    assert out.stdout.split() == ["0", str(30)], out.stderr


def test_name_value_pairs_set_slots_outright() -> None:
    from quantumlayer_nb.llm._recipe_answer import answer

    reply = answer("top 5 customers by revenue, n=3 column='units'")
    assert reply.slots["n"] == 3.0
    assert reply.slots["column"] == "units"
    assert reply.text.count("\n") > 1
    assert 'nlargest(3, "units")' in reply.text


def test_task_prompt_states_every_value_the_recipe_test_checks() -> None:
    from quantumlayer_nb.llm._recipe_answer import answer
    from quantumlayer_nb.llm._recipe_suite import task_prompt

    recipes = [r for r in _recipe_index.get_index().recipes if r.test is not None]
    filled = 0
    for recipe in recipes:
        assert recipe.test is not None
        reply = answer(task_prompt(recipe))
        wanted = {k: float(v) if isinstance(v, int) else v for k, v in recipe.test.slots.items()}
        if reply.recipe is recipe and all(reply.slots[k] == v for k, v in wanted.items()):
            filled += 1
    assert filled / len(recipes) >= 0.95


def test_loading_litellm_leaves_every_logger_level_alone(project: Path) -> None:
    import subprocess
    import sys

    script = (
        "import logging\n"
        "from quantumlayer_nb.llm._lazy import litellm_module\n"
        "litellm_module()\n"
        "names = ['', 'LiteLLM', 'LiteLLM Router', 'LiteLLM Proxy']\n"
        "print(*[logging.getLogger(n).level for n in names], len(logging.getLogger().handlers))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=project,
        timeout=120, check=True,
    )
    assert out.stdout.split() == ["30", "0", "0", "0", "0"], out.stderr
