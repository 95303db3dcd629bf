"""The cache's append-only store: one JSON-lines segment per process under ``data_dir/cache/``.

Like the ledger, each process appends whole lines with one ``os.write`` on an ``O_APPEND``
descriptor to a file no other process writes, so no lock is ever held across processes;
every process reads every segment. Unlike the ledger, lines are not hash-chained: a cache
entry is a convenience, and a damaged line is skipped, never trusted.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
import warnings
from collections.abc import Collection
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from quantumlayer_nb.errors import QLayerError
from quantumlayer_nb.ledger._chain import canonical_json, host_name

__all__ = [
    "CACHE_SUBDIR",
    "SEGMENT_SUFFIX",
    "CacheStoreError",
    "CacheWarning",
    "SegmentWriter",
    "cache_dir",
    "compact",
    "new_segment_name",
    "read_new_entries",
]

CACHE_SUBDIR = "cache"
SEGMENT_SUFFIX = ".jsonl"


class CacheStoreError(QLayerError):
    """The cache store could not be written (the answer itself is still returned)."""


class CacheWarning(UserWarning):
    """A cache segment line was unreadable and skipped; reading went on without it."""


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
        line = (canonical_json(record) + "\n").encode("utf-8", "replace")
        try:
            written = os.write(self._fd, line)
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
    folder: Path, cursor: dict[str, int], *, only: Collection[str] | None = None
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Return the complete lines appended to any segment since ``cursor``, and the new cursor.

    Costs one directory listing and one ``stat`` per segment when nothing changed; a line
    still being written (no newline yet) is left for the next call, and an unreadable line is
    skipped with a ``CacheWarning``.

    Args:
        folder: The cache folder (``data_dir/cache``).
        cursor: Segment file name -> byte offset already read.
        only: Read only these segment file names (default: all).

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
        bad = 0
        for raw in chunk[:end].split(b"\n") if end >= 0 else []:
            try:
                record = json.loads(raw)
            except ValueError:
                bad += 1
                continue
            if isinstance(record, dict):
                found.append(record)
            else:
                bad += 1
        if bad:
            warnings.warn(
                CacheWarning(
                    f"Skipped {bad} unreadable line(s) in cache segment {entry.name} (a write "
                    "was cut short); those answers will be fetched again when asked for."
                ),
                stacklevel=3,
            )
    return found, updated


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
            handle.write((canonical_json(record) + "\n").encode("utf-8", "replace"))
        handle.flush()
        os.fsync(handle.fileno())
    temporary.rename(final)
    for name in done:
        with contextlib.suppress(OSError):
            (folder / name).unlink()
    return len(done), len(kept)
