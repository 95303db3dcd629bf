"""Where samples are scored: a pool of warm sandboxes here, or Dask workers.

The local pool is N warm sandbox workers (N processes, one sample at a time each) driven
from threads of this process; the heavy lifting happens in the worker processes. With Dask,
each Dask worker process keeps its own warm sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any, Literal, Protocol

from quantumlayer_nb.errors import SandboxError
from quantumlayer_nb.eval.sandbox import Sandbox, SandboxLimits, SandboxResult

__all__ = ["DaskScorer", "LocalScorer", "Scorer", "score_on_dask_worker"]

IsolationChoice = Literal["auto", "bubblewrap", "namespaces", "process"]


class Scorer(Protocol):
    """Scores one program against its tests without blocking the event loop."""

    async def score(self, program: str, tests: str, entry_point: str | None) -> SandboxResult:
        """Run the program and its tests."""
        ...

    def run_blocking(self, program: str, tests: str, entry_point: str | None
                     ) -> SandboxResult:
        """Run the program and its tests, blocking (from any thread)."""
        ...

    def close(self) -> None:
        """Release the workers."""
        ...


class LocalScorer:
    """A pool of ``size`` warm sandboxes on this machine (default: two per CPU).

    Two per CPU because a sample spends part of its time waiting (fork, pipes, the result
    round trip): a second worker per core keeps the CPU busy meanwhile.
    """

    def __init__(self, size: int | None = None, limits: SandboxLimits | None = None,
                 isolation: IsolationChoice = "auto") -> None:
        self.size = max(1, size or 2 * (os.cpu_count() or 1))
        self._idle: queue.Queue[Sandbox] = queue.Queue()
        boxes = [Sandbox(limits, isolation=isolation) for _ in range(self.size)]
        for box in boxes:
            self._idle.put(box)
        self._threads = ThreadPoolExecutor(self.size, thread_name_prefix="qlayer-sandbox")
        # The workers start now, side by side, while the caller loads its samples; a start
        # that fails is retried (and its error raised) by the first run on that sandbox.
        for box in boxes:
            self._threads.submit(_start_quietly, box)

    def run_blocking(self, program: str, tests: str, entry_point: str | None
                     ) -> SandboxResult:
        """Run on the first idle sandbox, in the calling thread."""
        return self._run(program, tests, entry_point)

    def _run(self, program: str, tests: str, entry_point: str | None) -> SandboxResult:
        box = self._idle.get()
        try:
            return box.run(program, tests, entry_point=entry_point)
        finally:
            self._idle.put(box)

    async def score(self, program: str, tests: str, entry_point: str | None) -> SandboxResult:
        """Run on the first idle sandbox."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, self._run, program, tests,
                                          entry_point)

    def close(self) -> None:
        """Stop every worker."""
        self._threads.shutdown(wait=True)
        while not self._idle.empty():
            self._idle.get().close()


def _start_quietly(box: Sandbox) -> None:
    with contextlib.suppress(SandboxError):
        box.start()


_worker_sandboxes: dict[tuple[Any, ...], Sandbox] = {}
_worker_lock = threading.Lock()


def score_on_dask_worker(program: str, tests: str, entry_point: str | None,
                         limits: dict[str, Any], isolation: IsolationChoice) -> dict[str, Any]:
    """Run on a Dask worker, reusing one warm sandbox per worker thread and settings."""
    key = (threading.get_ident(), tuple(sorted(limits.items())), isolation)
    with _worker_lock:
        box = _worker_sandboxes.get(key)
        if box is None:
            box = _worker_sandboxes[key] = Sandbox(SandboxLimits(**limits), isolation=isolation)
    return box.run(program, tests, entry_point=entry_point).model_dump()


class DaskScorer:
    """Scores on a ``dask.distributed`` cluster through ``client`` (default: the current)."""

    def __init__(self, client: Any = None, limits: SandboxLimits | None = None,
                 isolation: IsolationChoice = "auto") -> None:
        from dask.distributed import get_client

        self.client = client if client is not None else get_client()
        self.limits = asdict(limits or SandboxLimits())
        self.isolation = isolation

    async def score(self, program: str, tests: str, entry_point: str | None) -> SandboxResult:
        """Submit to the cluster and wait in a thread (the client may run its own loop)."""
        future = self.client.submit(score_on_dask_worker, program, tests, entry_point,
                                    self.limits, self.isolation, pure=False)
        loop = asyncio.get_running_loop()
        answer: dict[str, Any] = await loop.run_in_executor(None, future.result)
        return SandboxResult(**answer)

    def run_blocking(self, program: str, tests: str, entry_point: str | None
                     ) -> SandboxResult:
        """Submit to the cluster and wait for the answer."""
        future = self.client.submit(score_on_dask_worker, program, tests, entry_point,
                                    self.limits, self.isolation, pure=False)
        return SandboxResult(**future.result())

    def close(self) -> None:
        """Nothing to release: the cluster belongs to the caller."""
