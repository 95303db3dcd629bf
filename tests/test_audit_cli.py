"""``qlayer audit``: the real command line, on a ledger written by real ``generate`` calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from quantumlayer_nb import generate
from quantumlayer_nb.config import get_settings
from quantumlayer_nb.ledger import ledger_for

QLAYER = [sys.executable, "-c", "from quantumlayer_nb.cli import main; main()"]


def qlayer(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``qlayer`` command line in a separate process, in the project folder."""
    return subprocess.run(
        [*QLAYER, *args],
        cwd=project,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def segments(loop_project: Path) -> list[Path]:
    """Two closed segments of three generate calls each (five lines with open and close)."""
    data_dir = get_settings().data_path
    paths = []
    for batch in range(2):
        for i in range(3):
            generate(f"add {batch} and {i}", max_tokens=50)
        ledger = ledger_for(data_dir)
        assert ledger.path is not None
        paths.append(ledger.path)
        ledger.close()
    return paths


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _seq_of(line: bytes) -> int:
    return int(json.loads(line)["seq"])


def _segment_id(path: Path) -> str:
    return path.name.removesuffix(".jsonl")


def _assert_damage_named(
    result: subprocess.CompletedProcess[str], kind: str, segment: Path, seq: int
) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "DAMAGED" in result.stdout
    assert f"[{kind}] {_segment_id(segment)} seq {seq}" in result.stdout
    assert "Traceback" not in result.stderr


def test_intact_ledger_verifies_with_exit_code_0(loop_project: Path, segments: list[Path]) -> None:
    result = qlayer(loop_project, "audit", "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ledger ok" in result.stdout
    assert "in 2 segments" in result.stdout


def test_verify_json_reports_ok_and_counts(loop_project: Path, segments: list[Path]) -> None:
    result = qlayer(loop_project, "audit", "verify", "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0
    assert report["ok"] is True
    assert report["segments_checked"] == 2
    assert report["events_checked"] == 10  # per segment: open + 3 calls + close


def test_flipped_byte_is_named_tampered(loop_project: Path, segments: list[Path]) -> None:
    target = segments[1]
    lines = _lines(target)
    assert b'"outcome":"ok"' in lines[2]
    lines[2] = lines[2].replace(b'"outcome":"ok"', b'"outcome":"oK"', 1)
    target.write_bytes(b"".join(lines))
    _assert_damage_named(qlayer(loop_project, "audit", "verify"), "tampered", target, 2)


def test_deleted_line_is_named_missing(loop_project: Path, segments: list[Path]) -> None:
    target = segments[0]
    lines = _lines(target)
    del lines[2]
    target.write_bytes(b"".join(lines))
    _assert_damage_named(qlayer(loop_project, "audit", "verify"), "missing", target, 2)


def test_swapped_lines_are_named_reordered(loop_project: Path, segments: list[Path]) -> None:
    target = segments[0]
    lines = _lines(target)
    lines[1], lines[2] = lines[2], lines[1]
    target.write_bytes(b"".join(lines))
    _assert_damage_named(qlayer(loop_project, "audit", "verify"), "reordered", target, 1)


def test_truncated_file_is_named_truncated(loop_project: Path, segments: list[Path]) -> None:
    target = segments[1]
    lines = _lines(target)
    target.write_bytes(b"".join(lines[:3]))
    _assert_damage_named(qlayer(loop_project, "audit", "verify"), "truncated", target, 3)


def test_file_cut_mid_line_is_named_truncated(loop_project: Path, segments: list[Path]) -> None:
    target = segments[0]
    raw = target.read_bytes()
    target.write_bytes(raw[: len(raw) - 40])  # inside the closing event
    _assert_damage_named(qlayer(loop_project, "audit", "verify"), "truncated", target, 4)


def test_line_spliced_from_another_segment_is_named(
    loop_project: Path, segments: list[Path]
) -> None:
    target, other = segments
    lines = _lines(target)
    lines.insert(2, _lines(other)[2])
    target.write_bytes(b"".join(lines))
    result = qlayer(loop_project, "audit", "verify")
    _assert_damage_named(result, "spliced", target, 2)
    assert _segment_id(other) in result.stdout  # where the line came from


def test_only_the_damaged_segment_is_reported(loop_project: Path, segments: list[Path]) -> None:
    lines = _lines(segments[0])
    del lines[3]
    segments[0].write_bytes(b"".join(lines))
    report = json.loads(qlayer(loop_project, "audit", "verify", "--json").stdout)
    damaged = {f["segment"] for f in report["findings"] if f["damage"]}
    assert report["ok"] is False
    assert damaged == {_segment_id(segments[0])}
    assert [f["seq"] for f in report["findings"]] == [3]


def test_verify_json_exit_code_is_1_on_damage(loop_project: Path, segments: list[Path]) -> None:
    segments[0].write_bytes(b"".join(_lines(segments[0])[:-1]))
    result = qlayer(loop_project, "audit", "verify", "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["findings"][0]["kind"] == "truncated"


def test_export_jsonl_copies_every_event_line(
    loop_project: Path, segments: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "export" / "ledger.jsonl"
    result = qlayer(loop_project, "audit", "export", "--format", "jsonl", "--out", str(out))
    assert result.returncode == 0, result.stderr
    exported = out.read_bytes().splitlines(keepends=True)
    first, second = sorted(segments)  # segments are exported in name order
    assert exported == _lines(first) + _lines(second)
    assert "exported 10 events" in result.stdout


def test_export_parquet_json_summary_matches_the_file(
    loop_project: Path, segments: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "ledger.parquet"
    result = qlayer(
        loop_project, "audit", "export", "--format", "parquet", "--out", str(out), "--json"
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    path = str(out).replace("'", "''")
    calls = duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}') WHERE kind = 'call'")
    assert summary["format"] == "parquet"
    assert summary["events"] == 10
    assert calls.fetchall()[0][0] == 6


def test_export_rejects_an_unknown_format(loop_project: Path, tmp_path: Path) -> None:
    result = qlayer(loop_project, "audit", "export", "--format", "csv", "--out", "x.csv")
    assert result.returncode == 2
    assert "csv" in result.stderr
    assert not (loop_project / "x.csv").exists()


def test_unreadable_segment_is_a_clear_error(loop_project: Path, segments: list[Path]) -> None:
    if os.geteuid() == 0:
        segments[0].unlink()
        segments[0].mkdir()  # reading a folder fails for root too
    else:
        segments[0].chmod(0)
    result = qlayer(loop_project, "audit", "verify")
    assert result.returncode == 1
    assert result.stderr.startswith("error: LedgerError: Could not read ledger segment")
    assert "Traceback" not in result.stderr
