"""verify() names the first bad event of each damaged segment; export() writes all events."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from quantumlayer_nb.errors import RequestError
from quantumlayer_nb.ledger import AuditFinding, Ledger, LedgerWarning, export, verify
from quantumlayer_nb.ledger._chain import HeadRecord, event_hash


def _write_segment(data_dir: Path, calls: int = 6, close: bool = True) -> Path:
    ledger = Ledger(data_dir)
    for i in range(calls):
        ledger.append({"kind": "call", "attempt": i, "tokens_in": 100 + i, "cost_usd": 0.01})
    path = ledger.path
    assert path is not None
    if close:
        ledger.close()
    else:  # stop writing as a killed process would: no segment_close
        ledger._abandon_segment()
    return path


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _damage(findings: list[AuditFinding]) -> list[AuditFinding]:
    return [f for f in findings if f.damage]


@pytest.fixture
def segment(tmp_path: Path) -> Path:
    return _write_segment(tmp_path)


def test_intact_closed_ledger_verifies_ok(tmp_path: Path, segment: Path) -> None:
    report = verify(tmp_path)
    assert report.ok
    assert report.findings == []
    assert (report.segments_checked, report.events_checked) == (1, 8)


def test_empty_data_dir_verifies_ok(tmp_path: Path) -> None:
    report = verify(tmp_path)
    assert report.ok
    assert report.segments_checked == 0


def test_flipped_byte_in_a_value_is_tampered(tmp_path: Path, segment: Path) -> None:
    lines = _lines(segment)
    lines[3] = lines[3].replace(b'"tokens_in":102', b'"tokens_in":902')
    segment.write_bytes(b"".join(lines))
    report = verify(tmp_path)
    assert not report.ok
    assert [(f.kind, f.seq, f.line) for f in report.findings] == [("tampered", 3, 4)]


def test_flipped_byte_that_breaks_json_is_tampered(tmp_path: Path, segment: Path) -> None:
    raw = bytearray(segment.read_bytes())
    raw[len(_lines(segment)[0]) + 5] ^= 0x22  # inside line 2
    segment.write_bytes(bytes(raw))
    findings = verify(tmp_path).findings
    assert [(f.kind, f.line) for f in findings] == [("tampered", 2)]


def test_deleted_line_is_missing(tmp_path: Path, segment: Path) -> None:
    lines = _lines(segment)
    del lines[4]
    segment.write_bytes(b"".join(lines))
    findings = verify(tmp_path).findings
    assert [(f.kind, f.seq) for f in findings] == [("missing", 4)]


def test_swapped_lines_are_reordered(tmp_path: Path, segment: Path) -> None:
    lines = _lines(segment)
    lines[2], lines[3] = lines[3], lines[2]
    segment.write_bytes(b"".join(lines))
    findings = verify(tmp_path).findings
    assert [(f.kind, f.seq) for f in findings] == [("reordered", 2)]


def test_removed_trailing_lines_are_truncated(tmp_path: Path, segment: Path) -> None:
    segment.write_bytes(b"".join(_lines(segment)[:-3]))
    report = verify(tmp_path)
    assert not report.ok
    assert [(f.kind, f.seq) for f in report.findings] == [("truncated", 5)]


def test_file_cut_mid_line_is_truncated(tmp_path: Path, segment: Path) -> None:
    raw = segment.read_bytes()
    segment.write_bytes(raw[: len(raw) - 40])
    report = verify(tmp_path)
    assert not report.ok
    assert [(f.kind, f.seq) for f in report.findings] == [("truncated", 7)]


def test_line_spliced_from_another_segment_is_spliced(tmp_path: Path, segment: Path) -> None:
    other = _write_segment(tmp_path / "elsewhere")
    lines = _lines(segment)
    lines.insert(3, _lines(other)[3])
    segment.write_bytes(b"".join(lines))
    findings = verify(tmp_path).findings
    assert [(f.kind, f.line) for f in findings] == [("spliced", 4)]


def test_line_appended_after_segment_close_is_spliced(tmp_path: Path, segment: Path) -> None:
    lines = _lines(segment)
    event = json.loads(lines[-1])
    event.update(seq=event["seq"] + 1, prev_hash=event["hash"], kind="call")
    event["hash"] = event_hash(event)
    segment.write_bytes(b"".join(lines) + json.dumps(event).encode() + b"\n")
    assert [f.kind for f in verify(tmp_path).findings] == ["spliced"]


def test_edited_line_with_recomputed_hash_breaks_the_next_link(
    tmp_path: Path, segment: Path
) -> None:
    lines = _lines(segment)
    event = json.loads(lines[3])
    event["cost_usd"] = 0.0
    event["hash"] = event_hash(event)
    lines[3] = json.dumps(event).encode() + b"\n"
    segment.write_bytes(b"".join(lines))
    findings = verify(tmp_path).findings
    assert [(f.kind, f.seq) for f in findings] == [("tampered", 3)]


def test_rehashed_last_event_is_caught_by_the_head_record(tmp_path: Path) -> None:
    path = _write_segment(tmp_path, close=False)
    lines = _lines(path)
    event = json.loads(lines[-1])
    event["cost_usd"] = 0.0
    event["hash"] = event_hash(event)
    lines[-1] = json.dumps(event).encode() + b"\n"
    path.write_bytes(b"".join(lines))
    findings = _damage(verify(tmp_path).findings)
    assert [(f.kind, f.seq) for f in findings] == [("tampered", 6)]


def test_deleted_head_record_is_reported_missing(tmp_path: Path, segment: Path) -> None:
    segment.with_suffix(".head").unlink()
    report = verify(tmp_path)
    assert not report.ok
    assert [f.kind for f in report.findings] == ["missing"]


def test_segment_left_open_is_unclosed_but_ok(tmp_path: Path) -> None:
    _write_segment(tmp_path, close=False)
    report = verify(tmp_path)
    assert report.ok
    assert [(f.kind, f.damage) for f in report.findings] == [("unclosed", False)]


def _announce_pending(path: Path, line_hash: str) -> None:
    """Write the head as a writer does before a line: the line in flight is ``line_hash``."""
    head = HeadRecord.read(path.with_suffix(".head"))
    assert head is not None
    assert head.pending is None
    with path.with_suffix(".head").open("r+b") as handle:
        handle.write(HeadRecord(head.seq, head.hash, head.size, line_hash).encode())


def test_torn_tail_of_a_killed_writer_is_torn_but_ok(tmp_path: Path) -> None:
    path = _write_segment(tmp_path, close=False)
    _announce_pending(path, "c" * 64)  # the writer announced the line, then was killed in it
    with path.open("ab") as handle:
        handle.write(b'{"kind":"call","seq":7,"data":{"blob":"xxxx')
    report = verify(tmp_path)
    assert report.ok
    assert [f.kind for f in report.findings] == ["torn", "unclosed"]
    assert report.findings[0].seq == 7


def test_only_the_first_bad_event_of_a_segment_is_reported(tmp_path: Path, segment: Path) -> None:
    lines = _lines(segment)
    lines[2] = lines[2].replace(b'"attempt":1', b'"attempt":7')
    lines[5] = lines[5].replace(b'"attempt":4', b'"attempt":8')
    segment.write_bytes(b"".join(lines))
    findings = verify(tmp_path).findings
    assert [(f.kind, f.seq) for f in findings] == [("tampered", 2)]


def test_damage_in_one_segment_does_not_hide_another(tmp_path: Path) -> None:
    first, second = _write_segment(tmp_path), _write_segment(tmp_path)
    for path in (first, second):
        lines = _lines(path)
        del lines[2]
        path.write_bytes(b"".join(lines))
    findings = verify(tmp_path).findings
    assert sorted(f.segment for f in findings) == sorted(p.stem for p in (first, second))


def test_export_jsonl_copies_every_complete_line(tmp_path: Path, segment: Path) -> None:
    _write_segment(tmp_path, calls=2)
    target = tmp_path / "out" / "all.jsonl"
    assert export(tmp_path, target) == 8 + 4
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert all(event_hash(line) == line["hash"] for line in lines)


def test_export_parquet_is_readable_by_duckdb(tmp_path: Path, segment: Path) -> None:
    target = tmp_path / "all.parquet"
    assert export(tmp_path, target, "parquet") == 8
    con = duckdb.connect()
    rows = con.sql(f"SELECT count(*), sum(tokens_in) FROM '{target}' WHERE kind = 'call'")
    assert rows.fetchall() == [(6, 615)]


def test_export_skips_a_torn_line_with_a_warning(tmp_path: Path) -> None:
    path = _write_segment(tmp_path, close=False)
    with path.open("ab") as handle:
        handle.write(b'{"kind":"ca')
    with pytest.warns(LedgerWarning, match=path.name):
        assert export(tmp_path, tmp_path / "all.jsonl") == 7


def test_export_refuses_an_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(RequestError, match="'jsonl' or 'parquet'"):
        export(tmp_path, tmp_path / "x.csv", "csv")  # type: ignore[arg-type]


def test_segment_of_a_running_writer_is_unclosed_and_ok(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    ledger.append({"kind": "call"})
    try:
        report = verify(tmp_path)
    finally:
        ledger.close()
    assert report.ok
    assert [f.kind for f in report.findings] == ["unclosed"]
    assert "still running" in report.findings[0].message


def test_legacy_head_without_pending_still_accepts_one_unrecorded_line(tmp_path: Path) -> None:
    # Heads written before the pending field (99 bytes): one line past the head was accepted
    # then, and still is, so an old ledger does not turn red after an upgrade.
    path = _write_segment(tmp_path, close=False)
    lines = _lines(path)
    previous = json.loads(lines[-2])
    legacy = f"{previous['seq']:>12d} {previous['hash']:<64s} {len(b''.join(lines[:-1])):>20d}\n"
    path.with_suffix(".head").write_bytes(legacy.encode())
    head = HeadRecord.read(path.with_suffix(".head"))
    assert head is not None
    assert head.legacy
    report = verify(tmp_path)
    assert report.ok, str(report)
