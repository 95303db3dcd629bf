"""anywidget widgets: ``ProgressWidget`` for batches and evaluations, ``CostWidget`` for spend.

The JavaScript and CSS ship in ``static/`` (no CDN). Updates go from the kernel to the
browser over the widget comm while a cell runs, throttled to about ten a second.

A saved notebook keeps each output's ``text/plain`` beside the widget: the widgets display
themselves with a display id and replace that text when they finish, so the saved file
reads ``batch 10/10 · 10 ok · $0.0019 · 4.7 s``, not the first state.
"""

from __future__ import annotations

import datetime as _dt
import threading
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

import anywidget
import traitlets

from quantumlayer_nb._format import usd
from quantumlayer_nb.jupyter.progress import THROTTLE_S, Progress, ProgressState, Status

__all__ = ["CostWidget", "ProgressWidget", "session_started"]

_STATIC = Path(__file__).parent / "static"


def session_started() -> str:
    """When this process (the kernel) started, as an ISO time: the CostWidget's session."""
    try:
        import psutil  # type: ignore[import-untyped,unused-ignore]

        started = psutil.Process().create_time()
    except Exception:  # no psutil: count from when this module was imported
        started = _IMPORTED
    return _dt.datetime.fromtimestamp(started, _dt.timezone.utc).isoformat()


_IMPORTED = time.time()


class _SelfUpdatingDisplay:
    """Display a widget under its own display id, so its text fallback can be replaced."""

    _display_id: str | None = None

    def _bundle(self) -> tuple[dict[str, Any], dict[str, Any]]:
        found = self._repr_mimebundle_()  # type: ignore[attr-defined]
        if isinstance(found, tuple):  # (data, metadata)
            return dict(found[0] or {}), dict(found[1] or {})
        return dict(found or {}), {}

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if self._display_id is None:
            self._display_id = uuid.uuid4().hex
        data, metadata = self._bundle()
        display(data, metadata=metadata, raw=True,  # type: ignore[no-untyped-call]
                display_id=self._display_id)

    def _refresh_text(self) -> None:
        """Replace the displayed text/plain (what a saved notebook shows) with the current."""
        if self._display_id is None:
            return
        from IPython.display import update_display

        data, metadata = self._bundle()
        update_display(data, metadata=metadata, raw=True,  # type: ignore[no-untyped-call]
                       display_id=self._display_id)


class _Throttled:
    """Push a state to a widget at most every ``THROTTLE_S``; the last change always lands."""

    def __init__(self, push: Any) -> None:
        self._push = push
        self._lock = threading.Lock()
        self._last = 0.0
        self._pending: Any = None
        self._timer: threading.Timer | None = None

    def __call__(self, state: Any, force: bool = False) -> None:
        with self._lock:
            self._pending = state
            wait = self._last + THROTTLE_S - time.monotonic()
            if wait > 0 and not force:
                if self._timer is None:
                    self._timer = threading.Timer(wait, self._flush)
                    self._timer.daemon = True
                    self._timer.start()
                return
        self._flush()

    def _flush(self) -> None:
        with self._lock:
            state, self._pending = self._pending, None
            self._timer = None
            self._last = time.monotonic()
        if state is not None:
            self._push(state)


class ProgressWidget(_SelfUpdatingDisplay, anywidget.AnyWidget):
    """Live progress of a batch or an evaluation, with a Cancel button.

    Use it as the ``on_progress(done, total, last)`` callback of a batch, or as a context
    manager around a loop (a KeyboardInterrupt inside is a clean cancel)::

        bar = ProgressWidget(total=len(prompts), description="batch")
        display(bar)
        results = qlayer.generate_many(prompts, on_progress=bar)

    Args:
        total: How many items; None when not known.
        description: A short label.
        progress: An existing :class:`Progress` to show (default: a new one).
    """

    _esm = _STATIC / "progress.js"
    _css = _STATIC / "progress.css"

    description = traitlets.Unicode("").tag(sync=True)
    done = traitlets.Int(0).tag(sync=True)
    total = traitlets.Int(None, allow_none=True).tag(sync=True)
    passed = traitlets.Int(0).tag(sync=True)
    failed = traitlets.Int(0).tag(sync=True)
    cost_usd = traitlets.Float(0.0).tag(sync=True)
    cost_text = traitlets.Unicode("$0").tag(sync=True)
    line = traitlets.Unicode("").tag(sync=True)
    job_id = traitlets.Unicode("").tag(sync=True)
    """The job record's id: Cancel then goes through the Jupyter server, which a busy
    kernel does not need to hear (empty: Cancel is hidden while the cell runs)."""
    eta_s = traitlets.Float(None, allow_none=True).tag(sync=True)
    elapsed_s = traitlets.Float(0.0).tag(sync=True)
    status = traitlets.Unicode("running").tag(sync=True)
    last = traitlets.Unicode("").tag(sync=True)
    cancel_requested = traitlets.Bool(False).tag(sync=True)

    def __init__(self, total: int | None = None, description: str = "",
                 progress: Progress | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.progress = progress if progress is not None else Progress(total, description)
        self._sync = _Throttled(self._apply)
        self.on_msg(self._on_frontend_message)
        self.progress.subscribe(self._on_change)

    def _on_change(self, state: ProgressState) -> None:
        self._sync(state, force=state.status != "running" or state.done == 0)

    def _apply(self, state: ProgressState) -> None:
        with self.hold_sync():
            self.description = state.description
            self.done = state.done
            self.total = state.total
            self.passed = state.passed
            self.failed = state.failed
            self.cost_usd = state.cost_usd
            self.cost_text = usd(state.cost_usd)
            self.line = state.line()
            self.eta_s = state.eta_s
            self.elapsed_s = state.elapsed_s
            self.status = state.status
            self.last = state.last
            self.cancel_requested = self.progress.cancelled
        if state.status != "running":
            self._refresh_text()

    def attach_job(self, job_id: str) -> None:
        """Route Cancel through the server's ``/qlayer/api/jobs/<id>/cancel`` for this job."""
        self.job_id = job_id

    def _on_frontend_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "cancel":
            self.cancel()

    @traitlets.observe("cancel_requested")
    def _on_cancel_trait(self, change: dict[str, Any]) -> None:
        if change["new"] and not self.progress.cancelled:
            self.cancel()

    @property
    def cancelled(self) -> bool:
        """True once Cancel was clicked, :meth:`cancel` called, or the kernel interrupted."""
        return self.progress.cancelled

    @property
    def cancel_event(self) -> threading.Event:
        """The flag a batch checks before starting another call."""
        return self.progress.cancel_event

    def __call__(self, done: int, total: int | None, last: Any = None) -> None:
        """The ``on_progress(done, total, last)`` callback of a batch."""
        self.progress(done, total, last)

    def advance(self, last: Any = None, count: int = 1) -> None:
        """Record finished items (see :meth:`Progress.advance`)."""
        self.progress.advance(last, count)

    def cancel(self) -> None:
        """Ask the batch to stop after the calls in flight."""
        self.progress.cancel()

    def finish(self, status: Status = "done") -> None:
        """Mark the end; the widget shows the final counts."""
        self.progress.finish(status)

    def __enter__(self) -> ProgressWidget:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        return self.progress.__exit__(kind, exc, tb)

    def __repr__(self) -> str:
        return self.progress.state.line()


class CostWidget(_SelfUpdatingDisplay, anywidget.AnyWidget):
    """Session cost, project spend against its budget (a bar) and a per-model table.

    :meth:`refresh` reads the project's ledger; :meth:`add` counts a new ``Generation``
    at once, so the widget moves while a cell is still running.
    """

    _esm = _STATIC / "cost.js"
    _css = _STATIC / "cost.css"

    session_cost_usd = traitlets.Float(0.0).tag(sync=True)
    project_spend_usd = traitlets.Float(0.0).tag(sync=True)
    budget_usd = traitlets.Float(None, allow_none=True).tag(sync=True)
    budget_label = traitlets.Unicode("").tag(sync=True)
    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    summary_text = traitlets.Unicode("session $0 · project $0").tag(sync=True)
    budget_text = traitlets.Unicode("no project budget configured").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sync = _Throttled(self._apply)
        self._pending_cost = 0.0

    def _apply(self, session_cost: float) -> None:
        self.session_cost_usd = session_cost
        self._texts()

    def _texts(self) -> None:
        self.summary_text = (f"session {usd(self.session_cost_usd)} · "
                             f"project {usd(self.project_spend_usd)}")
        if self.budget_usd:
            share = self.project_spend_usd / self.budget_usd
            self.budget_text = (f"{self.budget_label}: {usd(self.project_spend_usd)} of "
                                f"{usd(self.budget_usd)} ({share:.1%})")
        else:
            self.budget_text = "no project budget configured"

    def __repr__(self) -> str:
        calls = sum(int(row.get("calls") or 0) for row in self.rows)
        parts = [self.summary_text, f"{calls} calls over {len(self.rows)} models"]
        if self.budget_usd:
            parts.append(self.budget_text)
        return " · ".join(parts)

    def add(self, generation: Any) -> None:
        """Count one call's cost in the session total (throttled sync)."""
        self._pending_cost += float(getattr(generation, "cost_usd", None) or 0.0)
        self._sync(self._pending_cost)

    def refresh(self, since: str | None = None) -> CostWidget:
        """Read spend per model from the ledger, and the first project budget from settings.

        Args:
            since: Count the session from this ISO time (default: since this kernel started).
        """
        from quantumlayer_nb._usage import usage
        from quantumlayer_nb.config import get_settings

        relation = usage(by="model")
        columns = relation.columns
        rows = [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]
        table: list[dict[str, Any]] = [
            {"model": str(row.get("model")), "calls": int(row.get("calls") or 0),
                  "tokens_in": int(row.get("tokens_in") or 0),
                  "tokens_out": int(row.get("tokens_out") or 0),
                  "cost_usd": float(row.get("cost_usd") or 0.0),
                  "cost": usd(float(row.get("cost_usd") or 0.0))} for row in rows
        ]
        budgets = [b for b in get_settings().budgets if b.scope == "project"]
        spend = 0.0
        for row in table:
            spend += row["cost_usd"]
        with self.hold_sync():
            self.rows = table
            self.project_spend_usd = spend
            if budgets:
                self.budget_usd = budgets[0].limit_usd
                self.budget_label = f"project budget ({budgets[0].period})"
            session = usage(since=since or session_started())
            first = (session.fetchall() or [()])[0]
            total = dict(zip(session.columns, first, strict=False))
            self._pending_cost = float(total.get("cost_usd") or 0.0)
            self.session_cost_usd = self._pending_cost
            self._texts()
        self._refresh_text()
        return self
