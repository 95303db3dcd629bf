"""Two real processes share one cache: no lock errors, and one's answers are the other's hits."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quantumlayer_nb.cache import CacheConfig, CachedAnswer, ResponseCache

MODEL = "openai/gpt-4o-mini"
PARAMS = {"temperature": 0}

# A long-lived "kernel": builds its cache view first, then answers commands on stdin.
KERNEL = rf"""
import json, sys
from pathlib import Path
from quantumlayer_nb.cache import CacheConfig, CachedAnswer, ResponseCache

cache = ResponseCache(Path(sys.argv[1]), CacheConfig())

def request(text):
    messages = [{{"role": "user", "content": text}}]
    key = cache.request_key(model={MODEL!r}, messages=messages, params={PARAMS!r}, scope="p")
    return key, messages

def get(text):
    key, messages = request(text)
    hit = cache.lookup(key, messages=messages, params={PARAMS!r}, scope="p", model={MODEL!r})
    return None if hit is None else {{"kind": hit.kind, "text": hit.text, "cost": hit.cost_usd}}

def put(text, reply):
    key, messages = request(text)
    answer = CachedAnswer(text=reply, model_served="m", tokens_in=1, tokens_out=1,
                          cost_usd=0.5, finish_reason="stop")
    cache.store(key, messages=messages, params={PARAMS!r}, scope="p", model={MODEL!r},
                answer=answer)

get("warm up: build the index and load the embedder")
print(json.dumps("ready"), flush=True)
for line in sys.stdin:
    command = json.loads(line)
    if command["op"] == "get":
        result = [get(text) for text in command["texts"]]
    else:
        for text in command["texts"]:
            put(text, "from child: " + text)
        result = len(command["texts"])
    print(json.dumps(result), flush=True)
"""


class Kernel:
    """A child Python process holding its own ResponseCache over ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", KERNEL, str(folder)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.read() == "ready", self.process.stderr

    def read(self) -> Any:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            assert self.process.stderr is not None
            raise AssertionError(f"kernel died: {self.process.stderr.read()}")
        return json.loads(line)

    def send(self, op: str, texts: list[str]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"op": op, "texts": texts}) + "\n")
        self.process.stdin.flush()

    def ask(self, op: str, texts: list[str]) -> Any:
        self.send(op, texts)
        return self.read()

    def stop(self) -> str:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)
        assert self.process.stderr is not None
        return self.process.stderr.read()


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[Kernel]:
    child = Kernel(tmp_path)
    yield child
    if child.process.poll() is None:
        child.stop()


def put_here(cache: ResponseCache, text: str, reply: str) -> None:
    messages = [{"role": "user", "content": text}]
    key = cache.request_key(model=MODEL, messages=messages, params=PARAMS, scope="p")
    answer = CachedAnswer(
        text=reply, model_served="m", tokens_in=3, tokens_out=4, cost_usd=0.25, finish_reason="stop"
    )
    cache.store(key, messages=messages, params=PARAMS, scope="p", model=MODEL, answer=answer)


def get_here(cache: ResponseCache, text: str) -> CachedAnswer | None:
    messages = [{"role": "user", "content": text}]
    key = cache.request_key(model=MODEL, messages=messages, params=PARAMS, scope="p")
    return cache.lookup(key, messages=messages, params=PARAMS, scope="p", model=MODEL)


def test_answer_stored_here_is_an_exact_hit_in_a_running_kernel(
    tmp_path: Path, kernel: Kernel
) -> None:
    assert kernel.ask("get", ["plot revenue by month"]) == [None]
    put_here(ResponseCache(tmp_path, CacheConfig()), "plot revenue by month", "df.plot()")
    time.sleep(0.1)  # past the kernel's refresh interval
    assert kernel.ask("get", ["plot revenue by month"]) == [
        {"kind": "exact", "text": "df.plot()", "cost": 0.25}
    ]


def test_paraphrase_stored_here_is_a_semantic_hit_in_a_running_kernel(
    tmp_path: Path, kernel: Kernel
) -> None:
    put_here(ResponseCache(tmp_path, CacheConfig()), "plot revenue by month", "df.plot()")
    time.sleep(0.1)
    (hit,) = kernel.ask("get", ["chart the revenue per month"])
    assert hit == {"kind": "semantic", "text": "df.plot()", "cost": 0.25}


def test_two_kernels_store_at_once_without_lock_errors_and_see_each_other(
    tmp_path: Path, kernel: Kernel
) -> None:
    other = Kernel(tmp_path)
    mine = [f"task {n} of the first kernel" for n in range(40)]
    theirs = [f"task {n} of the second kernel" for n in range(40)]
    kernel.send("put", mine)
    other.send("put", theirs)
    assert (kernel.read(), other.read()) == (40, 40)
    time.sleep(0.1)
    seen_by_first = kernel.ask("get", theirs)
    seen_by_second = other.ask("get", mine)
    errors = other.stop() + kernel.stop()
    assert all(hit and hit["kind"] == "exact" for hit in seen_by_first + seen_by_second)
    assert "Error" not in errors
    assert "lock" not in errors.lower()
    assert len(list((tmp_path / "cache").glob("*.jsonl"))) == 2


ONE_SHOT = r"""
import sys
from pathlib import Path
from quantumlayer_nb.cache import CacheConfig, CachedAnswer, ResponseCache

cache = ResponseCache(Path(sys.argv[1]), CacheConfig())
messages = [{"role": "user", "content": sys.argv[2]}]
key = cache.request_key(model="m", messages=messages, params={}, scope="p")
answer = CachedAnswer(text=sys.argv[3], model_served="m", cost_usd=0.1)
cache.store(key, messages=messages, params={}, scope="p", model="m", answer=answer)
"""


def store_in_a_finished_process(folder: Path, prompt: str, reply: str) -> None:
    subprocess.run([sys.executable, "-c", ONE_SHOT, str(folder), prompt, reply], check=True)


def test_compaction_folds_finished_segments_keeping_the_newest_answers(tmp_path: Path) -> None:
    store_in_a_finished_process(tmp_path, "plot revenue", "old")
    store_in_a_finished_process(tmp_path, "plot revenue", "new")
    store_in_a_finished_process(tmp_path, "plot cost", "cost")
    assert ResponseCache(tmp_path, CacheConfig()).compact() == (3, 2)
    assert len(list((tmp_path / "cache").glob("*.jsonl"))) == 1
    reread = ResponseCache(tmp_path, CacheConfig())
    messages = [{"role": "user", "content": "plot revenue"}]
    key = reread.request_key(model="m", messages=messages, params={}, scope="p")
    hit = reread.lookup(key, messages=messages, params={}, scope="p", model="m")
    assert hit is not None
    assert hit.text == "new"


def test_compaction_leaves_running_writers_alone(tmp_path: Path, kernel: Kernel) -> None:
    kernel.ask("put", ["plot revenue by month"])
    store_in_a_finished_process(tmp_path, "plot cost", "cost")
    store_in_a_finished_process(tmp_path, "plot profit", "profit")
    assert ResponseCache(tmp_path, CacheConfig()).compact() == (2, 2)
    assert len(list((tmp_path / "cache").glob("*.jsonl"))) == 2
    assert kernel.ask("get", ["plot revenue by month"])[0]["kind"] == "exact"


def test_a_cache_opened_over_many_finished_segments_folds_them_in_the_background(
        tmp_path: Path) -> None:
    for prompt, reply in (("plot revenue", "old"), ("plot revenue", "new"), ("plot cost", "c")):
        store_in_a_finished_process(tmp_path, prompt, reply)
    cache = ResponseCache(tmp_path, CacheConfig(compact_after_segments=3))
    assert cache.compaction is not None
    cache.compaction.join(timeout=60)
    assert len(list((tmp_path / "cache").glob("*.jsonl"))) == 1
    messages = [{"role": "user", "content": "plot revenue"}]
    reread = ResponseCache(tmp_path, CacheConfig(compact_after_segments=3))
    assert reread.compaction is None  # one segment now: nothing to fold
    key = reread.request_key(model="m", messages=messages, params={}, scope="p")
    hit = reread.lookup(key, messages=messages, params={}, scope="p", model="m")
    assert hit is not None
    assert hit.text == "new"


def test_no_background_compaction_below_the_threshold_or_when_off(tmp_path: Path) -> None:
    store_in_a_finished_process(tmp_path, "plot cost", "c")
    store_in_a_finished_process(tmp_path, "plot profit", "p")
    assert ResponseCache(tmp_path, CacheConfig(compact_after_segments=3)).compaction is None
    assert ResponseCache(tmp_path, CacheConfig(compact_after_segments=0)).compaction is None
    assert len(list((tmp_path / "cache").glob("*.jsonl"))) == 2


def test_compaction_removes_folds_abandoned_long_ago_only(tmp_path: Path) -> None:
    import os
    import time

    store_in_a_finished_process(tmp_path, "plot cost", "c")
    folder = tmp_path / "cache"
    stale = folder / "20260101T000000-host-1-abcdef.jsonl.tmp"
    fresh = folder / "20260101T000000-host-2-abcdef.jsonl.tmp"
    for path in (stale, fresh):
        path.write_text('{"half": "written"')
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    ResponseCache(tmp_path, CacheConfig()).compact()
    assert not stale.exists()
    assert fresh.exists()  # a compaction may still be writing it
