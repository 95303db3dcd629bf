"""Resilience: backoff with jitter, circuit breakers, token buckets, concurrency caps and
attempt time bounds.

All state here is per process and shared by every call in it (threads and event loops).
Nothing blocks while holding a lock: a limiter answers "wait this long", and the caller
sleeps (``time.sleep`` or ``asyncio.sleep``) before asking again. A forked child starts
with fresh locks and no state (``os.register_at_fork``), so a lock held by one of the
parent's threads at fork time cannot hang it.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import queue
import random
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, TypeVar

from quantumlayer_nb.config import Deployment

__all__ = [
    "CircuitBreaker",
    "ConcurrencyCap",
    "DeploymentState",
    "TokenBucket",
    "attempt_budget",
    "backoff_delay",
    "bounded",
    "bounded_aiter",
    "bounded_iter",
    "bounded_sync",
    "set_process_share",
    "state_for",
]

GLOBAL_MAX_CONCURRENT = 256
"""Calls in flight at once in one process, whatever the deployment."""


def backoff_delay(
    attempt: int, base_s: float, max_s: float, retry_after: float | None = None
) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): full jitter.

    ``random.uniform(0, min(max_s, base_s * 2**attempt))``; a provider's ``Retry-After``
    is a floor, never shortened by the jitter nor by ``max_s`` (which caps our own backoff,
    not the provider's instruction; the call's deadline decides whether it is worth waiting).
    """
    delay = random.uniform(0, min(max_s, base_s * (2**attempt)))
    if retry_after is not None and retry_after > 0:
        delay = max(delay, retry_after)
    return delay


@dataclass
class CircuitBreaker:
    """Closed -> open when the failure rate over the last ``window`` calls passes
    ``threshold``; after ``cooldown_s`` one probe is let through (half-open): its success
    closes the circuit, its failure opens it again.
    """

    window: int = 20
    min_calls: int = 5
    threshold: float = 0.5
    cooldown_s: float = 10.0
    state: str = "closed"
    _results: deque[bool] = field(default_factory=lambda: deque(maxlen=20))
    _opened_at: float = 0.0
    _probe_out: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._results = deque(maxlen=self.window)

    def allow(self) -> bool:
        """Whether a call may go to this deployment now (takes the probe when half-open)."""
        with self._lock:
            if self.state == "closed":
                return True
            if self.state == "open" and time.monotonic() - self._opened_at >= self.cooldown_s:
                self.state = "half-open"
                self._probe_out = False
            if self.state == "half-open" and not self._probe_out:
                self._probe_out = True
                return True
            return False

    def record_success(self) -> None:
        """Count a success; a successful probe closes the circuit."""
        with self._lock:
            if self.state != "closed":
                self.state = "closed"
                self._results.clear()
            self._results.append(True)

    def record_failure(self) -> None:
        """Count a failure; open the circuit when the failure rate is too high."""
        with self._lock:
            if self.state == "half-open":
                self._open()
                return
            self._results.append(False)
            failures = self._results.count(False)
            if len(self._results) >= self.min_calls and failures / len(self._results) >= \
                    self.threshold:
                self._open()

    def _open(self) -> None:
        self.state = "open"
        self._opened_at = time.monotonic()
        self._probe_out = False
        self._results.clear()


class TokenBucket:
    """A token bucket refilled continuously at ``per_minute / 60`` per second."""

    def __init__(self, per_minute: float) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._level = self.capacity
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def try_take(self, amount: float = 1.0) -> float:
        """Take ``amount`` now and return 0, or return the seconds to wait before trying again."""
        amount = min(amount, self.capacity)  # a request larger than a minute still passes alone
        with self._lock:
            now = time.monotonic()
            self._level = min(self.capacity, self._level + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._level >= amount:
                self._level -= amount
                return 0.0
            return (amount - self._level) / self.rate


class ConcurrencyCap:
    """A counter of calls in flight; ``try_enter`` never blocks."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self._lock = threading.Lock()

    def try_enter(self) -> bool:
        """Count one more call in flight if under the limit."""
        with self._lock:
            if self.in_flight >= self.limit:
                return False
            self.in_flight += 1
            return True

    def leave(self) -> None:
        """Count one call less in flight."""
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)

    def reset(self) -> None:
        """Nothing in flight, with a fresh lock (a forked child's calls are its own)."""
        self._lock = threading.Lock()
        self.in_flight = 0


@dataclass
class DeploymentState:
    """Everything the process knows about one deployment: health, limits and speed."""

    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    requests: TokenBucket | None = None
    tokens: TokenBucket | None = None
    cap: ConcurrencyCap | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None

    def wait_needed(self, tokens: int) -> float:
        """Seconds to wait before a call may start (0: go; it has taken its tokens)."""
        if self.requests is not None:
            wait = self.requests.try_take(1)
            if wait:
                return wait
        if self.tokens is not None:
            wait = self.tokens.try_take(tokens)
            if wait:
                return wait
        return 0.0

    def record_latency(self, latency_ms: float, ttft_ms: float | None = None) -> None:
        """Fold one observation into the moving averages (EWMA, alpha 0.2)."""
        self.latency_ms = latency_ms if self.latency_ms is None else (
            0.8 * self.latency_ms + 0.2 * latency_ms
        )
        if ttft_ms is not None:
            self.ttft_ms = ttft_ms if self.ttft_ms is None else 0.8 * self.ttft_ms + 0.2 * ttft_ms


_states: dict[str, DeploymentState] = {}
_states_lock = threading.Lock()
_share = 1.0
global_cap = ConcurrencyCap(GLOBAL_MAX_CONCURRENT)


def set_process_share(share: float) -> None:
    """Give this process ``share`` of each deployment's rpm/tpm/concurrency (batch workers)."""
    global _share
    with _states_lock:
        _share = share
        _states.clear()


def state_for(name: str, deployment: Deployment) -> DeploymentState:
    """The process-wide state of a deployment, created on first use from its limits."""
    state = _states.get(name)
    if state is not None:
        return state
    with _states_lock:
        state = _states.get(name)
        if state is None:
            state = DeploymentState(
                requests=TokenBucket(max(1.0, deployment.rpm * _share)) if deployment.rpm else None,
                tokens=TokenBucket(max(1.0, deployment.tpm * _share)) if deployment.tpm else None,
                cap=ConcurrencyCap(max(1, int(deployment.max_concurrent * _share)))
                if deployment.max_concurrent else None,
            )
            _states[name] = state
    return state


def reset_states() -> None:
    """Forget every deployment's state (tests, configuration changes)."""
    with _states_lock:
        _states.clear()


# --- attempt time bounds -------------------------------------------------------------------
_MARGIN_SHARE = 0.2
_MARGIN_MAX_S = 0.25
_ATTEMPT_THREADS = 64
T = TypeVar("T")


def attempt_budget(total: float | None) -> float | None:
    """The time one attempt may wait for its transport, out of a total timeout.

    A fifth of the total, at most 0.25 s, is kept back for the event loop's lag and the
    error handling after a timeout, so the attempt, measured from the moment it is sent,
    ends within ``total`` even when the process is busy.
    """
    if total is None:
        return None
    return total - min(_MARGIN_SHARE * total, _MARGIN_MAX_S)


async def bounded(call: Awaitable[T], *, budget_s: float | None,
                  on_timeout: Callable[[float], Exception]) -> T:
    """Await ``call`` for at most ``budget_s`` seconds; raise ``on_timeout(budget_s)`` after."""
    if budget_s is None:
        return await call
    try:
        # The transport has the same budget; this bound holds even when it does not fire.
        return await asyncio.wait_for(call, budget_s)
    except asyncio.TimeoutError:
        raise on_timeout(budget_s) from None


def bounded_sync(send: Callable[..., T], *args: Any, budget_s: float | None,
                 on_timeout: Callable[[float], Exception]) -> T:
    """Run a blocking ``send(*args)`` for at most ``budget_s`` seconds.

    httpx's timeouts bound each phase (connect, each read), not the whole exchange, so a
    slow trickle could outlast them: with a budget the call runs on a helper thread and is
    abandoned when the budget is spent (the transport's own timeout, the same budget, ends
    that thread soon after). Without one it runs here, with no thread hop.
    """
    if budget_s is None:
        return send(*args)
    context = contextvars.copy_context()  # the caller's trace span and settings
    future = _attempt_pool().submit(context.run, send, *args)
    try:
        return future.result(timeout=budget_s)
    except FutureTimeout:
        raise on_timeout(budget_s) from None


_END = object()


def bounded_iter(items: Iterator[T], *, deadline: float | None,
                 on_timeout: Callable[[], Exception]) -> Iterator[T]:
    """Yield from a blocking iterator until ``deadline`` (``time.monotonic()``), then raise.

    A stream's transport timeout bounds each gap between chunks, not the whole stream, so
    with a deadline the iterator is drained by a helper thread and every item is waited for
    with what is left. On timeout the helper is abandoned (the transport's own timeout, no
    longer than what was left, ends it soon after) and ``on_timeout()`` is raised.
    """
    if deadline is None:
        yield from items
        return
    handoff: queue.Queue[tuple[bool, Any]] = queue.Queue()
    stop = threading.Event()

    def pump() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                handoff.put((True, item))
            handoff.put((True, _END))
        except BaseException as exc:  # handed to the consumer, which raises it
            handoff.put((False, exc))

    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(pump,), name="qlayer-stream",
                     daemon=True).start()
    try:
        while True:
            try:
                ok, item = handoff.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise on_timeout() from None
            if not ok:
                raise item
            if item is _END:
                return
            yield item
    finally:
        stop.set()


async def bounded_aiter(items: AsyncIterator[T], *, deadline: float | None,
                        on_timeout: Callable[[], Exception]) -> AsyncIterator[T]:
    """Async twin of :func:`bounded_iter`: each item is awaited with what is left."""
    while True:
        try:
            if deadline is None:
                item = await items.__anext__()
            else:
                item = await asyncio.wait_for(items.__anext__(),
                                              max(0.0, deadline - time.monotonic()))
        except StopAsyncIteration:
            return
        except asyncio.TimeoutError:
            raise on_timeout() from None
        yield item


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _attempt_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(_ATTEMPT_THREADS, thread_name_prefix="qlayer-attempt")
    return _pool


def _reset_in_child() -> None:
    # A forked child has none of the parent's threads: a lock one of them held stays held
    # forever, and a thread pool copied from the parent counts idle workers that do not
    # exist, so it would never run what it is given. Start clean.
    global _pool, _pool_lock, _states_lock, _states
    _pool, _pool_lock = None, threading.Lock()
    _states_lock, _states = threading.Lock(), {}
    global_cap.reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)
