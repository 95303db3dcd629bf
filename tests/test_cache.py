"""The response cache: exact and semantic hits, scoping, expiry, size cap, modes, store."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from quantumlayer_nb.cache import (
    CacheConfig,
    CachedAnswer,
    CacheWarning,
    ResponseCache,
    cache_for,
)
from quantumlayer_nb.config import get_settings
from quantumlayer_nb.errors import ReplayMiss
from quantumlayer_nb.testing import LoopbackServer

MODEL = "openai/gpt-4o-mini"
SCOPE = "sales"
SYSTEM = "You write pandas code."
T0 = {"temperature": 0, "max_tokens": 256}


def ask(text: str, system: str = SYSTEM) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": text}]


def answer(text: str = "df.plot()", cost: float | None = 0.0021) -> CachedAnswer:
    return CachedAnswer(
        text=text,
        model_served="gpt-4o-mini-2024-07-18",
        tokens_in=40,
        tokens_out=12,
        cost_usd=cost,
        finish_reason="stop",
    )


def new_cache(folder: Path, **config: Any) -> ResponseCache:
    return ResponseCache(folder, CacheConfig(refresh_interval_s=0, **config))


def put(
    cache: ResponseCache,
    text: str,
    *,
    params: dict[str, Any] = T0,
    model: str = MODEL,
    scope: str = SCOPE,
    system: str = SYSTEM,
    reply: CachedAnswer | None = None,
) -> str:
    messages = ask(text, system)
    key = cache.request_key(model=model, messages=messages, params=params, scope=scope)
    cache.store(
        key, messages=messages, params=params, scope=scope, model=model, answer=reply or answer()
    )
    return key


def get(
    cache: ResponseCache,
    text: str,
    *,
    params: dict[str, Any] = T0,
    model: str = MODEL,
    scope: str = SCOPE,
    system: str = SYSTEM,
    mode: Any = "normal",
) -> CachedAnswer | None:
    messages = ask(text, system)
    key = cache.request_key(model=model, messages=messages, params=params, scope=scope)
    return cache.lookup(key, messages=messages, params=params, mode=mode, scope=scope, model=model)


def test_exact_hit_returns_the_stored_answer_and_its_original_cost(tmp_path: Path) -> None:
    cache = new_cache(tmp_path)
    key = put(cache, "plot revenue by month")
    hit = get(cache, "plot revenue by month")
    assert hit is not None
    assert (hit.kind, hit.text, hit.cost_usd, hit.key) == ("exact", "df.plot()", 0.0021, key)


def test_request_key_ignores_outer_whitespace_and_key_order(tmp_path: Path) -> None:
    cache = new_cache(tmp_path)
    one = cache.request_key(
        model=MODEL, messages=ask("plot revenue"), params={"temperature": 0, "seed": 1}, scope="p"
    )
    two = cache.request_key(
        model=f" {MODEL}",
        messages=[
            {"content": f"  {SYSTEM}\n", "role": "system"},
            {"role": "user", "content": "plot revenue "},
        ],
        params={"seed": 1, "temperature": 0},
        scope="p",
    )
    assert one == two
    assert len(one) == 64


def test_semantic_paraphrase_hits(tmp_path: Path) -> None:
    cache = new_cache(tmp_path)
    put(cache, "plot revenue by month")
    hit = get(cache, "chart the revenue per month")
    assert hit is not None
    assert hit.kind == "semantic"
    assert 0.7 <= hit.similarity < 1.0
    assert hit.cost_usd == 0.0021


def test_different_request_with_similar_words_misses(tmp_path: Path) -> None:
    cache = new_cache(tmp_path)
    put(cache, "plot revenue by month")
    assert get(cache, "plot cost by month") is None


def test_paraphrase_in_another_word_order_misses(tmp_path: Path) -> None:
    # The guards compare meaning-bearing words in order: a reordered paraphrase is a lost
    # saving, which is the price of never answering "b to a" with the code for "a to b".
    cache = new_cache(tmp_path)
    put(cache, "plot revenue by month")
    assert get(cache, "plot monthly revenue") is None


def test_different_numbers_never_hit_semantically(tmp_path: Path) -> None:
    cache = new_cache(tmp_path)
    put(cache, "show the top 5 customers by revenue")
    assert get(cache, "show the top 50 customers by revenue") is None


@pytest.mark.parametrize(
    "change",
    [
        {"scope": "other-project"},
        {"model": "openai/gpt-4o"},
        {"system": "You write SQL."},
        {"params": {"temperature": 0, "max_tokens": 512}},
    ],
    ids=["project", "model", "system_prompt", "params"],
)
def test_other_scope_model_system_prompt_or_params_miss(
    tmp_path: Path, change: dict[str, Any]
) -> None:
    cache = new_cache(tmp_path)
    put(cache, "plot revenue by month")
    assert get(cache, "plot revenue by month", **change) is None


def test_semantic_needs_temperature_zero_by_default(tmp_path: Path) -> None:
    cache = new_cache(tmp_path)
    warm = {"temperature": 0.7, "max_tokens": 256}
    put(cache, "plot revenue by month", params=warm)
    assert get(cache, "chart the revenue per month", params=warm) is None
    exact = get(cache, "plot revenue by month", params=warm)
    assert exact is not None
    assert exact.kind == "exact"


def test_semantic_any_temperature_allows_warm_paraphrases(tmp_path: Path) -> None:
    cache = new_cache(tmp_path, semantic_any_temperature=True)
    warm = {"temperature": 0.7, "max_tokens": 256}
    put(cache, "plot revenue by month", params=warm)
    hit = get(cache, "chart the revenue per month", params=warm)
    assert hit is not None
    assert hit.kind == "semantic"


def test_semantic_off_gives_exact_hits_only(tmp_path: Path) -> None:
    cache = new_cache(tmp_path, semantic=False)
    put(cache, "plot revenue by month")
    assert get(cache, "chart the revenue per month") is None
    assert get(cache, "plot revenue by month") is not None


def test_expired_entries_miss_after_ttl(tmp_path: Path) -> None:
    cache = new_cache(tmp_path, ttl_s=0.3)
    put(cache, "plot revenue by month")
    assert get(cache, "plot revenue by month") is not None
    time.sleep(0.4)
    assert get(cache, "plot revenue by month") is None
    assert get(cache, "chart the revenue per month") is None


def test_replay_ignores_ttl(tmp_path: Path) -> None:
    cache = new_cache(tmp_path, ttl_s=0.1)
    put(cache, "plot revenue by month")
    time.sleep(0.2)
    assert get(cache, "plot revenue by month", mode="replay") is not None


def test_size_cap_evicts_the_oldest_entries(tmp_path: Path) -> None:
    cache = new_cache(tmp_path, max_entries=3)
    for number in range(5):
        put(cache, f"task number {number}", reply=answer(f"answer {number}"))
    assert len(cache) == 3
    assert get(cache, "task number 0") is None
    assert get(cache, "task number 1") is None
    latest = get(cache, "task number 4")
    assert latest is not None
    assert latest.text == "answer 4"


def test_off_mode_never_hits_but_still_stores(tmp_path: Path) -> None:
    cache = new_cache(tmp_path, mode="off")
    put(cache, "plot revenue by month")
    assert get(cache, "plot revenue by month", mode="off") is None
    assert get(cache, "plot revenue by month", mode="normal") is not None


def test_refresh_mode_never_hits_and_its_new_answer_wins(tmp_path: Path) -> None:
    cache = new_cache(tmp_path)
    put(cache, "plot revenue by month", reply=answer("old"))
    assert get(cache, "plot revenue by month", mode="refresh") is None
    put(cache, "plot revenue by month", reply=answer("new"))
    reread = new_cache(tmp_path)
    hit = get(reread, "plot revenue by month")
    assert hit is not None
    assert hit.text == "new"


def test_store_false_records_nothing(tmp_path: Path) -> None:
    cache = new_cache(tmp_path, store=False)
    put(cache, "plot revenue by month")
    assert get(new_cache(tmp_path), "plot revenue by month") is None


def test_replay_answers_from_the_store(tmp_path: Path) -> None:
    put(new_cache(tmp_path), "plot revenue by month")
    hit = get(new_cache(tmp_path), "plot revenue by month", mode="replay")
    assert hit is not None
    assert hit.text == "df.plot()"


def test_replay_miss_names_the_request_and_the_fix(tmp_path: Path) -> None:
    cache = new_cache(tmp_path)
    prompt = "plot revenue by month for every region, stacked, with a legend outside the axes " * 2
    messages = ask(prompt)
    key = cache.request_key(model=MODEL, messages=messages, params=T0, scope=SCOPE)
    with pytest.raises(ReplayMiss) as caught:
        cache.lookup(key, messages=messages, params=T0, mode="replay", scope=SCOPE, model=MODEL)
    message = str(caught.value)
    assert MODEL in message
    assert key in message
    assert prompt.strip()[:80] in message
    assert prompt.strip()[:81] not in message
    assert "'normal'" in message


def test_replay_does_not_answer_paraphrases(tmp_path: Path) -> None:
    cache = new_cache(tmp_path)
    put(cache, "plot revenue by month")
    with pytest.raises(ReplayMiss):
        get(cache, "chart the revenue per month", mode="replay")


def test_store_keeps_only_the_redacted_start_of_the_user_message(tmp_path: Path) -> None:
    # The last user message is kept (redacted, 200 characters) so that a semantic hit can
    # say what it is similar to; the system prompt and earlier turns never are.
    key = "sk-proj-" + "Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF"
    text = f"plot revenue by month with the key {key} " + "and more words " * 30
    put(new_cache(tmp_path), text, system="secret system prompt")
    (line,) = "".join(p.read_text() for p in (tmp_path / "cache").glob("*.jsonl")).splitlines()
    record = json.loads(line)
    assert record["answer"]["text"] == "df.plot()"
    assert record["request"].startswith("plot revenue by month with the key ")
    assert len(record["request"]) <= 200
    assert key not in line
    assert "secret system prompt" not in line


def test_torn_last_line_is_skipped(tmp_path: Path) -> None:
    put(new_cache(tmp_path), "plot revenue by month")
    (segment,) = (tmp_path / "cache").glob("*.jsonl")
    whole = segment.read_text().splitlines()[0]
    with segment.open("a") as handle:
        handle.write(whole[: len(whole) // 2])
    cache = new_cache(tmp_path)
    assert get(cache, "plot revenue by month") is not None
    assert len(cache) == 1


def test_unreadable_complete_line_is_skipped_with_a_warning(tmp_path: Path) -> None:
    put(new_cache(tmp_path), "plot revenue by month")
    (segment,) = (tmp_path / "cache").glob("*.jsonl")
    with segment.open("a") as handle:
        handle.write('{"key": "cut sho\n' + json.dumps({"key": "no answer"}) + "\n")
    cache = new_cache(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert get(cache, "plot revenue by month") is not None
    assert any(issubclass(w.category, CacheWarning) for w in caught)
    assert len(cache) == 1


def test_cache_for_gives_one_cache_per_data_folder(project: Path) -> None:
    settings = get_settings()
    cache = cache_for(settings)
    assert cache is cache_for(settings)
    assert cache.folder == (project / ".qlayer" / "cache").resolve()


def test_qdrant_url_path_finds_paraphrases_through_qdrant_client(tmp_path: Path) -> None:
    cache = new_cache(tmp_path, qdrant_url=":memory:")
    put(cache, "plot revenue by month")
    hit = get(cache, "chart the revenue per month")
    other = get(cache, "plot cost by month")
    assert hit is not None
    assert hit.kind == "semantic"
    assert hit.text == "df.plot()"
    assert other is None


def test_generate_answers_a_repeated_request_from_the_cache(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    from quantumlayer_nb import generate

    first = generate("plot revenue by month", temperature=0)
    second = generate("plot revenue by month", temperature=0)
    assert loopback_server.request_count == 1
    assert second.cached
    assert second.text == first.text


def test_replay_mode_generate_raises_on_an_unrecorded_request(
    loop_project: Path, loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from quantumlayer_nb import generate

    monkeypatch.setenv("QLAYER_CACHE__MODE", "replay")
    with pytest.raises(ReplayMiss, match="never asked before"):
        generate("a request never asked before", temperature=0)
    assert loopback_server.request_count == 0


def test_storing_one_key_many_times_keeps_the_index_consistent() -> None:
    import numpy as np

    from quantumlayer_nb.cache.index import VectorIndex

    index = VectorIndex()
    vector = np.ones(8, dtype=np.float32) / np.sqrt(8)
    for step in range(500):  # each store of the same key kills the previous row
        index.add("same", "group", vector, created=float(step), temperature_zero=True)
    assert len(index) == 1
