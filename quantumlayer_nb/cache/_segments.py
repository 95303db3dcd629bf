"""The cache's append-only store: one JSON-lines segment per process under ``data_dir/cache/``.

Like the ledger, each process appends whole lines with one ``os.write`` on an ``O_APPEND``
descriptor to a file no other process writes, so no lock is ever held across processes;
every process reads every segment. Unlike the ledger, lines are not hash-chained (entries
are independent and compaction drops some), but each entry carries ``sha256``, the hash of
its own content, checked on every read: an entry edited after it was written, or one without
the hash, is rejected and never served.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import time
import warnings
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from quantumlayer_nb.errors import QLayerError
from quantumlayer_nb.ledger._chain import canonical_json, host_name
from quantumlayer_nb.ledger._syscalls import write_holding_gil

__all__ = [
    "CACHE_SUBDIR",
    "SEGMENT_SUFFIX",
    "CacheStoreError",
    "CacheWarning",
    "Rejected",
    "SegmentWriter",
    "cache_dir",
    "compact",
    "encode_line",
    "new_segment_name",
    "read_new_entries",
    "seal",
    "sealed",
]

CACHE_SUBDIR = "cache"
SEGMENT_SUFFIX = ".jsonl"


class CacheStoreError(QLayerError):
    """The cache store could not be written (the answer itself is still returned)."""


class CacheWarning(UserWarning):
    """A cache segment line was unreadable and skipped; reading went on without it."""


SEAL_FIELD = "sha256"


def seal(record: dict[str, Any]) -> str:
    """The content hash of a record: SHA-256 hex of its canonical JSON without ``sha256``.

    Hashed as the bytes written (UTF-8, an unencodable character replaced), so that the
    line read back hashes alike.
    """
    body = {k: v for k, v in record.items() if k != SEAL_FIELD}
    return hashlib.sha256(canonical_json(body).encode("utf-8", "replace")).hexdigest()


def sealed(record: dict[str, Any]) -> bool:
    """Whether ``record`` carries a content hash and still matches it."""
    digest = record.get(SEAL_FIELD)
    return isinstance(digest, str) and digest == seal(record)


_SEAL_TAIL = len(',"sha256":"') + 64 + len('"}')


def encode_line(record: dict[str, Any]) -> bytes:
    """One segment line: the canonical JSON of ``record`` with its content hash added last.

    The hash is of the bytes before it (the canonical JSON without ``sha256``), so a reader
    checks a line by hashing a slice of it, without serialising the record again.
    """
    body = canonical_json({k: v for k, v in record.items() if k != SEAL_FIELD})
    raw = body.encode("utf-8", "replace")
    digest = hashlib.sha256(raw).hexdigest()
    return raw[:-1] + b',"sha256":"' + digest.encode("ascii") + b'"}\n'


def _raw_seal_matches(raw: bytes) -> bool | None:
    """Check a line written by ``encode_line`` on its bytes; None if not in that shape."""
    tail = raw[-_SEAL_TAIL:]
    if len(raw) <= _SEAL_TAIL or not tail.startswith(b',"sha256":"') or not raw.endswith(b'"}'):
        return None
    body = raw[:-_SEAL_TAIL] + b"}"
    return hashlib.sha256(body).hexdigest().encode("ascii") == tail[11:75]


@dataclass(frozen=True)
class Rejected:
    """A complete cache line that is not served: it failed its content check.

    Attributes:
        file: The segment's file name.
        line: 1-based line number in that file.
        key: The entry's key as written on the line, if it has one.
        reason: What was wrong.
    """

    file: str
    line: int
    key: str | None
    reason: str


def check_line(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """Parse one complete line: ``(record, None)`` if sealed, else ``(record or None, reason)``."""
    try:
        record = json.loads(raw)
    except ValueError:
        return None, "is not valid JSON (damaged, or cut short)"
    if not isinstance(record, dict):
        return None, "is not a JSON object"
    if SEAL_FIELD not in record:
        return record, "has no content hash (edited, or written by an older version)"
    matches = _raw_seal_matches(raw)
    if not (sealed(record) if matches is None else matches):
        return record, "does not match its content hash: it was edited after it was written"
    return record, None


def cache_dir(data_dir: Path) -> Path:
    """Return the folder holding the cache segments of ``data_dir``."""
    return Path(data_dir) / CACHE_SUBDIR


def new_segment_name() -> str:
    """A fresh segment file name: ``<UTC time>-<host>-<pid>-<6 hex>.jsonl``, as the ledger's."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{host_name()}-{os.getpid()}-{secrets.token_hex(3)}{SEGMENT_SUFFIX}"


class SegmentWriter:
    """Appends entries to this process's own segment; opens it on the first write.

    Not thread-safe on its own: the owning ``ResponseCache`` holds its lock around ``append``.
    A forked child notices the pid change and opens a segment of its own.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._pid = os.getpid()
        self._fd: int | None = None
        self.name: str | None = None

    def append(self, record: dict[str, Any]) -> int:
        """Write ``record`` as one JSON line before returning the number of bytes written.

        Raises:
            CacheStoreError: The segment could not be created or written.
        """
        if self._pid != os.getpid():
            self._pid, self._fd, self.name = os.getpid(), None, None  # never write the parent's
        if self._fd is None:
            self._open()
        assert self._fd is not None
        line = encode_line(record)
        try:
            # Written with the GIL held (as the ledger's lines are): a store follows the
            # provider call, and an os.write that releases the GIL then hands it to
            # litellm's logging thread, so the caller waits for litellm's bookkeeping.
            written = write_holding_gil(self._fd, line)
            while written < len(line):  # only on a full disk or a signal: finish the line
                written += os.write(self._fd, line[written:])
        except OSError as err:
            self.close()
            raise CacheStoreError(
                f"Could not write cache segment {self.folder / str(self.name)}: {err}. Check "
                "that the data folder is writable and the disk is not full."
            ) from err
        return len(line)

    def _open(self) -> None:
        name = new_segment_name()
        flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.folder / name, flags | getattr(os, "O_BINARY", 0), 0o644)
        except OSError as err:
            raise CacheStoreError(
                f"Could not create a cache segment in {self.folder}: {err}. Check that the "
                "data folder exists and is writable, or set [cache] store = false."
            ) from err
        self.name = name

    def close(self) -> None:
        """Close the segment; the next append opens a new one."""
        if self._fd is not None and self._pid == os.getpid():
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd, self.name = None, None


def read_new_entries(
    folder: Path,
    cursor: dict[str, int],
    *,
    only: Collection[str] | None = None,
    rejected: list[Rejected] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Return the sealed lines appended to any segment since ``cursor``, and the new cursor.

    Costs one directory listing and one ``stat`` per segment when nothing changed; a line
    still being written (no newline yet) is left for the next call. A line that is not JSON
    or fails its content hash is left out: it is added to ``rejected`` when a list is given,
    else reported with a ``CacheWarning``.

    Args:
        folder: The cache folder (``data_dir/cache``).
        cursor: Segment file name -> byte offset already read.
        only: Read only these segment file names (default: all).
        rejected: Where to put the lines left out (with file, line and key).

    Returns:
        ``(records, cursor)``: the new records (segment by segment, in written order) and the
        updated cursor.
    """
    updated: dict[str, int] = {}
    found: list[dict[str, Any]] = []
    try:
        entries = [
            e
            for e in os.scandir(folder)
            if e.name.endswith(SEGMENT_SUFFIX) and (only is None or e.name in only)
        ]
    except FileNotFoundError:
        return [], {}
    for entry in sorted(entries, key=lambda e: e.name):
        offset = cursor.get(entry.name, 0)
        try:
            size = entry.stat().st_size
            if size <= offset:
                updated[entry.name] = size
                continue
            with open(entry.path, "rb") as handle:
                handle.seek(offset)
                chunk = handle.read(size - offset)
        except OSError:  # removed meanwhile: forget it
            continue
        end = chunk.rfind(b"\n")
        updated[entry.name] = offset + end + 1
        bad: list[Rejected] = []
        for index, raw in enumerate(chunk[:end].split(b"\n") if end >= 0 else []):
            record, reason = check_line(raw)
            if reason is None and record is not None:
                found.append(record)
                continue
            key = record.get("key") if record is not None else None
            bad.append(Rejected(entry.name, index, key if isinstance(key, str) else None,
                                reason or "is unreadable"))
        if bad:
            bad = _number_lines(Path(entry.path), offset, bad)
            if rejected is not None:
                rejected.extend(bad)
            else:
                warnings.warn(
                    CacheWarning(
                        f"Skipped {len(bad)} cache line(s) in segment {entry.name} (first: line "
                        f"{bad[0].line}, which {bad[0].reason}); those answers are not served "
                        "and will be fetched again when asked for."
                    ),
                    stacklevel=3,
                )
    return found, updated


def _number_lines(path: Path, offset: int, bad: list[Rejected]) -> list[Rejected]:
    """Turn indexes within the chunk read at ``offset`` into line numbers of the file."""
    before = 0
    if offset:
        with contextlib.suppress(OSError), open(path, "rb") as handle:
            before = handle.read(offset).count(b"\n")
    return [Rejected(r.file, before + r.line + 1, r.key, r.reason) for r in bad]


_ABANDONED_FOLD_S = 3600.0


def _remove_abandoned_folds(folder: Path) -> None:
    """Remove folded files a compaction left half-written (killed before its rename)."""
    cutoff = time.time() - _ABANDONED_FOLD_S
    for entry in os.scandir(folder):
        if entry.name.endswith(SEGMENT_SUFFIX + ".tmp"):
            with contextlib.suppress(OSError):
                if entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)


def compact(folder: Path, *, not_before: float | None, max_entries: int) -> tuple[int, int]:
    """Fold the segments of finished writers into one, dropping replaced and expired entries.

    Only segments whose writer ran on this host and has exited are folded (a running
    writer's segment, or another host's, is left alone), so no process ever loses a line it
    is writing. The folded file is written under a temporary name and renamed into place
    before the old segments are removed; a reader that sees both meanwhile reads some
    entries twice, which is harmless (the newest answer per key wins either way).

    Args:
        folder: The cache folder.
        not_before: Drop entries created before this time (the TTL), or None.
        max_entries: Keep at most this many entries, the newest.

    Returns:
        ``(segments folded, entries kept)``.
    """
    from quantumlayer_nb.ledger._chain import writer_alive

    try:
        names = sorted(e.name for e in os.scandir(folder) if e.name.endswith(SEGMENT_SUFFIX))
    except FileNotFoundError:
        return 0, 0
    _remove_abandoned_folds(folder)
    done = [n for n in names if writer_alive(n[: -len(SEGMENT_SUFFIX)]) is False]
    if len(done) < 2:
        return 0, 0
    newest: dict[str, dict[str, Any]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CacheWarning)
        records, _ = read_new_entries(folder, {}, only=set(done))
    for record in records:
        try:
            key, created = str(record["key"]), float(record["created"])
        except (KeyError, TypeError, ValueError):
            continue
        if not_before is not None and created < not_before:
            continue
        if key not in newest or float(newest[key]["created"]) <= created:
            newest[key] = record
    kept = sorted(newest.values(), key=lambda r: float(r["created"]))[-max_entries:]
    final = folder / new_segment_name()
    temporary = final.with_name(final.name + ".tmp")  # readers skip it until it is complete
    with open(temporary, "xb") as handle:
        for record in kept:
            handle.write(encode_line(record))
        handle.flush()
        os.fsync(handle.fileno())
    temporary.rename(final)
    for name in done:
        with contextlib.suppress(OSError):
            (folder / name).unlink()
    return len(done), len(kept)
