"""Evaluation progress and cancel: on_progress, cancel_event and the stop button (SIGINT).

Every test generates through the real pipeline (router, litellm, HTTP) against the loopback
server, with the response cache off so that the server's request count is the number of
generations.
"""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quantumlayer_nb.eval import SampleResult, Suite, evaluate, samples_relation
from quantumlayer_nb.testing import LoopbackServer

NAMES = ("add_one", "double", "negate", "square")
RIGHT = {"add_one": "x + 1", "double": "x * 2", "negate": "-x", "square": "x * x"}


def four_task_suite() -> Suite:
    suite = Suite("progress")
    for name in NAMES:
        expected = eval(f"lambda x: {RIGHT[name]}")(3)
        suite.add(f"Write {name}(x), the {name.replace('_', ' ')} of x.",
                  f"assert {name}(3) == {expected}", id=name)
    return suite


@pytest.fixture(autouse=True)
def interruptible() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt, as in a terminal or a kernel, even when the test run
    inherited SIGINT ignored (a shell starts background jobs that way)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture
def answering(loop_project: Path, loopback_server: LoopbackServer) -> LoopbackServer:
    """The loopback server answering add_one and double right, negate and square wrong."""
    with (loop_project / "qlayer.toml").open("a") as toml:
        toml.write('[cache]\nmode = "off"\n')
    for name in NAMES:
        body = RIGHT[name] if name in ("add_one", "double") else "None"
        loopback_server.add_rule(re.escape(f"Write {name}("),
                                 f"```python\ndef {name}(x):\n    return {body}\n```")
    return loopback_server


def recorded(data_dir: Path) -> list[tuple[str, int]]:
    rows = samples_relation(data_dir).filter("final").project("task_id, sample").fetchall()
    return sorted((str(task), int(sample)) for task, sample in rows)


def test_on_progress_is_called_once_per_sample_with_increasing_done(
        answering: LoopbackServer, loop_project: Path) -> None:
    calls: list[tuple[int, int | None, Any]] = []
    report = evaluate(four_task_suite(), ["loop"], n=2, data_dir=loop_project / "data",
                      concurrency=2, on_progress=lambda d, t, last: calls.append((d, t, last)))
    assert [done for done, _, _ in calls] == list(range(1, 9))
    assert {total for _, total, _ in calls} == {8}
    finished = sorted((last.task_id, last.sample) for _, _, last in calls)
    assert finished == recorded(loop_project / "data")
    assert len(report.samples) == 8


def test_last_carries_pass_cost_task_and_model(answering: LoopbackServer,
                                              loop_project: Path) -> None:
    results: list[SampleResult] = []
    evaluate(four_task_suite(), ["loop"], data_dir=loop_project / "data", concurrency=2,
             on_progress=lambda done, total, last: results.append(last))
    by_task = {result.task_id: result for result in results}
    assert {name for name, result in by_task.items() if result.passed} == {"add_one", "double"}
    assert all(result.model == "loop" and result.cost_usd > 0 for result in results)


def test_on_progress_runs_on_one_thread_never_concurrently(answering: LoopbackServer,
                                                           loop_project: Path) -> None:
    threads: set[int] = set()
    inside = threading.Lock()
    overlaps: list[int] = []

    def on_progress(done: int, total: int | None, last: Any) -> None:
        if not inside.acquire(blocking=False):
            overlaps.append(done)
            return
        threads.add(threading.get_ident())
        inside.release()

    evaluate(four_task_suite(), ["loop"], n=2, data_dir=loop_project / "data", concurrency=4,
             on_progress=on_progress)
    assert len(threads) == 1
    assert overlaps == []


def test_cancel_after_second_sample_stops_early_and_rerun_does_the_rest(
        answering: LoopbackServer, loop_project: Path) -> None:
    data_dir = loop_project / "data"
    cancel = threading.Event()

    def cancel_after_two(done: int, total: int | None, last: Any) -> None:
        if done == 2:
            cancel.set()

    first = evaluate(four_task_suite(), ["loop"], data_dir=data_dir, concurrency=1,
                     on_progress=cancel_after_two, cancel_event=cancel)
    assert first.cancelled
    assert len(recorded(data_dir)) == 2
    assert answering.request_count == 2

    totals: list[int | None] = []
    second = evaluate(four_task_suite(), ["loop"], data_dir=data_dir, concurrency=1,
                      on_progress=lambda done, total, last: totals.append(total))
    assert not second.cancelled
    assert answering.request_count == 4  # only the two missing samples were generated
    assert totals == [2, 2]
    assert len(recorded(data_dir)) == 4
    assert second.pass_at_k("loop", 1) == 0.5


def test_cancel_before_start_runs_nothing(answering: LoopbackServer, loop_project: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    report = evaluate(four_task_suite(), ["loop"], data_dir=loop_project / "data",
                      cancel_event=cancel)
    assert report.cancelled
    assert answering.request_count == 0
    assert "run the evaluation again" in report.to_markdown()


def test_keyboard_interrupt_is_a_clean_cancel_that_records_samples_in_flight(
        answering: LoopbackServer, loop_project: Path) -> None:
    data_dir = loop_project / "data"
    answering.configure(latency_ms=300)
    progress: list[SampleResult] = []

    def interrupt_after_first(done: int, total: int | None, last: SampleResult) -> None:
        progress.append(last)
        if done == 1:  # the kernel's stop button: SIGINT, delivered to the main thread
            threading.Timer(0.05, signal.raise_signal, [signal.SIGINT]).start()

    report = evaluate(four_task_suite(), ["loop"], data_dir=data_dir, concurrency=1,
                      on_progress=interrupt_after_first)
    assert report.cancelled
    assert 1 <= len(progress) < 4
    assert sorted((r.task_id, r.sample) for r in progress) == recorded(data_dir)
    assert answering.request_count == len(progress)  # every started sample was finished


def test_second_keyboard_interrupt_abandons_samples_in_flight_and_raises(
        answering: LoopbackServer, loop_project: Path) -> None:
    data_dir = loop_project / "data"
    answering.configure(latency_ms=1500)
    finished: list[SampleResult] = []

    def interrupt_twice_after_first(done: int, total: int | None, last: SampleResult) -> None:
        finished.append(last)
        if done == 1:
            threading.Timer(0.1, signal.raise_signal, [signal.SIGINT]).start()
            threading.Timer(0.4, signal.raise_signal, [signal.SIGINT]).start()

    with pytest.raises(KeyboardInterrupt):
        evaluate(four_task_suite(), ["loop"], data_dir=data_dir, concurrency=1,
                 on_progress=interrupt_twice_after_first)
    assert len(finished) == 1
    assert recorded(data_dir) == [(finished[0].task_id, 0)]


def test_evaluate_inside_a_running_loop_reports_progress(answering: LoopbackServer,
                                                         loop_project: Path) -> None:
    import asyncio

    dones: list[int] = []

    async def notebook_cell() -> Any:  # a notebook's loop is running while a cell runs
        return evaluate(four_task_suite(), ["loop"], data_dir=loop_project / "data",
                        on_progress=lambda done, total, last: dones.append(done))

    report = asyncio.run(notebook_cell())
    assert dones == [1, 2, 3, 4]
    assert report.pass_at_k("loop", 1) == 0.5


def test_cli_exits_130_when_ctrl_c_cancels(answering: LoopbackServer, loop_project: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from quantumlayer_nb.eval.cli import eval_command

    (loop_project / "tasks.jsonl").write_text("".join(
        f'{{"task_id": "{task.id}", "prompt": "{task.prompt}", "test": "{task.tests}"}}\n'
        for task in four_task_suite()))
    answering.configure(latency_ms=400)
    timer = threading.Timer(0.2, signal.raise_signal, [signal.SIGINT])
    timer.start()
    code = eval_command(str(loop_project / "tasks.jsonl"), ["loop"], 4, [1], None, 0, True,
                        data_dir=loop_project / "data")
    timer.join()
    assert code == 130
    assert "Run the same command again" in capsys.readouterr().err
    assert len(recorded(loop_project / "data")) < 16
