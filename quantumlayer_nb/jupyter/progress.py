"""One progress API for every UI: batches and evaluations report to a :class:`Progress`.

A :class:`Progress` holds the state (done/total, passed/failed, cost so far, ETA) and a
cancel flag. Renderers subscribe to it: :class:`~quantumlayer_nb.jupyter.widgets.ProgressWidget`
in a notebook, :class:`TextProgress` (one plain-text line) in a terminal or when no widget
frontend is known. Its ``__call__(done, total, last)`` is the ``on_progress`` callback of a
batch, so ``generate_many(prompts, on_progress=progress)`` works as it is.

Cancelling is cooperative: the batch checks :attr:`Progress.cancelled` before it starts
another call; calls in flight finish and are recorded. A busy kernel does not receive the
browser's Cancel click until the cell ends, so a KeyboardInterrupt (the stop button) inside
``with progress:`` or a :func:`track` loop is also taken as a clean cancel.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import dataclass, replace
from types import TracebackType
from typing import IO, Any, Generic, Literal, TypeVar

from quantumlayer_nb._format import duration, usd

__all__ = [
    "Progress",
    "ProgressState",
    "TextProgress",
    "Tracker",
    "has_widget_frontend",
    "show",
    "track",
]

T = TypeVar("T")
Status = Literal["running", "done", "cancelled", "failed"]
Listener = Callable[["ProgressState"], None]
THROTTLE_S = 0.1
"""Renderers redraw at most this often (about ten updates a second)."""


@dataclass(frozen=True)
class ProgressState:
    """A snapshot of a progress: what a renderer draws."""

    description: str = ""
    done: int = 0
    total: int | None = None
    passed: int = 0
    failed: int = 0
    cost_usd: float = 0.0
    elapsed_s: float = 0.0
    status: Status = "running"
    last: str = ""

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the rate so far; None before the first item or without a total."""
        if not self.done or self.total is None or self.status != "running":
            return None
        return max(self.total - self.done, 0) * self.elapsed_s / self.done

    def line(self) -> str:
        """One plain-text line: ``batch 3/10 · 3 ok · $0.0001 · ETA 4 s`` while it runs,
        ``batch 10/10 · 10 ok · $0.0019 · 4.7 s`` when done (``1 failed`` when any did,
        ``cancelled after 2.1 s`` when cancelled)."""
        count = f"{self.done}/{self.total}" if self.total is not None else f"{self.done}"
        parts = [f"{self.description} {count}".strip(), f"{self.passed} ok"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        parts.append(usd(self.cost_usd))
        eta = self.eta_s
        if eta is not None:
            parts.append(f"ETA {duration(eta)}")
        elif self.status == "done":
            parts.append(duration(self.elapsed_s))
        elif self.status != "running":
            parts.append(f"{self.status} after {duration(self.elapsed_s)}")
        return " · ".join(parts)


def _outcome(last: Any) -> tuple[bool, float]:
    """(passed, cost) of one finished item: a Generation, an eval result or an exception."""
    if isinstance(last, BaseException):
        return False, 0.0
    passed = getattr(last, "passed", None)
    cost = getattr(last, "cost_usd", None)
    if passed is None and getattr(last, "format", None) == "code" and hasattr(last, "code"):
        passed = last.code is not None  # a code request answered without code (no match)
    return passed is not False, float(cost) if isinstance(cost, int | float) else 0.0


class Progress:
    """The state of a batch or an evaluation, and the flag that cancels it.

    Args:
        total: How many items; None when not known yet.
        description: A short label shown before the counts.
    """

    def __init__(self, total: int | None = None, description: str = "") -> None:
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._state = ProgressState(description=description, total=total)
        self._listeners: list[Listener] = []
        self.cancel_event = threading.Event()
        """Set when the user asks to stop; batches check it before starting a call."""

    @property
    def state(self) -> ProgressState:
        """The current snapshot, with the elapsed time brought up to date."""
        with self._lock:
            if self._state.status == "running":
                self._state = replace(self._state, elapsed_s=time.monotonic() - self._started)
            return self._state

    @property
    def cancelled(self) -> bool:
        """True once a cancel was asked for (button, :meth:`cancel` or KeyboardInterrupt)."""
        return self.cancel_event.is_set()

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(state)`` on every change (renderers throttle themselves)."""
        self._listeners.append(listener)
        listener(self.state)

    def _change(self, **changes: Any) -> None:
        with self._lock:
            self._state = replace(self._state, elapsed_s=time.monotonic() - self._started,
                                  **changes)
            state = self._state
        for listener in list(self._listeners):
            listener(state)

    def advance(self, last: Any = None, count: int = 1) -> None:
        """Record ``count`` finished items; ``last`` (a result or an exception) sets pass/cost."""
        passed, cost = _outcome(last)
        state = self._state
        self._change(done=state.done + count,
                     passed=state.passed + (count if passed else 0),
                     failed=state.failed + (0 if passed else count),
                     cost_usd=state.cost_usd + cost, last=_label(last))

    def __call__(self, done: int, total: int | None, last: Any = None) -> None:
        """The ``on_progress(done, total, last)`` callback of a batch."""
        passed, cost = _outcome(last)
        state = self._state
        finished = max(done - state.done, 0)
        self._change(done=done, total=total,
                     passed=state.passed + (finished if passed else 0),
                     failed=state.failed + (0 if passed else finished),
                     cost_usd=state.cost_usd + cost, last=_label(last))
        if total is not None and done >= total and state.status == "running":
            self.finish()  # the last item: the renderers draw the final line

    def set_total(self, total: int | None) -> None:
        """Set or change how many items there are."""
        self._change(total=total)

    def cancel(self) -> None:
        """Ask the batch to stop after the calls in flight."""
        self.cancel_event.set()
        self._change(last="cancelling after the calls in flight…")

    def finish(self, status: Status = "done") -> None:
        """Mark the end (``done``, ``cancelled`` or ``failed``); renderers draw a last time."""
        if self.cancelled and status == "done":
            status = "cancelled"
        self._change(status=status)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            self.cancel_event.set()
            self.finish("cancelled")
            # The stop button in a loop: a clean cancel, not an error. A batch's own
            # interruption (BatchInterrupted) carries its results and its one-line
            # message, so it goes on to the cell.
            return kind is KeyboardInterrupt
        self.finish("done" if kind is None else "failed")
        return False


def _label(last: Any) -> str:
    if last is None:
        return ""
    if isinstance(last, BaseException):
        return f"{type(last).__name__}: {last}"[:120]
    footer = getattr(last, "footer", None)
    return str(footer())[:120] if callable(footer) else str(last)[:120]


class TextProgress:
    """Draws a :class:`Progress` as one plain-text line (``\\r``-rewritten on a terminal)."""

    def __init__(self, progress: Progress, stream: IO[str] | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._last_draw = 0.0
        self._tty = bool(getattr(self._stream, "isatty", lambda: False)())
        self.lines: list[str] = []
        progress.subscribe(self._draw)

    def _draw(self, state: ProgressState) -> None:
        now = time.monotonic()
        final = state.status != "running"
        if not final and now - self._last_draw < (THROTTLE_S if self._tty else 2.0):
            return
        self._last_draw = now
        line = state.line()
        self.lines.append(line)
        end = "\n" if final or not self._tty else ""
        self._stream.write(("\r" if self._tty else "") + line + end)
        self._stream.flush()


def has_widget_frontend() -> bool:
    """True in a Jupyter kernel (widgets can render); False in a terminal or plain Python.

    ``QUANTUMLAYER_PROGRESS=text`` forces the text line (papermill, logs); ``=widget``
    forces widgets.
    """
    forced = os.environ.get("QUANTUMLAYER_PROGRESS", "").lower()
    if forced in {"text", "widget"}:
        return forced == "widget"
    ipython_module = sys.modules.get("IPython")
    if ipython_module is None:
        return False
    shell = ipython_module.get_ipython()
    return type(shell).__name__ == "ZMQInteractiveShell"


def show(progress: Progress) -> Any:
    """Render ``progress``: a ProgressWidget in a notebook, else a text line on stderr."""
    if has_widget_frontend():
        from IPython.display import display

        from quantumlayer_nb.jupyter.widgets import ProgressWidget

        widget = ProgressWidget(progress=progress)
        display(widget)  # type: ignore[no-untyped-call]
        return widget
    return TextProgress(progress)


class Tracker(Generic[T]):
    """Iterate over items while a :class:`Progress` counts them; see :func:`track`."""

    def __init__(self, items: Iterable[T], progress: Progress) -> None:
        self._items = items
        self.progress = progress

    def __iter__(self) -> Iterator[T]:
        try:
            for item in self._items:
                if self.progress.cancelled:
                    break
                yield item
                self.progress.advance(None)
        except KeyboardInterrupt:
            self.progress.cancel_event.set()
            self.progress.finish("cancelled")
            return
        self.progress.finish()

    def __enter__(self) -> Tracker[T]:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        return self.progress.__exit__(kind, exc, tb)


def track(items: Iterable[T], total: int | None = None, description: str = "",
          *, display: bool = True) -> Tracker[T]:
    """Count ``items`` as a loop goes through them, with a widget or a text line.

    Use ``with track(prompts) as bar: for p in bar: ...`` so that the stop button
    (KeyboardInterrupt) in the loop body ends the loop cleanly; a plain ``for`` works too.

    Args:
        items: What to iterate over.
        total: How many; default ``len(items)`` when it has one.
        description: A short label.
        display: Render the progress (widget or text line); False to only count.

    Returns:
        A :class:`Tracker`; its ``progress`` holds the counts and the cancel flag.
    """
    if total is None and isinstance(items, Sized):
        total = len(items)
    progress = Progress(total=total, description=description)
    if display:
        show(progress)
    return Tracker(items, progress)
