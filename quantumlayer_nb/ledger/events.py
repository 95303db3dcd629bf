"""The ledger's event model and its per-process, append-only, hash-chained writer.

Every process writes its own segment file, so no lock is ever held across processes: each
append is one ``os.write`` of one whole JSON line on an ``O_APPEND`` descriptor, done before
``append`` returns, followed by an in-place rewrite of the segment's fixed-width head record.
``fsync`` is batched by a daemon thread. See ``docs/ledger.md`` for the layout and the threat
model.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import mmap
import os
import platform
import secrets
import socket
import threading
import weakref
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from quantumlayer_nb._ids import new_id
from quantumlayer_nb.errors import LedgerError
from quantumlayer_nb.ledger._chain import (
    HEAD_SIZE,
    HEAD_SUFFIX,
    OPEN_SEGMENTS,
    SEGMENT_SUFFIX,
    HeadRecord,
    canonical_json,
    fsync_dir,
    genesis_hash,
    host_name,
    ledger_dir,
)
from quantumlayer_nb.ledger._syscalls import write_holding_gil

__all__ = ["Ledger", "LedgerEvent", "ledger_for"]

ERROR_MESSAGE_LIMIT = 500


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class LedgerEvent(BaseModel):
    """One fact on the ledger: an LLM call attempt, a cache hit, an evaluation sample, ...

    Only ``kind`` is required. ``event_id`` and ``ts`` are filled on creation; the chain
    fields (``segment``, ``seq``, ``prev_hash``, ``hash``) are filled by ``Ledger.append``.
    Kind-specific extras go in ``data``; unknown top-level fields are refused.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str = Field(
        default_factory=new_id, description="Random id (128 bits, hex)."
    )
    kind: str = Field(
        min_length=1,
        description='What happened: "call", "cache_hit", "eval_sample", "budget", '
        '"segment_open", "segment_close", ... (an open set).',
    )
    ts: str = Field(
        default_factory=_utc_now,
        description="When, as UTC ISO-8601 with microseconds (a datetime is converted).",
    )
    project: str | None = Field(default=None, description="Project the event is billed to.")
    user: str | None = Field(default=None, description="User who caused the event.")
    notebook: str | None = Field(default=None, description="Notebook path, if any.")
    run_id: str | None = Field(default=None, description="Papermill or batch run id, if any.")
    cell: str | None = Field(
        default=None, description="The notebook cell: its index in a run, else its id, if known."
    )
    call_id: str | None = Field(default=None, description="Id shared by a call's attempts.")
    attempt: int | None = Field(default=None, description="Attempt number within the call.")
    route: str | None = Field(default=None, description="Route that selected the deployment.")
    deployment: str | None = Field(default=None, description="Deployment that was tried.")
    model_requested: str | None = Field(default=None, description="Model the caller asked for.")
    model_served: str | None = Field(default=None, description="Model that actually answered.")
    tokens_in: int | None = Field(default=None, description="Prompt tokens, if known.")
    tokens_out: int | None = Field(default=None, description="Completion tokens, if known.")
    tokens_estimated: bool = Field(
        default=False,
        description="True when the provider sent no usage and the tokens were estimated.",
    )
    cost_usd: float | None = Field(
        default=None, description="Cost in USD; None means the price is unknown (never 0)."
    )
    cost_known: bool = Field(
        default=False, description="Whether cost_usd is a known price (default: it is set)."
    )
    saved_usd: float | None = Field(default=None, description="USD a cache hit saved.")
    latency_ms: float | None = Field(default=None, description="Total latency in ms.")
    ttft_ms: float | None = Field(default=None, description="Time to first token in ms.")
    outcome: str | None = Field(
        default=None, description='"ok", "error", "cache_hit" or another outcome.'
    )
    error_class: str | None = Field(default=None, description="Exception class name.")
    error_message: str | None = Field(
        default=None, description=f"Error text, cut to {ERROR_MESSAGE_LIMIT} characters."
    )
    prompt_hash: str | None = Field(default=None, description="Hash of the prompt.")
    response_hash: str | None = Field(default=None, description="Hash of the response.")
    prompt: str | None = Field(
        default=None, description="Prompt text; callers set it only when store_prompts is on."
    )
    response: str | None = Field(
        default=None, description="Response text; callers set it only when store_prompts is on."
    )
    tags: list[str] = Field(default_factory=list, description="Free-form labels.")
    data: dict[str, Any] = Field(
        default_factory=dict, description="Kind-specific extras (e.g. eval task/sample/passed)."
    )
    segment: str = Field(default="", description="Segment id (filled by append).")
    seq: int = Field(default=-1, description="0-based position in the segment (filled by append).")
    prev_hash: str = Field(default="", description="Hash of the previous event in the segment.")
    hash: str = Field(
        default="", description="SHA-256 of the canonical JSON of this event without hash."
    )

    @field_validator("ts", mode="before")
    @classmethod
    def _normalise_ts(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError as err:
                raise ValueError(f"ts {value!r} is not an ISO-8601 timestamp") from err
        if isinstance(value, datetime):
            aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
            return aware.astimezone(timezone.utc).isoformat(timespec="microseconds")
        return value

    @field_validator("error_message")
    @classmethod
    def _cut_error_message(cls, value: str | None) -> str | None:
        return value[:ERROR_MESSAGE_LIMIT] if value is not None else None

    @model_validator(mode="before")
    @classmethod
    def _default_cost_known(cls, values: Any) -> Any:
        if isinstance(values, dict) and "cost_known" not in values:
            return {**values, "cost_known": values.get("cost_usd") is not None}
        return values

    @model_validator(mode="after")
    def _check_cost_known(self) -> LedgerEvent:
        if self.cost_known and self.cost_usd is None:
            raise ValueError("cost_known=True needs cost_usd; leave cost_usd None if unknown")
        return self


_LIVE: weakref.WeakSet[Ledger] = weakref.WeakSet()


class Ledger:
    """Appends events to this process's own segment under ``data_dir/ledger/``.

    Thread-safe. The segment is created on the first append and closed (with a
    ``segment_close`` event) by ``close``, on exit, or never if the process is killed. A
    forked child opens its own segment.

    Args:
        data_dir: The project's data folder; segments go to ``data_dir/ledger/``.
        fsync_interval_s: Seconds between background fsyncs while there are new events;
            0 or less fsyncs on every append (slow, but nothing is ever lost to a power cut).
    """

    def __init__(self, data_dir: Path, *, fsync_interval_s: float = 1.0) -> None:
        self.data_dir = Path(data_dir)
        self.fsync_interval_s = fsync_interval_s
        self._lock = threading.Lock()
        self._reset()
        _LIVE.add(self)

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._fd: int | None = None
        self._head_fd: int | None = None
        self._head_map: mmap.mmap | None = None
        self._segment: str | None = None
        self._path: Path | None = None
        self._seq = 0
        self._last_hash = ""
        self._size = 0
        self._dirty = False
        self._dir_synced = False
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None

    @property
    def segment(self) -> str | None:
        """Id of the open segment, or None before the first append."""
        return self._segment

    @property
    def path(self) -> Path | None:
        """Path of the open segment file, or None before the first append."""
        return self._path

    def append(self, event: LedgerEvent | Mapping[str, Any]) -> LedgerEvent:
        """Write one event to the segment before returning it with its chain fields set.

        Args:
            event: A ``LedgerEvent`` or a mapping of its fields (validated).

        Returns:
            The event as written: with ``segment``, ``seq``, ``prev_hash`` and ``hash``.

        Raises:
            pydantic.ValidationError: A mapping does not describe a valid event.
            LedgerError: The segment could not be created or written.
        """
        if not isinstance(event, LedgerEvent):
            event = LedgerEvent.model_validate(dict(event))
        payload = event.model_dump(mode="json", exclude_none=True)
        with self._lock:
            if self._pid != os.getpid():
                self._forget_parent_segment()
            if self._fd is None:
                self._open_segment()
            chain = self._write(payload)
        return event.model_copy(update=chain)

    def append_trusted(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Write an event the package built itself, skipping model validation (hot path).

        The fields must already be what ``LedgerEvent`` would accept (JSON types, known
        names); ``event_id``, ``ts``, ``cost_known``, ``tags`` and ``data`` get the same
        defaults. ``append`` is the checked way in; the line written is the same.

        Returns:
            The chain fields written (``segment``, ``seq``, ``prev_hash``, ``hash``).
        """
        payload = {name: value for name, value in fields.items() if value is not None}
        payload.setdefault("event_id", new_id())
        payload.setdefault("ts", _utc_now())
        payload.setdefault("cost_known", payload.get("cost_usd") is not None)
        payload.setdefault("tags", [])
        payload.setdefault("data", {})
        if "error_message" in payload:
            payload["error_message"] = payload["error_message"][:ERROR_MESSAGE_LIMIT]
        with self._lock:
            if self._pid != os.getpid():
                self._forget_parent_segment()
            if self._fd is None:
                self._open_segment()
            return self._write(payload)

    def _write(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Chain and write one payload; the caller holds the lock and the segment is open."""
        assert self._fd is not None
        assert self._head_fd is not None
        assert self._segment is not None
        payload["segment"] = self._segment
        payload["seq"] = self._seq
        payload["prev_hash"] = self._last_hash
        payload.pop("hash", None)
        body = canonical_json(payload).encode("utf-8", "replace")
        digest = hashlib.sha256(body).hexdigest()
        line = body[:-1] + b',"hash":"' + digest.encode("ascii") + b'"}\n'
        try:
            # First the head names the line about to be written, so that a line found after
            # the head's seq is the writer's only if its hash is this one (see HeadRecord).
            self._write_head(HeadRecord(self._seq - 1, self._last_hash, self._size, digest))
            written = write_holding_gil(self._fd, line)
            while written < len(line):  # only on a full disk or a signal: finish the line
                written += os.write(self._fd, line[written:])
            self._size += written
            self._write_head(HeadRecord(self._seq, digest, self._size))
            if self.fsync_interval_s <= 0:
                os.fsync(self._fd)
        except OSError as err:
            path = self._path
            self._abandon_segment()
            raise LedgerError(
                f"Could not write ledger segment {path}: {err}. Check that {self.data_dir} "
                "is writable and the disk is not full; the next event opens a new segment."
            ) from err
        chain = {"segment": self._segment, "seq": self._seq, "prev_hash": self._last_hash}
        chain["hash"] = digest
        self._seq += 1
        self._last_hash = digest
        self._dirty = True
        return chain

    def _write_head(self, head: HeadRecord) -> None:
        assert self._head_fd is not None
        if self._head_map is not None:  # a copy into the page cache: no system call
            self._head_map[:] = head.encode()
        else:
            head.write(self._head_fd)

    def _open_segment(self) -> None:
        folder = ledger_dir(self.data_dir)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        segment = f"{stamp}-{host_name()}-{os.getpid()}-{secrets.token_hex(3)}"
        path = folder / f"{segment}{SEGMENT_SUFFIX}"
        flags = os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
        head_fd: int | None = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # The head exists before the first line, so a segment without one was tampered with.
            head_fd = os.open(folder / f"{segment}{HEAD_SUFFIX}", flags | os.O_RDWR, 0o644)
            HeadRecord(-1, genesis_hash(segment), 0).write(head_fd)
            fd = os.open(path, flags | os.O_WRONLY | os.O_APPEND, 0o644)
        except OSError as err:
            if head_fd is not None:
                os.close(head_fd)
            raise LedgerError(
                f"Could not create a ledger segment in {folder}: {err}. "
                "Check that the data folder exists and is writable."
            ) from err
        self._fd, self._head_fd, self._segment, self._path = fd, head_fd, segment, path
        self._head_map = _map_head(head_fd)
        OPEN_SEGMENTS.add(segment)
        self._seq, self._last_hash, self._size = 0, genesis_hash(segment), 0
        self._write(
            LedgerEvent(kind="segment_open", data=_process_facts()).model_dump(
                mode="json", exclude_none=True
            )
        )
        if self.fsync_interval_s > 0:
            self._stop = threading.Event()
            self._flusher = threading.Thread(
                target=self._flush_loop, args=(self._stop,), name="qlayer-ledger-fsync", daemon=True
            )
            self._flusher.start()

    def _flush_loop(self, stop: threading.Event) -> None:
        while not stop.wait(self.fsync_interval_s):
            self.flush()

    def flush(self) -> None:
        """fsync the segment and its head now if events were appended since the last fsync."""
        with self._lock:
            if not self._dirty or self._fd is None or self._head_fd is None:
                return
            # Duplicates keep the descriptors valid if close() runs during the fsync.
            fds = [os.dup(self._fd), os.dup(self._head_fd)]
            self._dirty = False
            folder = None if self._dir_synced else ledger_dir(self.data_dir)
            self._dir_synced = True
        try:
            for fd in fds:
                os.fsync(fd)
            if folder is not None:
                fsync_dir(folder)
        finally:
            for fd in fds:
                os.close(fd)

    def close(self) -> None:
        """Append ``segment_close`` (event count and last hash), fsync and close the segment.

        A later ``append`` opens a new segment. Closing twice is harmless.
        """
        with self._lock:
            if self._fd is None or self._pid != os.getpid():
                return
            try:
                close_event = LedgerEvent(
                    kind="segment_close", data={"events": self._seq, "last_hash": self._last_hash}
                )
                self._write(close_event.model_dump(mode="json", exclude_none=True))
                if self._fd is not None and self._head_fd is not None:
                    os.fsync(self._fd)
                    os.fsync(self._head_fd)
            except OSError as err:
                raise LedgerError(
                    f"Could not fsync ledger segment {self._path}: {err}. The events are "
                    "written but may not survive a power cut; check the disk."
                ) from err
            finally:
                flusher = self._flusher
                self._abandon_segment()
        if flusher is not None and flusher is not threading.current_thread():
            flusher.join(timeout=5)

    def _abandon_segment(self) -> None:
        """Close this process's descriptors; the next append opens a fresh segment."""
        self._stop.set()
        _unmap(self._head_map)
        self._head_map = None
        for fd in (self._fd, self._head_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._fd = self._head_fd = None
        OPEN_SEGMENTS.discard(self._segment or "")
        self._segment = self._path = None
        self._flusher = None

    def _forget_parent_segment(self) -> None:
        """In a forked child: drop the parent's segment (never write to it) and start afresh."""
        self._lock = threading.Lock()  # the parent's lock may have been held at fork time
        _unmap(self._head_map)  # this process's view of the parent's head: never write it
        for fd in (self._fd, self._head_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        OPEN_SEGMENTS.discard(self._segment or "")
        self._reset()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ledger({str(self.data_dir)!r}, segment={self._segment!r}, next_seq={self._seq})"


def _map_head(head_fd: int) -> mmap.mmap | None:
    """Map the head file, so each event updates it without a system call.

    A write through a shared mapping lands in the page cache as ``pwrite`` does: it
    survives the process being killed, and ``fsync`` of the descriptor flushes it. Where
    mapping fails, the head is written with ``pwrite``.
    """
    try:
        return mmap.mmap(head_fd, HEAD_SIZE)
    except (OSError, ValueError):
        return None


def _unmap(head_map: mmap.mmap | None) -> None:
    if head_map is not None:
        with contextlib.suppress(OSError, ValueError, BufferError):
            head_map.close()


def _process_facts() -> dict[str, Any]:
    facts: dict[str, Any] = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "python": platform.python_version(),
    }
    try:
        from importlib.metadata import PackageNotFoundError, version

        facts["version"] = version("quantumlayer_nb")
    except PackageNotFoundError:
        pass
    return facts


_BY_FOLDER: dict[Path, Ledger] = {}
_BY_FOLDER_LOCK = threading.Lock()


def ledger_for(data_dir: Path) -> Ledger:
    """Return this process's ``Ledger`` for ``data_dir``, creating it on first use.

    Args:
        data_dir: The project's data folder (resolved, so two spellings share one ledger).

    Returns:
        The same ``Ledger`` for every call with the same folder in this process.
    """
    spelled = Path(data_dir)
    if spelled.is_absolute():  # the hot path: no filesystem call for a folder seen before
        ledger = _BY_FOLDER.get(spelled)
        if ledger is not None:
            return ledger
    key = Path(data_dir).resolve()
    with _BY_FOLDER_LOCK:
        ledger = _BY_FOLDER.get(key)
        if ledger is None:
            ledger = _BY_FOLDER[key] = Ledger(key)
        if spelled.is_absolute():
            _BY_FOLDER[spelled] = ledger
        return ledger


def _close_all() -> None:
    for ledger in list(_LIVE):
        # At exit there is no one left to tell; verify reports such a segment as unclosed.
        with contextlib.suppress(LedgerError, OSError):
            ledger.close()


def _after_fork_in_child() -> None:
    global _BY_FOLDER_LOCK
    _BY_FOLDER_LOCK = threading.Lock()
    for ledger in list(_LIVE):
        ledger._forget_parent_segment()


atexit.register(_close_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
