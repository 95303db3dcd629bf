"""generate_many / agenerate_many: order, progress, failures, workers, resume after a kill."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from quantumlayer_nb._batch import agenerate_many, generate_many
from quantumlayer_nb.generation import Generation
from quantumlayer_nb.testing import LoopbackServer


def test_results_come_back_in_prompt_order(loop_project: Path,
                                           loopback_server: LoopbackServer) -> None:
    for i in range(6):
        loopback_server.add_rule(f"task {i}$", f"answer {i}")
    results = generate_many([f"task {i}" for i in range(6)], concurrency=3, format="text",
                            cache=False)
    assert [r.text for r in results if isinstance(r, Generation)] == [
        f"answer {i}" for i in range(6)]


def test_on_progress_is_called_as_items_finish(loop_project: Path) -> None:
    seen: list[tuple[int, int]] = []
    generate_many([f"task {i}" for i in range(5)], concurrency=2,
                  on_progress=lambda done, total, last: seen.append((done, total)),
                  cache=False)
    assert seen == [(i, 5) for i in range(1, 6)]


def test_a_failed_item_is_returned_not_raised(loop_project: Path,
                                              loopback_server: LoopbackServer) -> None:
    loopback_server.fail("bad_request", times=1)
    results = generate_many(["a", "b", "c"], concurrency=1, cache=False)
    assert sum(isinstance(r, Exception) for r in results) == 1
    assert sum(isinstance(r, Generation) for r in results) == 2


def test_agenerate_many_runs_on_the_callers_loop(loop_project: Path) -> None:
    results = asyncio.run(agenerate_many(["a", "b"], concurrency=2, cache=False))
    assert all(isinstance(r, Generation) for r in results)


def test_worker_processes_complete_the_batch(loop_project: Path,
                                             loopback_server: LoopbackServer) -> None:
    seen: list[int] = []
    results = generate_many([f"job {i}" for i in range(20)], concurrency=8, workers=2,
                            on_progress=lambda done, total, last: seen.append(done),
                            cache=False)
    assert all(isinstance(r, Generation) for r in results)
    assert seen == list(range(1, 21))
    assert loopback_server.request_count == 20


RUN = textwrap.dedent("""
    import os, sys
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    os.chdir(sys.argv[1])
    from quantumlayer_nb._batch import generate_many
    generate_many([f"task {i}" for i in range(40)], concurrency=4, workers=1, cache=False)
""")


@pytest.fixture
def slow_server() -> Iterator[LoopbackServer]:
    with LoopbackServer.spawn(latency_ms=100) as srv:
        yield srv  # type: ignore[misc]


@pytest.mark.slow
def test_killed_batch_pays_only_for_missing_items(project: Path,
                                                  slow_server: LoopbackServer) -> None:
    (project / "qlayer.toml").write_text(
        f'project = "b"\nuser = "u"\ndefault_route = "loop"\n[deployments.loop]\n'
        f'model = "openai/gpt-4o-mini"\napi_base = "{slow_server.url}"\n')
    script = project / "run.py"
    script.write_text(RUN)
    proc = subprocess.Popen([sys.executable, str(script), str(project)])
    journal_dir = project / ".qlayer" / "batches"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lines = sum(p.read_text().count("\n") for p in journal_dir.glob("*.jsonl")) \
            if journal_dir.exists() else 0
        if lines >= 10:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.3)  # let requests already sent reach the server
    journaled = sum(p.read_text().count("\n") for p in journal_dir.glob("*.jsonl"))
    sent_before = slow_server.request_count
    assert 10 <= journaled < 40
    subprocess.run([sys.executable, str(script), str(project)], check=True, timeout=120)
    assert slow_server.request_count - sent_before == 40 - journaled
    again = generate_many([f"task {i}" for i in range(40)], concurrency=4, workers=1, cache=False)
    assert all(isinstance(r, Generation) for r in again)
    assert slow_server.request_count - sent_before == 40 - journaled


def test_a_line_cut_by_a_kill_costs_only_its_item(loop_project: Path,
                                                  loopback_server: LoopbackServer) -> None:
    prompts = ["a", "b", "c"]
    generate_many(prompts, concurrency=1, cache=False)
    (journal,) = (loop_project / ".qlayer" / "batches").glob("*.jsonl")
    data = journal.read_bytes()
    journal.write_bytes(data[: len(data) - 40])  # the last entry is cut mid-line
    generate_many(prompts, concurrency=1, cache=False)
    generate_many(prompts, concurrency=1, cache=False)
    assert loopback_server.request_count == 4


def test_cancel_stops_unstarted_items_and_a_rerun_finishes_them(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    import threading

    from quantumlayer_nb._batch import BatchCancelled

    cancel = threading.Event()
    prompts = [f"cancel task {i}" for i in range(6)]

    def stop_after_two(done: int, total: int, last: object) -> None:
        if done == 2:
            cancel.set()

    first = generate_many(prompts, concurrency=1, on_progress=stop_after_two,
                          cancel_event=cancel, format="text")
    finished = [r for r in first if isinstance(r, Generation)]
    assert len(finished) == 2
    assert all(isinstance(r, BatchCancelled) for r in first[2:])
    assert loopback_server.request_count == 2
    second = generate_many(prompts, concurrency=1, format="text")
    assert all(isinstance(r, Generation) for r in second)
    assert loopback_server.request_count == 6


def test_a_progress_widget_cancel_event_is_honoured(loop_project: Path) -> None:
    import threading

    from quantumlayer_nb._batch import BatchCancelled

    class Bar:
        def __init__(self) -> None:
            self.cancel_event = threading.Event()

        def __call__(self, done: int, total: int, last: object) -> None:
            self.cancel_event.set()

    results = generate_many([f"bar task {i}" for i in range(4)], concurrency=1,
                            on_progress=Bar(), format="text", cache=False)
    assert isinstance(results[0], Generation)
    assert all(isinstance(r, BatchCancelled) for r in results[1:])


def test_pacer_spaces_starts_by_the_measured_cpu_per_call() -> None:
    from quantumlayer_nb._batch import _Pacer

    async def starts(pacer: _Pacer, n: int) -> list[float]:
        times = []
        for _ in range(n):
            await pacer.turn()
            times.append(time.perf_counter())
        return times

    pacer = _Pacer()
    first = asyncio.run(starts(pacer, 5))
    # Before any call finished: starts are scheduled the prior gap apart. A sleep never ends
    # early but may end late on a loaded machine (then the next gap is shorter), so the
    # span of the starts is what is pinned, not each gap.
    assert first[-1] - first[0] >= 4 * _Pacer.PRIOR_S * 0.95

    pacer = _Pacer()
    pacer.finished = pacer.started = 100
    pacer.cpu_at_start = time.process_time() - 0.2  # 2 ms of CPU per call so far
    assert pacer.gap_s() == pytest.approx(0.002, rel=0.2)
    pacer.cpu_at_start = time.process_time() - 100.0  # other work in the process: capped
    assert pacer.gap_s() == _Pacer.MAX_S


def test_paced_batch_is_not_slower_than_its_latency_floor(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    loopback_server.configure(latency_ms=100)
    started = time.perf_counter()
    results = asyncio.run(agenerate_many([f"floor {i}" for i in range(40)], concurrency=20,
                                         cache=False))
    elapsed = time.perf_counter() - started
    assert all(isinstance(r, Generation) for r in results)
    # Two rounds of 100 ms; pacing 20 starts a few milliseconds apart adds well under that.
    assert elapsed < 1.5


def test_forked_workers_share_the_items_and_do_each_once(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    for i in range(30):
        loopback_server.add_rule(f"shared {i}$", f"answer {i}")
    results = generate_many([f"shared {i}" for i in range(30)], concurrency=6, workers=2,
                            format="text", cache=False)
    assert [r.text for r in results if isinstance(r, Generation)] == [
        f"answer {i}" for i in range(30)]
    assert loopback_server.request_count == 30
    from quantumlayer_nb import _batch

    assert _batch._shared is None  # cleared once the workers are done


def test_two_threads_fork_their_own_batches(loop_project: Path,
                                            loopback_server: LoopbackServer) -> None:
    import threading

    for i in range(24):
        loopback_server.add_rule(f"left {i}$", f"L{i}")
        loopback_server.add_rule(f"right {i}$", f"R{i}")
    out: dict[str, list[object]] = {}

    def run(side: str) -> None:
        out[side] = generate_many([f"{side} {i}" for i in range(24)], concurrency=4, workers=2,
                                  format="text", cache=False)

    threads = [threading.Thread(target=run, args=(side,)) for side in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for side, mark in (("left", "L"), ("right", "R")):
        assert [getattr(r, "text", r) for r in out[side]] == [f"{mark}{i}" for i in range(24)]
    assert loopback_server.request_count == 48


STORE_ELSEWHERE = textwrap.dedent("""
    import os, sys
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    os.chdir(sys.argv[1])
    import quantumlayer_nb as qlayer
    for i in range(6):
        qlayer.generate(f"convert the temperatures in column c{i} to kelvin", format="text",
                        temperature=0)
""")


def test_forked_workers_answer_from_what_another_process_stored(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    # The parent reads the other process's entries (and loads the embedder) before the fork;
    # the workers must still see every one of them, exact and semantic.
    subprocess.run([sys.executable, "-c", STORE_ELSEWHERE, str(loop_project)], check=True,
                   timeout=120)
    stored = loopback_server.request_count
    prompts = [f"convert the temperatures in column c{i} to kelvin" for i in range(6)]
    prompts.append("please convert the temperatures in column c2 to kelvin")
    # temperature 0: the semantic layer answers only deterministic requests by default
    results = generate_many(prompts, concurrency=3, workers=2, format="text", temperature=0)
    assert all(isinstance(r, Generation) and r.cached for r in results), [
        (getattr(r, "cached", r), getattr(r, "cache_kind", None)) for r in results]
    assert [getattr(r, "cache_kind", None) for r in results] == ["exact"] * 6 + ["semantic"]
    assert loopback_server.request_count == stored
