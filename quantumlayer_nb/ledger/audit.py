"""Check the ledger's hash chains and export its events.

``verify`` walks every segment line by line and names the first bad event of each: an
edited or damaged line, a deleted one, two swapped, lines spliced in from elsewhere, or a
tail cut off (compared with the writer's head record). A segment that was never closed is
reported for information only. See ``docs/ledger.md`` for what this can and cannot prove.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from quantumlayer_nb.errors import LedgerError, RequestError
from quantumlayer_nb.ledger._chain import (
    HEAD_SUFFIX,
    SEGMENT_SUFFIX,
    HeadRecord,
    event_hash,
    genesis_hash,
    segment_paths,
    writer_alive,
)
from quantumlayer_nb.ledger.query import _source_sql, _warn_torn

__all__ = ["AuditFinding", "AuditReport", "export", "verify"]

FindingKind = Literal[
    "tampered", "missing", "reordered", "truncated", "torn", "spliced", "unclosed"
]


class AuditFinding(BaseModel):
    """One problem (or, if ``damage`` is False, one remark) about one segment."""

    segment: str = Field(description="Segment id (its file name without .jsonl).")
    seq: int | None = Field(default=None, description="Seq of the first bad event, if known.")
    line: int | None = Field(default=None, description="1-based line number in the segment.")
    kind: FindingKind = Field(description="What went wrong.")
    message: str = Field(description="What was found and what it means.")
    damage: bool = Field(
        default=True,
        description="True if events were lost or altered; False for remarks (a segment left "
        "open, the torn last line of a killed writer).",
    )


class AuditReport(BaseModel):
    """The result of ``verify``: ``ok`` is True when no finding is damage."""

    ok: bool = Field(description="True if every complete event is intact and in place.")
    segments_checked: int = Field(description="Number of segment files walked.")
    events_checked: int = Field(description="Number of events whose chain verified.")
    findings: list[AuditFinding] = Field(default_factory=list, description="Per segment.")

    def __str__(self) -> str:
        verdict = "ok" if self.ok else "DAMAGED"
        counts = f"{self.events_checked} events in {self.segments_checked} segments"
        lines = [f"ledger {verdict}: {counts}"]
        for f in self.findings:
            where = f" seq {f.seq}" if f.seq is not None else ""
            where += f" line {f.line}" if f.line is not None else ""
            lines.append(f"  [{f.kind}] {f.segment}{where}: {f.message}")
        return "\n".join(lines)


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class _Walk:
    """The state of walking one segment's chain."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.segment = path.name[: -len(SEGMENT_SUFFIX)]
        # The head first: a live writer updates it after each line, so read in this order the
        # head never runs ahead of the file.
        self.head = HeadRecord.read(path.with_name(self.segment + HEAD_SUFFIX))
        self.alive = writer_alive(self.segment)
        raw = path.read_bytes()
        self.size = len(raw)
        self.lines = raw.split(b"\n")
        self.tail = self.lines.pop()  # b"" when the file ends with a newline
        self.hashes: list[str] = []
        self.closed = False
        self.findings: list[AuditFinding] = []

    def finding(self, kind: FindingKind, message: str, **where: Any) -> None:
        damage = kind not in ("unclosed", "torn")
        self.findings.append(
            AuditFinding(segment=self.segment, kind=kind, message=message, damage=damage, **where)
        )

    def chain(self) -> bool:
        """Walk the complete lines; record the first break and return False on one."""
        expected_prev = genesis_hash(self.segment)
        for index, raw in enumerate(self.lines):
            line, seq = index + 1, len(self.hashes)
            event = _parse(raw)
            if event is None:
                self.finding(
                    "tampered",
                    f"line {line} is not valid JSON: it was damaged or edited.",
                    seq=seq,
                    line=line,
                )
                return False
            if event_hash(event) != event.get("hash"):
                self.finding(
                    "tampered",
                    f"line {line} does not match its own hash: it was edited after it was written.",
                    seq=seq,
                    line=line,
                )
                return False
            if event.get("segment") != self.segment:
                self.finding(
                    "spliced",
                    f"line {line} belongs to segment "
                    f"{event.get('segment')!r}: it was copied in from elsewhere.",
                    seq=seq,
                    line=line,
                )
                return False
            if self.closed:
                self.finding(
                    "spliced",
                    f"line {line} comes after segment_close: it was added "
                    "after the writer closed the segment.",
                    seq=seq,
                    line=line,
                )
                return False
            if event.get("seq") != seq:
                self._misplaced(event.get("seq"), seq, line)
                return False
            if event.get("prev_hash") != expected_prev:
                before = f"event seq {seq - 1} (line {line - 1})" if seq else "the segment id"
                self.finding(
                    "tampered",
                    f"line {line} does not chain from {before}: that "
                    "event was replaced or re-hashed.",
                    seq=max(seq - 1, 0),
                    line=max(line - 1, 1),
                )
                return False
            expected_prev = event["hash"]
            self.hashes.append(expected_prev)
            self.closed = event.get("kind") == "segment_close"
        return True

    def _misplaced(self, found: object, expected: int, line: int) -> None:
        later = (_parse(raw) for raw in self.lines[line:])
        if (isinstance(found, int) and found < expected) or any(
            e is not None and e.get("seq") == expected for e in later
        ):
            self.finding(
                "reordered",
                f"line {line} holds seq {found} where seq {expected} belongs: events were moved.",
                seq=expected,
                line=line,
            )
        else:
            self.finding(
                "missing",
                f"line {line} holds seq {found} but seq {expected} is "
                "nowhere: events were deleted.",
                seq=expected,
                line=line,
            )

    def tail_and_head(self) -> None:
        """Compare the end of the file with the writer's head record."""
        last_seq, line = len(self.hashes) - 1, len(self.lines) + 1
        head = self.head
        if head is None:
            if self.size:
                self.finding(
                    "missing",
                    f"the head record {self.segment}{HEAD_SUFFIX} is "
                    "missing or unreadable, so a cut-off tail cannot be ruled out. "
                    "Restore it with the segment from a backup.",
                )
                return
        elif head.seq > last_seq:
            self.finding(
                "truncated",
                f"the file ends at seq {last_seq} ({self.size} bytes) "
                f"but its writer recorded seq {head.seq} ({head.size} bytes): the "
                "end of the segment was cut off.",
                seq=last_seq + 1,
                line=line,
            )
            return
        elif head.seq >= 0 and self.hashes[head.seq] != head.hash:
            self.finding(
                "tampered",
                f"event seq {head.seq} differs from the one its writer "
                "recorded in the head: it was replaced and re-hashed.",
                seq=head.seq,
                line=head.seq + 1,
            )
            return
        # A writer may die between a line and its head update (lag 1); a running one may have
        # written more since the head was read.
        elif head.seq < last_seq - 1 and not self.alive:
            self.finding(
                "spliced",
                f"events after seq {head.seq + 1} were not written by the segment's writer.",
                seq=head.seq + 2,
                line=head.seq + 3,
            )
            return
        if self.tail and not self.alive:  # a running writer's last line may be in flight
            self.finding(
                "torn",
                f"line {line} is incomplete ({len(self.tail)} bytes, no "
                "newline): its writer was killed while writing it, so that event "
                "was never recorded.",
                seq=last_seq + 1,
                line=line,
            )
        if not self.closed:
            why = (
                "its writer is still running"
                if self.alive
                else "its writer stopped without closing it (killed or crashed)"
            )
            self.finding(
                "unclosed",
                f"{why}; events up to seq {last_seq} are intact.",
                seq=last_seq if last_seq >= 0 else None,
            )


def verify(data_dir: Path) -> AuditReport:
    """Walk every segment's hash chain and report the first bad event of each.

    Args:
        data_dir: The project's data folder (segments are in ``data_dir/ledger/``).

    Returns:
        An ``AuditReport``; ``ok`` is False if any finding is damage.

    Raises:
        LedgerError: A segment file could not be read.
    """
    findings: list[AuditFinding] = []
    paths = segment_paths(data_dir)
    events_checked = 0
    for path in paths:
        try:
            walk = _Walk(path)
        except OSError as err:
            raise LedgerError(
                f"Could not read ledger segment {path}: {err}. Check its permissions."
            ) from err
        if walk.chain():
            walk.tail_and_head()
        events_checked += len(walk.hashes)
        findings.extend(walk.findings)
    return AuditReport(
        ok=not any(f.damage for f in findings),
        segments_checked=len(paths),
        events_checked=events_checked,
        findings=findings,
    )


def export(data_dir: Path, path: Path, format: Literal["jsonl", "parquet"] = "jsonl") -> int:
    """Write every complete event of the ledger to one file.

    ``jsonl`` copies the original lines, segment by segment, so the export still verifies
    line by line; ``parquet`` writes the typed ``events`` view through duckdb ``COPY``.

    Args:
        data_dir: The project's data folder.
        path: The file to write (replaced if it exists).
        format: ``"jsonl"`` or ``"parquet"``.

    Returns:
        The number of events written.

    Raises:
        RequestError: ``format`` is neither ``"jsonl"`` nor ``"parquet"``.
        LedgerError: The file could not be written.
    """
    if format not in ("jsonl", "parquet"):
        raise RequestError(f"export(format={format!r}): choose 'jsonl' or 'parquet'.")
    _warn_torn(segment_paths(data_dir), stacklevel=2)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        count = (
            _export_jsonl(data_dir, tmp) if format == "jsonl" else _export_parquet(data_dir, tmp)
        )
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise LedgerError(f"Could not export the ledger to {path}: {err}.") from err
    return count


def _export_jsonl(data_dir: Path, target: Path) -> int:
    count = 0
    with target.open("wb") as out:
        for segment in segment_paths(data_dir):
            *complete, _tail = segment.read_bytes().split(b"\n")
            for raw in complete:
                if _parse(raw) is not None:
                    out.write(raw + b"\n")
                    count += 1
    return count


def _export_parquet(data_dir: Path, target: Path) -> int:
    import duckdb

    con = duckdb.connect()
    source = _source_sql(data_dir, segment_paths(data_dir))
    escaped = str(target).replace("'", "''")
    con.execute(f"COPY ({source} ORDER BY ts, segment, seq) TO '{escaped}' (FORMAT parquet)")
    return int(con.sql(f"SELECT count(*) FROM read_parquet('{escaped}')").fetchall()[0][0])
