"""A cache entry edited on disk is never served: a miss, reported; replay refuses it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from quantumlayer_nb.cache import CacheConfig, CachedAnswer, CacheWarning, ResponseCache
from quantumlayer_nb.config import get_settings
from quantumlayer_nb.errors import ReplayMiss
from quantumlayer_nb.testing import LoopbackServer

MODEL = "openai/gpt-4o-mini"
T0 = {"temperature": 0, "max_tokens": 256}
GOOD, EVIL = "shutil.rmtree('build')", "os.system('rm -rf ~')"
MESSAGES = [{"role": "user", "content": "clean the build folder"}]


def new_cache(folder: Path, **config: object) -> ResponseCache:
    return ResponseCache(folder, CacheConfig(refresh_interval_s=0, **config))  # type: ignore[arg-type]


def key_of(cache: ResponseCache) -> str:
    return cache.request_key(model=MODEL, messages=MESSAGES, params=T0, scope="p")


def stored_and_edited(folder: Path) -> tuple[str, Path]:
    """Store one answer, then edit its segment as ``sed -i s/GOOD/EVIL/`` would."""
    cache = new_cache(folder)
    key = key_of(cache)
    cache.store(key, messages=MESSAGES, params=T0, scope="p", model=MODEL,
                answer=CachedAnswer(text=GOOD, model_served="m"))
    (segment,) = (folder / "cache").glob("*.jsonl")
    segment.write_text(segment.read_text().replace(GOOD, EVIL))
    return key, segment


def lookup(cache: ResponseCache, key: str, mode: str = "normal") -> CachedAnswer | None:
    return cache.lookup(key, messages=MESSAGES, params=T0, scope="p", model=MODEL,
                        mode=mode)  # type: ignore[arg-type]


def test_entry_that_matches_its_hash_is_served(tmp_path: Path) -> None:
    cache = new_cache(tmp_path)
    cache.store(key_of(cache), messages=MESSAGES, params=T0, scope="p", model=MODEL,
                answer=CachedAnswer(text=GOOD, model_served="m"))
    hit = lookup(new_cache(tmp_path), key_of(cache))
    assert hit is not None
    assert hit.text == GOOD


def test_edited_entry_is_a_miss_reported_by_warning_log_and_counter(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key, segment = stored_and_edited(tmp_path)
    reader = new_cache(tmp_path)
    with caplog.at_level(logging.WARNING, logger="quantumlayer_nb"), \
            pytest.warns(CacheWarning, match="does not match its content hash"):
        assert lookup(reader, key) is None
    assert reader.integrity_failures == 1
    assert f"{segment.name} line 1 (key {key})" in caplog.text


def test_edited_entry_is_never_served_semantically(tmp_path: Path) -> None:
    stored_and_edited(tmp_path)
    reader = new_cache(tmp_path)
    paraphrase = [{"role": "user", "content": "please clean the build folder"}]
    other = reader.request_key(model=MODEL, messages=paraphrase, params=T0, scope="p")
    with pytest.warns(CacheWarning):
        assert reader.lookup(other, messages=paraphrase, params=T0, scope="p",
                             model=MODEL) is None


def test_replay_of_an_edited_entry_raises_naming_the_file(tmp_path: Path) -> None:
    key, segment = stored_and_edited(tmp_path)
    reader = new_cache(tmp_path)
    with pytest.warns(CacheWarning), pytest.raises(ReplayMiss) as caught:
        lookup(reader, key, mode="replay")
    assert f"{segment.name} line 1" in str(caught.value)
    assert "edited after it was written" in str(caught.value)


def test_entry_without_a_content_hash_is_not_served(tmp_path: Path) -> None:
    key, segment = stored_and_edited(tmp_path)
    import json

    record = json.loads(segment.read_text())
    record["answer"]["text"] = EVIL
    del record["sha256"]
    segment.write_text(json.dumps(record) + "\n")
    with pytest.warns(CacheWarning, match="has no content hash"):
        assert lookup(new_cache(tmp_path), key) is None


def test_replay_in_a_new_process_refuses_an_edited_answer(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    from quantumlayer_nb import generate

    loopback_server.set_default_reply(f"```python\n{GOOD}\n```")
    assert (generate("clean the build folder", temperature=0).code or "").strip() == GOOD
    (segment,) = (get_settings().data_path / "cache").glob("*.jsonl")
    segment.write_text(segment.read_text().replace(GOOD, EVIL))
    before = loopback_server.request_count
    result = subprocess.run(
        [sys.executable, "-c", "from quantumlayer_nb import generate\n"
         "print(generate('clean the build folder', temperature=0).code)"],
        cwd=loop_project, env={**os.environ, "QLAYER_CACHE__MODE": "replay"},
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode != 0, result.stdout + result.stderr
    assert EVIL not in result.stdout
    assert "ReplayMiss: Replay refused" in result.stderr
    assert segment.name in result.stderr
    assert loopback_server.request_count == before
