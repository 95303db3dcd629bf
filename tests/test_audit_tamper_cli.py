"""``qlayer audit verify`` against someone who writes the ledger files: the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from quantumlayer_nb.ledger._chain import HeadRecord, canonical_json, event_hash

QLAYER = [sys.executable, "-c", "from quantumlayer_nb.cli import main; main()"]

KILLED_WRITER = """
import os, sys
from pathlib import Path
from quantumlayer_nb.ledger import ledger_for

ledger = ledger_for(Path(sys.argv[1]))
for i in range(int(sys.argv[2])):
    ledger.append({"kind": "call", "attempt": i, "cost_usd": 0.001, "model_served": "m"})
if sys.argv[3] == "close":
    ledger.close()
os._exit(0)  # no atexit: an open segment stays open, as after a kill
"""


def qlayer(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``qlayer`` command line in a separate process, in the project folder."""
    return subprocess.run(
        [*QLAYER, *args], cwd=project, env=dict(os.environ), capture_output=True, text=True,
        timeout=60, check=False,
    )


def write_segment(project: Path, events: int = 4, *, close: bool = False) -> Path:
    """A segment written by a process that has exited (closed, or killed without closing)."""
    subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(project / ".qlayer"), str(events),
         "close" if close else "open"],
        check=True, timeout=60,
    )
    (segment,) = sorted((project / ".qlayer" / "ledger").glob("*.jsonl"))
    return segment


def events_of(segment: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in segment.read_bytes().splitlines()]


def forged_next(previous: dict[str, Any], **fields: Any) -> bytes:
    """An event that continues the chain correctly: right seq, prev_hash and hash."""
    event = {
        "event_id": "f" * 32, "kind": "call", "ts": previous["ts"], "cost_usd": 1000.0,
        "cost_known": True, "model_served": "m", "tags": [], "data": {}, **fields,
        "segment": previous["segment"], "seq": previous["seq"] + 1,
        "prev_hash": previous["hash"],
    }
    event["hash"] = event_hash(event)
    return (canonical_json(event) + "\n").encode()


def rewrite_consistently(segment: Path, change: dict[str, Any]) -> None:
    """What a forger with write access does: edit event 1, re-hash the rest and the head."""
    events = events_of(segment)
    events[1].update(change)
    lines = []
    for event in events:
        if event["seq"] > 0:
            event["prev_hash"] = events[event["seq"] - 1]["hash"]
        event["hash"] = event_hash(event)
        lines.append((canonical_json(event) + "\n").encode())
    segment.write_bytes(b"".join(lines))
    head = HeadRecord(events[-1]["seq"], events[-1]["hash"], segment.stat().st_size)
    segment.with_suffix(".head").write_bytes(head.encode())


def assert_error_naming(result: subprocess.CompletedProcess[str], kind: str, name: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ledger DAMAGED" in result.stdout
    assert f"[{kind}] {name}" in result.stdout
    assert "Traceback" not in result.stderr


def test_deleted_segment_whose_head_remains_is_missing(project: Path) -> None:
    segment = write_segment(project, close=True)
    segment.unlink()
    result = qlayer(project, "audit", "verify")
    assert_error_naming(result, "missing", segment.stem)
    assert f"{segment.name} is gone" in result.stdout


def test_forged_event_appended_to_a_killed_writers_segment_is_spliced(project: Path) -> None:
    segment = write_segment(project)
    with segment.open("ab") as handle:
        handle.write(forged_next(events_of(segment)[-1]))
    result = qlayer(project, "audit", "verify")
    assert_error_naming(result, "spliced", segment.stem)
    assert f"{segment.name} holds events from seq 5 on that its writer never wrote" in (
        result.stdout)


def test_line_a_killed_writer_wrote_before_its_head_update_is_accepted(project: Path) -> None:
    # The writer's own last line, with the head still announcing it as pending: not forged.
    segment = write_segment(project)
    events = events_of(segment)
    size_before = segment.stat().st_size - len(segment.read_bytes().splitlines(True)[-1])
    head = HeadRecord(events[-2]["seq"], events[-2]["hash"], size_before, events[-1]["hash"])
    segment.with_suffix(".head").write_bytes(head.encode())
    result = qlayer(project, "audit", "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[unclosed]" in result.stdout


def test_garbage_after_segment_close_is_an_error(project: Path) -> None:
    segment = write_segment(project, close=True)
    with segment.open("ab") as handle:
        handle.write(b'{"kind":"call","cost_usd":1000')
    result = qlayer(project, "audit", "verify")
    assert_error_naming(result, "spliced", segment.stem)
    assert "follow segment_close" in result.stdout
    assert "[torn]" not in result.stdout


def test_garbage_after_a_killed_writers_last_event_is_an_error(project: Path) -> None:
    segment = write_segment(project)
    with segment.open("ab") as handle:
        handle.write(b"x" * 40)
    result = qlayer(project, "audit", "verify")
    assert_error_naming(result, "spliced", segment.stem)


def test_consistent_rewrite_of_an_unclosed_segment_passes_without_an_anchor(
    project: Path,
) -> None:
    # What the chain cannot prove (docs/audit.md): a whole segment and its head rewritten.
    segment = write_segment(project)
    rewrite_consistently(segment, {"cost_usd": 1000.0})
    assert qlayer(project, "audit", "verify").returncode == 0


def test_anchor_catches_a_consistent_rewrite_made_after_it(project: Path) -> None:
    segment = write_segment(project)
    made = qlayer(project, "audit", "anchor", "--out", "anchor.json")
    assert made.returncode == 0, made.stderr
    document = json.loads((project / "anchor.json").read_text())
    assert made.stdout.startswith(f"anchor {document['digest']}: 1 segments, 5 events")
    assert qlayer(project, "audit", "verify", "--anchor", "anchor.json").returncode == 0

    rewrite_consistently(segment, {"cost_usd": 1000.0})
    result = qlayer(project, "audit", "verify", "--anchor", "anchor.json")
    assert_error_naming(result, "tampered", segment.stem)
    assert "rewritten after the anchor was made" in result.stdout


def test_edited_anchor_is_refused(project: Path) -> None:
    write_segment(project)
    qlayer(project, "audit", "anchor", "--out", "anchor.json")
    document = json.loads((project / "anchor.json").read_text())
    document["segments"][0]["seq"] = 1
    (project / "anchor.json").write_text(json.dumps(document))
    result = qlayer(project, "audit", "verify", "--anchor", "anchor.json")
    assert result.returncode == 1
    assert "the anchor itself was edited" in result.stderr


def test_anchor_of_a_damaged_ledger_is_refused(project: Path) -> None:
    segment = write_segment(project, close=True)
    segment.unlink()
    result = qlayer(project, "audit", "anchor")
    assert result.returncode == 1
    assert "cannot be anchored" in result.stderr


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_edited_cache_entry_fails_verify_naming_file_and_key(
    project: Path, extra: list[str]
) -> None:
    from quantumlayer_nb.cache import CacheConfig, CachedAnswer, ResponseCache

    cache = ResponseCache(project / ".qlayer", CacheConfig())
    messages = [{"role": "user", "content": "clean up the temp folder"}]
    key = cache.request_key(model="m", messages=messages, params={}, scope="p")
    cache.store(key, messages=messages, params={}, scope="p", model="m",
                answer=CachedAnswer(text="shutil.rmtree('tmp')", model_served="m"))
    (segment,) = (project / ".qlayer" / "cache").glob("*.jsonl")
    segment.write_text(segment.read_text().replace("shutil.rmtree('tmp')",
                                                   "os.system('rm -rf ~')"))
    result = qlayer(project, "audit", "verify", *extra)
    assert result.returncode == 1, result.stdout + result.stderr
    if extra:
        (finding,) = json.loads(result.stdout)["findings"]
        assert (finding["store"], finding["segment"], finding["line"], finding["key"]) == (
            "cache", segment.name, 1, key)
    else:
        assert "cache DAMAGED: 0 entries in 1 segments" in result.stdout
        assert f"[tampered] cache/{segment.name} line 1 key {key}" in result.stdout
        assert "does not match its content hash" in result.stdout
