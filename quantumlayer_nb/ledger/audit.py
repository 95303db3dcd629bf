"""Check the ledger's hash chains and export its events.

``verify`` walks every segment line by line and names the first bad event of each: an
edited or damaged line, a deleted one, two swapped, lines spliced in from elsewhere, or a
tail cut off (compared with the writer's head record). A segment that was never closed is
reported for information only. See ``docs/ledger.md`` for what this can and cannot prove.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from quantumlayer_nb.errors import LedgerError
from quantumlayer_nb.ledger._chain import (
    HEAD_SUFFIX,
    SEGMENT_SUFFIX,
    HeadRecord,
    event_hash,
    genesis_hash,
    ledger_dir,
    segment_paths,
    writer_alive,
)
from quantumlayer_nb.ledger._export import export

__all__ = ["AuditFinding", "AuditReport", "anchor", "export", "verify"]

FindingKind = Literal[
    "tampered", "missing", "reordered", "truncated", "torn", "spliced", "unclosed"
]


class AuditFinding(BaseModel):
    """One problem (or, if ``damage`` is False, one remark) about one segment."""

    store: Literal["ledger", "cache"] = Field(
        default="ledger", description="Which store the file belongs to."
    )
    segment: str = Field(
        description="Ledger: segment id (its file name without .jsonl); cache: the segment's "
        "file name."
    )
    key: str | None = Field(default=None, description="Cache entry key, for a cache finding.")
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
    cache_segments_checked: int = Field(default=0, description="Cache segment files read.")
    cache_entries_checked: int = Field(
        default=0, description="Cache entries whose content hash verified."
    )
    anchored: bool = Field(default=False, description="Whether an anchor was checked too.")
    findings: list[AuditFinding] = Field(default_factory=list, description="Per segment.")

    def __str__(self) -> str:
        ledger = [f for f in self.findings if f.store == "ledger"]
        cache = [f for f in self.findings if f.store == "cache"]
        verdict = "DAMAGED" if any(f.damage for f in ledger) else "ok"
        counts = f"{self.events_checked} events in {self.segments_checked} segments"
        anchored = ", checked against the anchor" if self.anchored else ""
        lines = [f"ledger {verdict}: {counts}{anchored}"]
        for f in ledger:
            where = f" seq {f.seq}" if f.seq is not None else ""
            where += f" line {f.line}" if f.line is not None else ""
            lines.append(f"  [{f.kind}] {f.segment}{where}: {f.message}")
        if self.cache_segments_checked or cache:
            verdict = "DAMAGED" if any(f.damage for f in cache) else "ok"
            lines.append(
                f"cache {verdict}: {self.cache_entries_checked} entries in "
                f"{self.cache_segments_checked} segments"
            )
            for f in cache:
                where = f" line {f.line}" if f.line is not None else ""
                where += f" key {f.key}" if f.key is not None else ""
                lines.append(f"  [{f.kind}] cache/{f.segment}{where}: {f.message}")
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
        quiet = not self.alive  # a running writer may have written more since the head was read
        if quiet and head is not None and (head.seq < last_seq or self.tail):
            # A writer on another host (alive unknown) may have moved on between reading the
            # head and reading the file: take its newer head if it covers what the file holds.
            fresh = HeadRecord.read(self.path.with_name(self.segment + HEAD_SUFFIX))
            if fresh is not None and head.seq < fresh.seq <= last_seq:
                head = fresh
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
        elif quiet and (foreign := self._first_foreign(head, last_seq)) is not None:
            self.finding(
                "spliced",
                f"{self.segment}{SEGMENT_SUFFIX} holds events from seq {foreign} on that its "
                f"writer never wrote: its head record names seq {head.seq} as the last "
                "event, and no line of that hash was being written. They were appended by "
                "someone else (a forged event has a valid seq, prev_hash and hash).",
                seq=foreign,
                line=foreign + 1,
            )
            return
        if self.tail and self._tail_is_foreign(head, last_seq):
            after = (
                "segment_close"
                if self.closed
                else f"the last event its writer recorded (seq {last_seq})"
            )
            self.finding(
                "spliced",
                f"{len(self.tail)} bytes without a newline follow {after} at the end of "
                f"{self.segment}{SEGMENT_SUFFIX}, and no line was being written: they were "
                "added after the writer wrote its last event.",
                seq=last_seq + 1,
                line=line,
            )
            return
        if self.tail and quiet:  # a running writer's last line may be in flight
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

    def _first_foreign(self, head: HeadRecord, last_seq: int) -> int | None:
        """The first seq after the head that the writer did not write, if any.

        A writer killed between a line and its head update leaves one line more than its
        head records; the head's ``pending`` field holds that line's hash. Heads in the
        legacy format had no such field, so one extra line is accepted from them unchecked.
        """
        if last_seq <= head.seq:
            return None
        if head.legacy:
            return head.seq + 2 if last_seq > head.seq + 1 else None
        if head.pending != self.hashes[head.seq + 1]:
            return head.seq + 1
        return head.seq + 2 if last_seq > head.seq + 1 else None

    def _tail_is_foreign(self, head: HeadRecord | None, last_seq: int) -> bool:
        """Whether an incomplete last line cannot be a killed writer's line in flight."""
        if self.closed:
            return True  # nothing is written after segment_close
        if head is None or head.legacy or self.alive:
            return False
        # The line in flight is the one after the head's seq, announced by ``pending``.
        return head.pending is None or last_seq != head.seq


def _orphan_heads(data_dir: Path, segments: list[Path]) -> list[AuditFinding]:
    """Head records whose segment file is gone: the segment was deleted."""
    folder = ledger_dir(data_dir)
    if not folder.is_dir():
        return []
    present = {p.name[: -len(SEGMENT_SUFFIX)] for p in segments}
    findings = []
    for path in sorted(folder.glob(f"*{HEAD_SUFFIX}")):
        segment = path.name[: -len(HEAD_SUFFIX)]
        if segment in present or (folder / f"{segment}{SEGMENT_SUFFIX}").exists():
            continue  # listed, or opened by a running writer after the segments were listed
        head = HeadRecord.read(path)
        if head is not None and head.seq < 0 and writer_alive(segment):
            continue  # its writer made the head and is about to make the segment file
        recorded = f" (its head recorded seq {head.seq})" if head is not None else ""
        findings.append(
            AuditFinding(
                segment=segment,
                seq=head.seq if head is not None and head.seq >= 0 else None,
                kind="missing",
                message=f"the segment file {segment}{SEGMENT_SUFFIX} is gone but its head "
                f"record {path.name} remains{recorded}: the segment was deleted. Restore it "
                "from a backup.",
            )
        )
    return findings


def verify(
    data_dir: Path, *, anchor: Mapping[str, Any] | None = None, cache: bool = True
) -> AuditReport:
    """Walk every segment's hash chain and report the first bad event of each.

    Args:
        data_dir: The project's data folder (segments are in ``data_dir/ledger/``).
        anchor: An anchor made earlier by ``anchor`` (and kept where the ledger's writers
            cannot change it): every segment it names must still hold the anchored event.
        cache: Also check every entry of the cache store (``data_dir/cache/``) against its
            content hash.

    Returns:
        An ``AuditReport``; ``ok`` is False if any finding is damage.

    Raises:
        LedgerError: A segment file could not be read, or the anchor is malformed.
    """
    findings: list[AuditFinding] = []
    paths = segment_paths(data_dir)
    events_checked = 0
    walks: dict[str, _Walk] = {}
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
        walks[walk.segment] = walk
    orphans = _orphan_heads(data_dir, paths)
    findings.extend(orphans)
    if anchor is not None:
        from quantumlayer_nb.ledger._anchor import check_anchor

        findings.extend(check_anchor(anchor, {k: w.hashes for k, w in walks.items()}))
    cache_segments = cache_entries = 0
    if cache:
        from quantumlayer_nb.cache._integrity import verify_store

        store = verify_store(data_dir)
        cache_segments, cache_entries = store.segments, store.entries
        findings.extend(
            AuditFinding(store="cache", segment=p.file, line=p.line, key=p.key,
                         kind=p.kind, message=p.message, damage=p.damage)
            for p in store.problems
        )
    return AuditReport(
        ok=not any(f.damage for f in findings),
        segments_checked=len(paths) + len(orphans),
        events_checked=events_checked,
        cache_segments_checked=cache_segments,
        cache_entries_checked=cache_entries,
        anchored=anchor is not None,
        findings=findings,
    )


def anchor(data_dir: Path) -> dict[str, Any]:
    """Record where every segment's chain stands now, to keep or publish elsewhere.

    The anchor names each segment's last verified event (seq and hash) and carries a digest
    of itself. Kept where the ledger's writers cannot write (a signed commit, a ticket, an
    append-only store), it lets ``verify(anchor=...)`` prove later that none of those
    events, nor any before them, was rewritten or removed, even by someone who rewrote a
    whole segment and its head record consistently.

    Returns:
        The anchor document: ``{"v", "created", "segments": [{"segment", "seq", "hash"}],
        "digest"}``.

    Raises:
        LedgerError: The ledger is damaged now (``verify`` says where); nothing is anchored.
    """
    from quantumlayer_nb.ledger._anchor import make_anchor

    report = verify(data_dir, cache=False)
    if not report.ok:
        raise LedgerError(
            "The ledger is damaged, so it cannot be anchored: run qlayer audit verify to see "
            "where, and restore the named segments first."
        )
    heads: dict[str, tuple[int, str]] = {}
    for path in segment_paths(data_dir):
        walk = _Walk(path)
        if walk.chain() and walk.hashes:
            heads[walk.segment] = (len(walk.hashes) - 1, walk.hashes[-1])
    return make_anchor(heads)
