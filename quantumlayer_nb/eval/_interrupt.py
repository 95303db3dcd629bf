"""Run a coroutine on a loop of its own thread, turning KeyboardInterrupt into a clean cancel.

A notebook's event loop is already running, so a synchronous call runs its own loop in a
thread. The calling thread only waits; that is where the kernel's stop button (SIGINT) raises
KeyboardInterrupt. The first one sets the cancel flag, which the coroutine checks before it
starts new work, and the wait goes on until the work in flight is done. A second one cancels
the coroutine's task and re-raises.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["run_until_interrupted"]

T = TypeVar("T")

_POLL_S = 0.2
"""How long one wait lasts: short, so an interrupt is seen promptly on every platform."""


def run_until_interrupted(make: Callable[[], Coroutine[Any, Any, T]],
                          cancel: threading.Event) -> T:
    """Run ``make()`` to completion on a new event loop in a worker thread.

    Args:
        make: builds the coroutine (called in the worker thread).
        cancel: set on the first KeyboardInterrupt; the coroutine is expected to check it.

    Returns:
        The coroutine's result (after a first interrupt too).

    Raises:
        KeyboardInterrupt: on a second interrupt, once the task is cancelled.
    """
    result: concurrent.futures.Future[T] = concurrent.futures.Future()
    started = threading.Event()
    handles: dict[str, Any] = {}

    async def main() -> T:
        handles["loop"], handles["task"] = asyncio.get_running_loop(), asyncio.current_task()
        started.set()
        return await make()

    def work() -> None:
        try:
            result.set_result(asyncio.run(main()))
        except BaseException as error:  # handed to the waiting thread, which re-raises it
            result.set_exception(error)
        finally:
            started.set()

    thread = threading.Thread(target=work, name="qlayer-evaluate", daemon=True)
    thread.start()
    interrupts = 0
    while True:
        try:
            return result.result(timeout=_POLL_S)
        except TimeoutError:
            if result.done():  # the work's own timeout error
                raise
            continue
        except KeyboardInterrupt:
            if result.done():  # raised by the work itself, not by a signal here
                raise
            interrupts += 1
            cancel.set()
            if interrupts > 1:
                _abandon(handles, started, thread)
                raise


def _abandon(handles: dict[str, Any], started: threading.Event,
             thread: threading.Thread) -> None:
    """Cancel the running task and wait for its thread (cleanup still runs)."""
    started.wait()
    loop, task = handles.get("loop"), handles.get("task")
    if loop is not None and task is not None:
        with contextlib.suppress(RuntimeError):  # a closed loop: the work is over already
            loop.call_soon_threadsafe(task.cancel)
    thread.join()
