"""Job records: batches and evaluations that any process (the sidebar's server) can follow.

A running batch or evaluation keeps one small JSON file, ``<data_dir>/jobs/<id>.json``,
replaced atomically (a temporary file and ``os.replace``) when it starts, at most about once
a second while it runs, and when it ends. Its fields:

``id, kind ("batch"|"eval"|"run"), title, pid, host, started, updated (unix s), done,
total, passed, failed, cost_usd, status ("running"|"done"|"cancelled"|"failed"), eta_s``.

A reader shows a record whose ``pid`` is gone while its status is still ``running`` as
``stopped`` (:func:`effective_status`).

Cancelling is a flag file beside the record, ``<id>.cancel``, that anyone may create
(:func:`request_cancel`; the server's ``POST /qlayer/api/jobs/{id}/cancel`` does). The job
looks for it at most every 0.2 s, before it starts another call, and then starts no more:
the calls in flight finish and are recorded. :func:`tracked` is the decorator that gives
``generate_many``/``agenerate_many`` and ``aevaluate`` their record.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Sized
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

__all__ = [
    "CANCEL_SUFFIX",
    "JOBS_SUBDIR",
    "RECORD_SUFFIX",
    "JobCancelFlag",
    "JobProgress",
    "JobRecord",
    "effective_status",
    "jobs_dir",
    "pid_alive",
    "read_record",
    "request_cancel",
    "tracked",
]

JOBS_SUBDIR = "jobs"
RECORD_SUFFIX = ".json"
CANCEL_SUFFIX = ".cancel"
WRITE_INTERVAL_S = 1.0
"""A running job rewrites its record at most this often."""
FLAG_CHECK_INTERVAL_S = 0.2
"""A running job looks for its cancel flag at most this often."""

Kind = Literal["batch", "eval", "run"]
Status = Literal["running", "done", "cancelled", "failed", "stopped"]


def jobs_dir(data_dir: Path) -> Path:
    """The folder holding the job records of a data folder."""
    return Path(data_dir) / JOBS_SUBDIR


def _host() -> str:
    return socket.gethostname() or "host"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (a harmless signal-0 probe)."""
    if pid <= 0:
        return False
    if os.name != "posix":  # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def effective_status(record: dict[str, Any]) -> str:
    """The status to show: ``stopped`` for a ``running`` record whose process is gone."""
    status = str(record.get("status", "running"))
    if status != "running":
        return status
    host = record.get("host")
    if host not in (None, _host()):  # another machine's process cannot be probed from here
        return status
    pid = record.get("pid")
    if not isinstance(pid, int) or not pid_alive(pid):
        return "stopped"
    return status


def read_record(path: Path) -> dict[str, Any] | None:
    """One job record as a dict, or None if it is missing or not a record."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "id" in data else None


def request_cancel(data_dir: Path, job_id: str) -> bool:
    """Create the cancel flag of a job; False when there is no such job record."""
    folder = jobs_dir(data_dir)
    if not _valid_id(job_id) or not (folder / f"{job_id}{RECORD_SUFFIX}").is_file():
        return False
    (folder / f"{job_id}{CANCEL_SUFFIX}").touch()
    return True


def _valid_id(job_id: str) -> bool:
    return 0 < len(job_id) <= 64 and all(c.isalnum() or c in "-_" for c in job_id)


class JobCancelFlag(threading.Event):
    """A ``threading.Event`` that is also set by the job's cancel flag file.

    ``is_set`` looks at the file system at most every 0.2 s, so the batch can ask before
    every call. It is also set when the event it links (the caller's own cancel event, a
    progress widget's) is set; once the flag file is seen, the linked event is set too.
    """

    def __init__(self, flag_path: Path, linked: threading.Event | None = None) -> None:
        super().__init__()
        self.flag_path = flag_path
        self.linked = linked
        self._checked = 0.0
        self.by_flag = False

    def is_set(self) -> bool:
        if super().is_set():
            return True
        if self.linked is not None and self.linked.is_set():
            self.set()
            return True
        now = time.monotonic()
        if now - self._checked >= FLAG_CHECK_INTERVAL_S:
            self._checked = now
            if os.path.exists(self.flag_path):
                self.by_flag = True
                self.set()
                if self.linked is not None:
                    self.linked.set()
                return True
        return False


class JobRecord:
    """The record of one job, written by the process that runs it.

    Args:
        data_dir: The project's data folder; the record goes to ``data_dir/jobs/``.
        kind: ``batch``, ``eval`` or ``run``.
        title: A short label for the sidebar.
        total: How many items, when known.
        job_id: The id (default: a new random one).
    """

    def __init__(self, data_dir: Path, kind: Kind, title: str, total: int | None = None,
                 job_id: str | None = None) -> None:
        from quantumlayer_nb._ids import new_id

        self.folder = jobs_dir(data_dir)
        self.id = job_id or new_id()[:20]
        self.kind: Kind = kind
        self.title = title
        self.total = total
        self.done = self.passed = self.failed = 0
        self.cost_usd = 0.0
        self.status: Status = "running"
        self.started = time.time()
        self._started_mono = time.monotonic()
        self._done_here = 0
        self._last_write = 0.0
        self._lock = threading.Lock()
        self.cancel_flag = JobCancelFlag(self.folder / f"{self.id}{CANCEL_SUFFIX}")

    @property
    def path(self) -> Path:
        """Where the record is written."""
        return self.folder / f"{self.id}{RECORD_SUFFIX}"

    def as_dict(self) -> dict[str, Any]:
        """The record's fields (what is written)."""
        eta: float | None = None
        if self.status == "running" and self.total is not None and self._done_here:
            elapsed = time.monotonic() - self._started_mono
            eta = round(max(self.total - self.done, 0) * elapsed / self._done_here, 1)
        return {
            "id": self.id, "kind": self.kind, "title": self.title, "pid": os.getpid(),
            "host": _host(), "started": round(self.started, 3),
            "updated": round(time.time(), 3), "done": self.done, "total": self.total,
            "passed": self.passed, "failed": self.failed,
            "cost_usd": round(self.cost_usd, 8), "status": self.status, "eta_s": eta,
        }

    def start(self) -> JobRecord:
        """Write the first record (status ``running``); a stale cancel flag is removed."""
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            self.cancel_flag.flag_path.unlink()
        self._write()
        return self

    def update(self, *, done: int | None = None, total: int | None = None,
               passed: bool | None = None, cost_usd: float | None = None,
               resumed: bool = False) -> None:
        """Count one finished item; the record is rewritten at most once a second.

        Args:
            done: Items finished so far (default: one more).
            total: How many items there are now, if known.
            passed: Whether the item passed (None: count neither passed nor failed).
            cost_usd: What the item cost.
            resumed: The item was answered from an earlier run (no ETA weight).
        """
        with self._lock:
            self.done = self.done + 1 if done is None else done
            if total is not None:
                self.total = total
            if passed is True:
                self.passed += 1
            elif passed is False:
                self.failed += 1
            self.cost_usd += cost_usd or 0.0
            if not resumed:
                self._done_here += 1
            due = time.monotonic() - self._last_write >= WRITE_INTERVAL_S
        if due:
            self._write()

    def finish(self, status: Status = "done") -> None:
        """Write the last record and remove the cancel flag."""
        if status == "done" and self.cancel_flag.is_set():
            status = "cancelled"
        self.status = status
        self._write()
        with contextlib.suppress(OSError):
            self.cancel_flag.flag_path.unlink()

    def _write(self) -> None:
        self._last_write = time.monotonic()
        body = json.dumps(self.as_dict()).encode()
        tmp = self.folder / f".{self.id}.{os.getpid()}.tmp"
        try:  # a job must never fail because its record could not be written
            with open(tmp, "wb") as handle:
                handle.write(body)
            os.replace(tmp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()


class JobProgress:
    """An ``on_progress(done, total, last)`` callback that also counts into a job record.

    It calls the wrapped callback first and forwards its attributes (a ``Progress``'s
    ``cancel_event`` among them), so it stands where the caller's callback stood.
    """

    def __init__(self, job: JobRecord, inner: Callable[..., Any] | None) -> None:
        self.job = job
        self.inner = inner

    def __call__(self, done: int, total: int | None, last: Any = None) -> None:
        if self.inner is not None:
            self.inner(done, total, last)
        passed, cost, counted = _outcome(last)
        if counted:
            self.job.update(done=None, total=total, passed=passed, cost_usd=cost)
        elif total is not None:
            self.job.total = total

    def __getattr__(self, name: str) -> Any:
        if name in ("job", "inner"):
            raise AttributeError(name)
        return getattr(self.inner, name)


def _outcome(last: Any) -> tuple[bool | None, float, bool]:
    """(passed, cost, counted) of one finished item; a never-started item is not counted."""
    from quantumlayer_nb._batch import BatchCancelled

    if isinstance(last, BatchCancelled):
        return None, 0.0, False
    if isinstance(last, BaseException):
        return False, 0.0, True
    passed = getattr(last, "passed", None)
    if passed is None and getattr(last, "format", None) == "code":
        passed = getattr(last, "code", None) is not None  # "no recipe matches" is not ok
    cost = getattr(last, "cost_usd", None)
    return passed is not False, float(cost) if isinstance(cost, int | float) else 0.0, True


F = TypeVar("F", bound=Callable[..., Any])


def _title(kind: Kind, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, int | None]:
    first = args[0] if args else kwargs.get("prompts", kwargs.get("suite"))
    if kind == "batch":
        total = len(first) if isinstance(first, Sized) else None
        model = kwargs.get("model")
        return f"batch of {total} prompts" + (f" · {model}" if model else ""), total
    suite = getattr(first, "name", first)
    models = args[1] if len(args) > 1 else kwargs.get("models")
    names = ", ".join(str(m) for m in models) if isinstance(models, list | tuple) else ""
    return f"eval {suite}" + (f" · {names}" if names else ""), None


def _data_dir(kind: Kind, kwargs: dict[str, Any]) -> Path:
    if kind == "eval":  # aevaluate writes its samples to its own data_dir argument
        return Path(kwargs.get("data_dir") or ".qlayer")
    from quantumlayer_nb.config import get_settings

    return get_settings().data_path


def tracked(kind: Kind, *, cancel_arg: str = "cancel_event",
            progress_arg: str = "on_progress") -> Callable[[F], F]:
    """Give a batch or evaluation function a job record and a cancel flag.

    The decorated function's ``on_progress`` is wrapped in a :class:`JobProgress` and its
    ``cancel_event`` in a :class:`JobCancelFlag` (async functions only: a sync batch hands
    both to the async one it runs, which then uses the same record). The record is
    finished ``done``, ``cancelled`` (flag, cancel event or KeyboardInterrupt) or
    ``failed`` when the call returns or raises.
    """

    def decorate(func: F) -> F:
        import inspect

        is_async = inspect.iscoroutinefunction(func)

        def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> JobRecord | None:
            current = kwargs.get(progress_arg)
            if isinstance(current, JobProgress):  # the outer sync call made the record
                if is_async:
                    job = current.job
                    linked = kwargs.get(cancel_arg) or getattr(current.inner, "cancel_event",
                                                               None)
                    job.cancel_flag.linked = linked
                    kwargs[cancel_arg] = job.cancel_flag
                return None
            title, total = _title(kind, args, kwargs)
            job = JobRecord(_data_dir(kind, kwargs), kind, title, total).start()
            kwargs[progress_arg] = JobProgress(job, current)
            if is_async:
                job.cancel_flag.linked = kwargs.get(cancel_arg) or getattr(
                    current, "cancel_event", None)
                kwargs[cancel_arg] = job.cancel_flag
            return job

        def end(job: JobRecord | None, error: BaseException | None) -> None:
            if job is None:
                return
            import asyncio

            if error is None:
                job.finish("done")
            elif isinstance(error, KeyboardInterrupt | asyncio.CancelledError):
                job.finish("cancelled")
            else:
                job.finish("failed")

        if is_async:
            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                job = begin(args, kwargs)
                try:
                    result = await cast(Callable[..., Awaitable[Any]], func)(*args, **kwargs)
                except BaseException as error:
                    end(job, error)
                    raise
                end(job, None)
                return result

            return cast(F, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            job = begin(args, kwargs)
            try:
                result = func(*args, **kwargs)
            except BaseException as error:
                end(job, error)
                raise
            end(job, None)
            return result

        return cast(F, wrapper)

    return decorate
