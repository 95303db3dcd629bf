"""The ledger writer: one hash-chained segment per process, written before append returns."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pydantic
import pytest

from quantumlayer_nb.ledger import Ledger, LedgerEvent, ledger_for
from quantumlayer_nb.ledger._chain import HeadRecord, canonical_json


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger(tmp_path)
    yield led
    led.close()


def test_segment_is_created_lazily_on_first_append(tmp_path: Path, ledger: Ledger) -> None:
    assert not (tmp_path / "ledger").exists()
    assert ledger.path is None
    ledger.append({"kind": "call"})
    assert ledger.path is not None
    assert ledger.path.parent == tmp_path / "ledger"


def test_append_writes_the_line_before_returning(ledger: Ledger) -> None:
    event = ledger.append({"kind": "call", "model_served": "m"})
    assert ledger.path is not None
    assert _lines(ledger.path)[-1]["event_id"] == event.event_id


def test_append_fills_event_id_ts_and_chain_fields(ledger: Ledger) -> None:
    event = ledger.append({"kind": "call"})
    assert re.fullmatch(r"[0-9a-f]{32}", event.event_id)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", event.ts)
    assert event.segment == ledger.segment
    assert event.seq == 1  # seq 0 is segment_open
    assert re.fullmatch(r"[0-9a-f]{64}", event.hash)


def test_segment_id_names_time_host_pid_and_random_suffix(ledger: Ledger) -> None:
    ledger.append({"kind": "call"})
    assert ledger.segment is not None
    assert re.fullmatch(rf"\d{{8}}T\d{{6}}-.+-{os.getpid()}-[0-9a-f]{{6}}", ledger.segment)
    assert ledger.path is not None
    assert ledger.path.name == f"{ledger.segment}.jsonl"


def test_first_event_is_segment_open_with_process_facts(ledger: Ledger) -> None:
    ledger.append({"kind": "call"})
    assert ledger.path is not None
    first = _lines(ledger.path)[0]
    assert first["kind"] == "segment_open"
    assert first["seq"] == 0
    assert first["data"]["pid"] == os.getpid()
    assert {"host", "python"} <= set(first["data"])


def test_first_prev_hash_is_sha256_of_segment_id(ledger: Ledger) -> None:
    ledger.append({"kind": "call"})
    assert ledger.path is not None
    assert ledger.segment is not None
    first = _lines(ledger.path)[0]
    assert first["prev_hash"] == hashlib.sha256(ledger.segment.encode()).hexdigest()


def test_hash_is_sha256_of_canonical_json_without_hash(ledger: Ledger) -> None:
    ledger.append({"kind": "call", "data": {"ü": [1, 2.5]}, "tags": ["b", "a"]})
    assert ledger.path is not None
    for line in _lines(ledger.path):
        body = {k: v for k, v in line.items() if k != "hash"}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert line["hash"] == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_each_event_chains_to_the_previous_hash(ledger: Ledger) -> None:
    events = [ledger.append({"kind": "call", "attempt": i}) for i in range(5)]
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
        assert after.seq == before.seq + 1


def test_close_appends_segment_close_with_count_and_last_hash(ledger: Ledger) -> None:
    last = ledger.append({"kind": "call"})
    path = ledger.path
    ledger.close()
    assert path is not None
    closing = _lines(path)[-1]
    assert closing["kind"] == "segment_close"
    assert closing["data"] == {"events": 2, "last_hash": last.hash}


def test_append_after_close_opens_a_new_segment(ledger: Ledger) -> None:
    ledger.append({"kind": "call"})
    first = ledger.segment
    ledger.close()
    ledger.append({"kind": "call"})
    assert ledger.segment is not None
    assert ledger.segment != first


def test_head_record_holds_last_seq_hash_and_size(ledger: Ledger) -> None:
    event = ledger.append({"kind": "call"})
    assert ledger.path is not None
    head = HeadRecord.read(ledger.path.with_suffix(".head"))
    assert head == HeadRecord(event.seq, event.hash, ledger.path.stat().st_size)


def test_mapping_with_unknown_field_is_refused(ledger: Ledger) -> None:
    with pytest.raises(pydantic.ValidationError, match="tokens_input"):
        ledger.append({"kind": "call", "tokens_input": 3})


def test_kind_is_required() -> None:
    with pytest.raises(pydantic.ValidationError, match="kind"):
        LedgerEvent()  # type: ignore[call-arg]


def test_error_message_is_cut_to_500_characters() -> None:
    assert len(LedgerEvent(kind="call", error_message="x" * 2000).error_message or "") == 500


def test_unknown_cost_stays_none_not_zero(ledger: Ledger) -> None:
    event = ledger.append({"kind": "call", "tokens_in": 10})
    assert event.cost_usd is None
    assert event.cost_known is False


def test_cost_known_defaults_to_true_when_a_cost_is_given() -> None:
    assert LedgerEvent(kind="call", cost_usd=0.0).cost_known is True


def test_cost_known_without_cost_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="cost_known"):
        LedgerEvent(kind="call", cost_known=True)


def test_datetime_ts_is_stored_as_utc_iso_with_microseconds() -> None:
    local = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    event = LedgerEvent(kind="call", ts=local)  # type: ignore[arg-type]
    assert event.ts == "2026-01-02T01:04:05.000000+00:00"


def test_threads_appending_at_once_get_unique_consecutive_seqs(ledger: Ledger) -> None:
    def work() -> None:
        for i in range(200):
            ledger.append({"kind": "call", "attempt": i})

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ledger.path is not None
    lines = _lines(ledger.path)
    assert [line["seq"] for line in lines] == list(range(1201))
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(lines))


def test_ledger_for_returns_one_ledger_per_resolved_folder(tmp_path: Path) -> None:
    assert ledger_for(tmp_path) is ledger_for(tmp_path / "sub" / "..")
    assert ledger_for(tmp_path) is not ledger_for(tmp_path / "other")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_writes_its_own_segment(tmp_path: Path, ledger: Ledger) -> None:
    ledger.append({"kind": "call"})
    parent_segment = ledger.segment
    pid = os.fork()
    if pid == 0:  # the child: append, then leave without running the parent's cleanup
        code = 0
        try:
            ledger.append({"kind": "call", "user": "child"})
            ledger.close()
        except BaseException:
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    child_files = [p for p in (tmp_path / "ledger").glob(f"*-{pid}-*.jsonl")]
    assert len(child_files) == 1
    assert _lines(child_files[0])[1]["user"] == "child"
    assert ledger.path is not None
    assert ledger.segment == parent_segment
    assert all(line["segment"] == parent_segment for line in _lines(ledger.path))


def test_canonical_json_sorts_keys_and_keeps_unicode() -> None:
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'


def test_importing_the_ledger_does_not_import_duckdb() -> None:
    code = "import sys, quantumlayer_nb.ledger; print('duckdb' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_trusted_append_writes_the_same_line_shape_as_append(tmp_path: Path) -> None:
    from quantumlayer_nb.ledger import events, verify

    ledger = Ledger(tmp_path)
    chain = ledger.append_trusted(
        {"kind": "call", "project": "p", "cost_usd": 0.5, "error_message": "x" * 900}
    )
    checked = ledger.append({"kind": "call", "project": "p", "cost_usd": 0.5})
    ledger.close()
    assert chain["seq"] == checked.seq - 1
    relation = events(tmp_path).filter("kind = 'call'").order("seq")
    rows = relation.project("cost_known, error_message").fetchall()
    assert rows[0][0] is True
    assert len(rows[0][1]) == 500
    assert verify(tmp_path).ok
