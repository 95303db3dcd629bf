"""ProgressWidget, CostWidget and the progress API: state, sync messages, cancel, text fallback."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ipywidgets.widgets.tests.utils import setup_test_comm, teardown_test_comm

import quantumlayer_nb as qlayer
from quantumlayer_nb.jupyter.progress import Progress, TextProgress, track
from quantumlayer_nb.jupyter.widgets import CostWidget, ProgressWidget


@pytest.fixture(autouse=True)
def test_comm() -> Iterator[None]:
    setup_test_comm()
    yield
    teardown_test_comm()


def synced_states(widget: Any) -> list[dict[str, Any]]:
    """The state dicts of every 'update' message the widget sent to the frontend."""
    states = []
    for args, kwargs in widget.comm.messages:
        data = kwargs.get("data") or (args[0] if args else {})
        if data.get("method") == "update":
            states.append(data["state"])
    return states


def wait_for(predicate: Any, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_esm_and_css_ship_in_the_package() -> None:
    widget = ProgressWidget(total=3)
    assert "export default" in widget._esm
    assert "qlayer-progress" in widget._css
    assert "http" not in widget._esm


def test_callback_updates_state_and_sends_it() -> None:
    widget = ProgressWidget(total=4, description="batch")
    widget(1, 4, None)
    widget.finish()
    assert (widget.done, widget.total, widget.status) == (1, 4, "done")
    assert any(state.get("done") == 1 for state in synced_states(widget))


def test_failed_item_and_cost_are_counted() -> None:
    class Result:
        cost_usd = 0.25
        passed = True

    widget = ProgressWidget(total=3)
    widget(1, 3, Result())
    widget(2, 3, RuntimeError("provider down"))
    widget.finish()
    assert (widget.passed, widget.failed) == (1, 1)
    assert widget.cost_usd == pytest.approx(0.25)
    assert "RuntimeError" in widget.last


def test_updates_are_throttled_but_the_last_one_lands() -> None:
    widget = ProgressWidget(total=500)
    for done in range(1, 501):
        widget(done, 500, None)
    wait_for(lambda: widget.done == 500)
    assert widget.done == 500
    assert len(synced_states(widget)) < 50


def test_updates_flow_from_a_worker_thread() -> None:
    import threading

    widget = ProgressWidget(total=2)
    worker = threading.Thread(target=lambda: [widget(i, 2, None) for i in (1, 2)])
    worker.start()
    worker.join()
    wait_for(lambda: widget.done == 2)
    assert synced_states(widget)[-1].get("done") == 2 or widget.done == 2


def test_cancel_message_from_frontend_sets_the_event() -> None:
    widget = ProgressWidget(total=10)
    widget._handle_custom_msg({"event": "cancel"}, [])
    assert widget.cancel_event.is_set()
    assert widget.cancelled


def test_cancel_trait_from_frontend_sets_the_event() -> None:
    widget = ProgressWidget(total=10)
    widget.set_state({"cancel_requested": True})
    assert widget.cancelled


def test_keyboard_interrupt_is_a_clean_cancel() -> None:
    widget = ProgressWidget(total=10)
    with widget:
        widget(1, 10, None)
        raise KeyboardInterrupt
    assert widget.status == "cancelled"
    assert widget.done == 1


def test_eta_from_rate_so_far() -> None:
    progress = Progress(total=10)
    progress.advance()
    state = progress.state
    assert state.eta_s is not None
    assert state.eta_s == pytest.approx(9 * state.elapsed_s, rel=0.5)


def test_text_fallback_writes_one_line_per_state() -> None:
    stream = io.StringIO()
    progress = Progress(total=2, description="batch")
    text = TextProgress(progress, stream=stream)
    progress.advance()
    progress.advance()
    progress.finish()
    assert stream.getvalue().rstrip().endswith(text.lines[-1])
    assert text.lines[-1].startswith("batch 2/2 · 2 ok · $0")  # no "0 failed" when none did


def test_track_without_frontend_counts_and_stops_on_cancel(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QUANTUMLAYER_PROGRESS", "text")
    seen = []
    with track(range(10), description="loop") as bar:
        for item in bar:
            seen.append(item)
            if item == 2:
                bar.progress.cancel()
    assert seen == [0, 1, 2]
    assert bar.progress.state.status == "cancelled"
    assert "loop 3/10" in capsys.readouterr().err


def test_cost_widget_reads_spend_per_model_and_budget(loop_project: Path) -> None:
    qlayer.configure(budgets=[{"scope": "project", "limit_usd": 5.0}])
    generation = qlayer.generate("print a greeting")
    widget = CostWidget().refresh(since="2000-01-01")
    assert widget.rows[0]["calls"] == 1
    assert widget.project_spend_usd == pytest.approx(generation.cost_usd)
    assert widget.session_cost_usd == pytest.approx(generation.cost_usd)
    assert widget.budget_usd == 5.0
    assert any("rows" in state for state in synced_states(widget))


def test_cost_widget_add_counts_a_call_at_once() -> None:
    class Call:
        cost_usd = 0.5

    widget = CostWidget()
    widget.add(Call())
    assert widget.session_cost_usd == pytest.approx(0.5)
