"""Hash-chain primitives shared by the writer and the auditor.

A segment is a file of JSON lines. Each event carries ``segment``, ``seq``, ``prev_hash`` and
``hash``; ``hash`` is the SHA-256 of the event's canonical JSON without ``hash``, and the first
event's ``prev_hash`` is the SHA-256 of the segment id. Beside each segment, a fixed-width
*head* record (``<segment>.head``) holds the seq, hash and byte size after the last complete
append, so that an auditor can tell a file that lost its tail from one that never had it, and
the hash of the line being written (``pending``), so that a line appended by anyone but the
writer is told from the one line a killed writer may have written without updating its head.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quantumlayer_nb.ledger._syscalls import pwrite_holding_gil

__all__ = [
    "HEAD_SIZE",
    "HEAD_SUFFIX",
    "LEDGER_SUBDIR",
    "LEGACY_HEAD_SIZE",
    "OPEN_SEGMENTS",
    "SEGMENT_SUFFIX",
    "HeadRecord",
    "LedgerWarning",
    "canonical_json",
    "event_hash",
    "fsync_dir",
    "genesis_hash",
    "host_name",
    "ledger_dir",
    "segment_paths",
    "segment_writer",
    "writer_alive",
]

LEDGER_SUBDIR = "ledger"
SEGMENT_SUFFIX = ".jsonl"
HEAD_SUFFIX = ".head"

# seq (12, right-aligned) + space + sha256 hex (64) + space + size (20) + space + the pending
# line's sha256 hex, or 64 dashes (64) + newline. Heads written before the pending field were
# LEGACY_HEAD_SIZE bytes long; they are still read.
LEGACY_HEAD_SIZE = 12 + 1 + 64 + 1 + 20 + 1
HEAD_SIZE = LEGACY_HEAD_SIZE + 64 + 1
_NO_PENDING = "-" * 64


class LedgerWarning(UserWarning):
    """Something in the ledger was skipped or looks damaged; reading went on without it."""


def canonical_json(payload: dict[str, Any]) -> str:
    """Serialise a JSON-compatible dict the one way its hash is computed.

    Args:
        payload: The event as plain JSON types.

    Returns:
        JSON text with sorted keys, compact separators and non-ASCII kept as is.
    """
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(payload: dict[str, Any]) -> str:
    """Return the SHA-256 hex of an event's canonical JSON, ignoring its ``hash`` key.

    Args:
        payload: The event as plain JSON types, with or without ``hash``.

    Returns:
        64 lowercase hex characters.
    """
    body = {key: value for key, value in payload.items() if key != "hash"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def genesis_hash(segment: str) -> str:
    """Return the ``prev_hash`` of a segment's first event: the SHA-256 of its id."""
    return hashlib.sha256(segment.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class HeadRecord:
    """The writer's own record of how far a segment got.

    The writer updates it twice per event: before writing the line, ``pending`` names the
    hash of the line about to be written; after it, ``seq``/``hash``/``size`` move on and
    ``pending`` is cleared. A killed writer therefore leaves either no extra line, or one
    whose hash is ``pending``; any other line after ``seq`` was written by someone else.

    Attributes:
        seq: Seq of the last complete event, -1 before the first.
        hash: Hash of that event (the genesis hash before the first).
        size: Byte size of the segment file right after that event's line.
        pending: Hash of the line being written after it, or None between appends.
        legacy: True for a record in the older format, which had no ``pending`` field.
    """

    seq: int
    hash: str
    size: int
    pending: str | None = None
    legacy: bool = False

    def encode(self) -> bytes:
        """Return the fixed-width record written in place at offset 0."""
        pending = self.pending or _NO_PENDING
        return f"{self.seq:>12d} {self.hash:<64s} {self.size:>20d} {pending}\n".encode("ascii")

    def write(self, fd: int) -> None:
        """Overwrite the record in place at offset 0 of the head file ``fd``."""
        if hasattr(os, "pwrite"):
            pwrite_holding_gil(fd, self.encode(), 0)
        else:  # Windows has no pwrite; the ledger lock serialises this descriptor anyway.
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, self.encode())

    @classmethod
    def decode(cls, raw: bytes) -> HeadRecord | None:
        """Parse a record (either format); return None if it is not a well-formed one."""
        match = re.fullmatch(rb" *(-?\d+) ([0-9a-f]{64}) +(\d+)(?: ([0-9a-f]{64}|-{64}))?\n", raw)
        if match is None:
            return None
        pending = match[4].decode("ascii") if match[4] is not None else None
        return cls(
            int(match[1]),
            match[2].decode("ascii"),
            int(match[3]),
            pending=None if pending in (None, _NO_PENDING) else pending,
            legacy=match[4] is None,
        )

    @classmethod
    def read(cls, path: Path) -> HeadRecord | None:
        """Read the head record at ``path``; None if missing or unreadable."""
        try:
            with path.open("rb") as handle:
                return cls.decode(handle.read(HEAD_SIZE + 1))
        except OSError:
            return None


def ledger_dir(data_dir: Path) -> Path:
    """Return the folder holding the segments of ``data_dir``."""
    return Path(data_dir) / LEDGER_SUBDIR


def segment_paths(data_dir: Path) -> list[Path]:
    """Return every segment file of ``data_dir``, sorted by name (creation time first)."""
    folder = ledger_dir(data_dir)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith(SEGMENT_SUFFIX))


def segment_writer(segment: str) -> tuple[str, int] | None:
    """Return ``(host, pid)`` encoded in a segment id, or None if it does not parse.

    Segment ids read ``<yyyymmddTHHMMSS>-<host>-<pid>-<6 hex>``; the host may hold dashes.
    """
    match = re.fullmatch(r"\d{8}T\d{6}-(.+)-(\d+)-[0-9a-f]{6}", segment)
    if match is None:
        return None
    return match[1], int(match[2])


OPEN_SEGMENTS: set[str] = set()
"""Segments this process's ledgers are writing now (maintained by ``Ledger``)."""


def writer_alive(segment: str) -> bool | None:
    """Tell whether the process that writes ``segment`` is still running.

    Returns:
        True or False when the writer ran on this host, None when that cannot be known
        (another host, a name that does not parse, or a platform without a harmless probe).
    """
    writer = segment_writer(segment)
    if writer is None or os.name != "posix":  # os.kill(pid, 0) terminates on Windows
        return None
    host, pid = writer
    if host != host_name():
        return None
    if pid == os.getpid():  # this process: alive only while a Ledger here still writes it
        return segment in OPEN_SEGMENTS
    from quantumlayer_nb.jobs import pid_alive

    return pid_alive(pid)


def host_name() -> str:
    """Return this host's name as it appears in segment ids."""
    raw = socket.gethostname() or "host"
    return "".join(c if c.isalnum() or c in ".-" else "_" for c in raw)[:63]


def fsync_dir(folder: Path) -> None:
    """fsync a directory so a new file's entry survives a power cut (where the OS allows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # directories cannot be opened on some platforms
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
