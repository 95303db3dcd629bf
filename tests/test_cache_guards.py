"""The semantic cache's guards: a paraphrase hits only when what the embedding cannot see agrees.

Each guard kind has one test: the stored request and a request that shares most of its words
but asks for other code. WordLlama scores most of these pairs above the default threshold, so
without the guard each would be a wrong hit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from quantumlayer_nb.cache import CacheConfig, CachedAnswer, ResponseCache
from quantumlayer_nb.cache._guard import guard_signature
from quantumlayer_nb.config import get_settings
from quantumlayer_nb.testing import LoopbackServer

MODEL = "openai/gpt-4o-mini"
T0 = {"temperature": 0, "max_tokens": 256}


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "You write pandas."}, {"role": "user", "content": text}]


def stored_then_asked(folder: Path, stored: str, asked: str) -> Any:
    cache = ResponseCache(folder, CacheConfig(refresh_interval_s=0))
    for text, lookup in ((stored, False), (asked, True)):
        messages = ask(text)
        key = cache.request_key(model=MODEL, messages=messages, params=T0, scope="s")
        if not lookup:
            cache.store(key, messages=messages, params=T0, scope="s", model=MODEL,
                        answer=CachedAnswer(text=f"# {stored}", model_served="m"))
    return cache.lookup(key, messages=messages, params=T0, scope="s", model=MODEL)


def embedding_similarity(one: str, other: str) -> float:
    from quantumlayer_nb.cache import default_embedder

    vectors = default_embedder().embed([one, other])
    return float(vectors[0] @ vectors[1])


def test_paraphrase_with_the_same_meaning_bearing_words_hits(tmp_path: Path) -> None:
    hit = stored_then_asked(tmp_path, "drop rows with missing values",
                            "how can I drop rows containing missing values")
    assert hit is not None
    assert hit.kind == "semantic"
    assert hit.request == "drop rows with missing values"


@pytest.mark.parametrize(
    ("kind", "stored", "asked"),
    [
        ("a name in backticks or not", "fill missing values in `age` with the median",
         "fill the missing values in age with the median"),
        ("the word column after a name", "histogram of the age column with 30 bins",
         "histogram of `age` with 30 bins"),
        ("the library named anywhere", "plot sales over time with matplotlib",
         "matplotlib: plot sales over time"),
        ("another word for a negation", "save df to out.csv without the index",
         "save df to out.csv, no index"),
        ("a contraction", "create the folder output if it doesn't exist",
         "create folder output if not exists"),
        ("the grouping said first or last", "group by city and compute the mean rent",
         "mean rent per city"),
        ("modifiers in another order", "train kmeans with 4 clusters on X",
         "train kmeans on X with 4 clusters"),
        ("highest first", "order leaderboard by points, highest first",
         "sort leaderboard by points descending"),
        ("a comparison in words", "keep rows with more than 3 missing values",
         "keep rows with > 3 missing values"),
        ("a verb that only asks to see", "show the first 10 rows", "get the first 10 rows"),
        ("into a dataframe", "read data.parquet into a dataframe", "read data.parquet"),
        ("the order said before its key", "sort descending by created_at",
         "sort by created_at descending"),
        ("with before a number", "histogram of duration with 40 bins",
         "histogram of duration, 40 bins"),
        ("count said last", "rows and columns count", "count rows and columns"),
        ("filter to rows", "filter df to rows where x > 1", "filter rows where x > 1"),
        ("a new column added", "add a new column profit = revenue - cost",
         "new column profit = revenue - cost"),
        ("a request sent", "send a GET request to https://api.example.com/items and parse the json",
         "https://api.example.com/items, parse the json"),
        ("a query run", "run a duckdb query: select * from trips", "duckdb: select * from trips"),
        ("an arrow", "convert ts from utc -> Asia/Tokyo", "convert ts from utc to Asia/Tokyo"),
        ("grouped by", "mean rent grouped by city", "mean rent by city"),
        ("the columns named a and b", "drop columns a and b", "drop a and b"),
        ("each row, row-wise", "sum each row", "row-wise sum"),
        ("a model trained", "train a random forest classifier on X", "RandomForestClassifier on X"),
        ("rows and a comparison", "count the rows amount > 1000", "count rows where amount > 1000"),
        ("ends in, ends with", "keep rows where title ends in '?'",
         "keep rows where title ends with '?'"),
    ],
)
def test_paraphrase_worded_another_way_hits(
    tmp_path: Path, kind: str, stored: str, asked: str
) -> None:
    assert guard_signature(stored) == guard_signature(asked), kind
    hit = stored_then_asked(tmp_path, stored, asked)
    assert hit is not None, kind
    assert hit.kind == "semantic", kind


@pytest.mark.parametrize(
    ("kind", "stored", "asked"),
    [
        ("identifier order", "rename column a to b", "rename column b to a"),
        ("word order", "convert celsius to fahrenheit", "convert fahrenheit to celsius"),
        ("column name", "fill missing values in age with the median",
         "fill missing values in income with the median"),
        ("file name", "read sales.csv into a dataframe", "read orders.csv into a dataframe"),
        ("quoted literal", 'filter rows where country is "France"',
         'filter rows where country is "Germany"'),
        ("number", "show the top 5 customers by revenue", "show the top 50 customers by revenue"),
        ("direction", "select rows before 2020-01-01", "select rows after 2020-01-01"),
        ("direction into/out of", "import data into the database",
         "export data out of the database"),
        ("antonym", "sort the dataframe by price ascending",
         "sort the dataframe by price descending"),
        ("aggregation", "group by region and sum revenue", "group by region and average revenue"),
        ("function", "use loc to select the rows", "use iloc to select the rows"),
        ("all or any", "drop rows where all values are missing",
         "drop rows where any value is missing"),
        ("arguments of a call, one named a", "np.where(mask, a, b)", "np.where(mask, b, a)"),
        ("an empty or a one-space string", "re.sub(r'\\s+', ' ', text)",
         "re.sub(r'\\s+', '', text)"),
        ("and or or", "filter rows where a > 1 and b < 2", "filter rows where a > 1 or b < 2"),
        ("an operator", "filter df where x > 1 & y < 2", "filter df where x > 1 | y < 2"),
        ("a comparison sign", "keep rows where age ≥ 18", "keep rows where age ≤ 18"),
        ("a quoted value is kept as written", "filter rows where status == 'shipped'",
         "filter rows where status == 'shipping'"),
        ("a quoted plural is kept as written", "keep urls that start with 'http'",
         "keep urls that start with 'https'"),
        ("a quoted word is never stemmed", "count rows where page == 'visit'",
         "count rows where page == 'visits'"),
        ("a quoted word another word reaches", "rename column 'sum' to 'x'",
         "rename column total to x"),
        ("a space-led quoted string", "split on ' to '", "split on 'to'"),
        ("a contraction inside quotes", "count 'don't' in text", "count 'do not' in text"),
        ("columns or rows", "drop columns with missing values", "drop rows with missing values"),
        ("a library next to a direction", "convert df from pandas to polars",
         "convert df from polars to pandas"),
        ("another library", "plot sales over time with seaborn",
         "plot sales over time with matplotlib"),
        ("operands of @", "compute A @ B with numpy", "compute B @ A with numpy"),
        ("a repeated operator", "compute x**2", "compute x*2"),
        ("the grouping and the grouped", "group by a, mean of b", "group by b, mean of a"),
        ("which side of a join", "merge users with orders on id",
         "merge orders with users on id"),
        ("list of dicts or dict of lists", "convert the list of dicts to a dataframe",
         "convert the dict of lists to a dataframe"),
        ("more or fewer", "keep rows with more than 3 missing values",
         "keep rows with fewer than 3 missing values"),
        ("an apostrophe inside quotes", 'replace "it\'s" with "it is"',
         'replace "it" with "it is"'),
        ("highest or lowest first", "sort leaderboard by points, highest first",
         "sort leaderboard by points, lowest first"),
        ("what a modifier holds", "train kmeans with 4 clusters on X",
         "train kmeans with X on 4 clusters"),
        ("into a dataframe or out of one", "convert the dict to a dataframe",
         "convert the dataframe to a dict"),
        ("which key an order follows", "sort descending by a then b",
         "sort by a then b descending"),
        ("an arrow's direction", "convert ts from utc -> Asia/Tokyo",
         "convert ts from Asia/Tokyo -> utc"),
        ("rows or columns named a and b", "drop rows a and b", "drop columns a and b"),
        ("each row or each column", "sum each row", "sum each column"),
        ("which model is trained", "train a random forest classifier on X",
         "train a random forest regressor on X"),
        ("a comparison after rows", "count rows where amount > 1000",
         "count the rows amount < 1000"),
        ("a name a before a filler word", "check if a is in b", "check if b is in a"),
        ("a name a before then", "sort by a then b", "sort by b"),
    ],
)
def test_guard_refuses_a_request_that_only_looks_alike(
    tmp_path: Path, kind: str, stored: str, asked: str
) -> None:
    assert guard_signature(stored) != guard_signature(asked), kind
    assert stored_then_asked(tmp_path, stored, asked) is None, kind


def test_a_negation_in_any_words_is_never_reused_for_its_absence(tmp_path: Path) -> None:
    for stored, asked in (("drop rows with missing values", "drop rows without missing values"),
                          ("create the folder if it exists",
                           "create the folder if it doesn't exist")):
        assert stored_then_asked(tmp_path / stored[:9], stored, asked) is None, asked


def test_the_guard_is_what_refuses_word_order(tmp_path: Path) -> None:
    # A bag-of-words embedding cannot tell these apart: only the guard can.
    assert embedding_similarity("rename column a to b", "rename column b to a") > 0.99


def test_request_of_filler_words_only_is_never_a_semantic_hit(tmp_path: Path) -> None:
    assert guard_signature("the code, please") == ()
    assert stored_then_asked(tmp_path, "the code, please", "please, the code") is None


def test_cache_exact_lookup_skips_the_semantic_layer(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path, CacheConfig(refresh_interval_s=0))
    messages = ask("plot revenue by month")
    key = cache.request_key(model=MODEL, messages=messages, params=T0, scope="s")
    cache.store(key, messages=messages, params=T0, scope="s", model=MODEL,
                answer=CachedAnswer(text="df.plot()", model_served="m"))
    other = ask("chart the revenue per month")
    other_key = cache.request_key(model=MODEL, messages=other, params=T0, scope="s")
    assert cache.lookup(other_key, messages=other, params=T0, scope="s", model=MODEL) is not None
    assert cache.lookup(other_key, messages=other, params=T0, scope="s", model=MODEL,
                        semantic=False) is None
    assert cache.lookup(key, messages=messages, params=T0, scope="s", model=MODEL,
                        semantic=False) is not None


def test_semantic_hit_through_generate_says_what_it_is_similar_to(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    from quantumlayer_nb import generate
    from quantumlayer_nb.ledger import events

    generate("plot revenue by month", temperature=0)
    hit = generate("chart the revenue per month", temperature=0)
    assert (hit.cached, hit.cache_kind, hit.similar_to) == (
        True, "semantic", "plot revenue by month")
    exact = generate("plot revenue by month", temperature=0)
    assert (exact.cached, exact.cache_kind, exact.similar_to) == (True, "exact", None)
    (data,) = events(get_settings().data_path).filter(
        "kind = 'cache_hit' AND data->>'cache_kind' = 'semantic'").select("data").fetchall()
    assert json.loads(data[0])["similar_to"] == "plot revenue by month"


def test_generate_with_cache_exact_calls_the_model_for_a_paraphrase(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    from quantumlayer_nb import generate

    generate("plot revenue by month", temperature=0)
    before = loopback_server.request_count
    live = generate("chart the revenue per month", temperature=0, cache="exact")
    assert (live.cached, live.cache_kind) == (False, None)
    assert loopback_server.request_count == before + 1
