"""Measure what progress reporting and cancelling cost an evaluation, next to its anchor.

Run: ``python benchmarks/eval_progress.py [--tasks 40] [--latency-ms 50] [--concurrency 4]``.
A scripted model answers every task after ``latency-ms`` (no network), and each sample runs
in the sandbox as usual. Printed, each next to the anchor from the same run:

- the wall time of ``evaluate`` without a callback (the anchor), with ``on_progress`` set to
  a :class:`~quantumlayer_nb.jupyter.progress.Progress` drawn as a text line, and the time
  spent inside the callback per sample;
- the time from a cancel (set after the first sample) to ``evaluate`` returning, next to
  the time one sample takes (a clean cancel waits for the samples in flight, so it should be
  about one sample, not the rest of the run).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quantumlayer_nb.eval import Suite, evaluate
from quantumlayer_nb.jupyter.progress import Progress, TextProgress


@dataclass
class _Answer:
    text: str
    code: str | None
    model_served: str | None = "scripted"
    tokens_in: int | None = 10
    tokens_out: int | None = 5
    cost_usd: float | None = 0.0001
    latency_ms: float | None = None
    call_id: str | None = None


def _suite(tasks: int) -> Suite:
    suite = Suite("bench")
    for number in range(tasks):
        suite.add(f"Write f{number}(x) returning x + {number}.",
                  f"assert f{number}(1) == {1 + number}", id=f"t{number}")
    return suite


def _scripted(latency_s: float) -> Any:
    async def generate(prompt: str, **_: Any) -> _Answer:
        await asyncio.sleep(latency_s)
        name = prompt.split()[1].split("(")[0]
        number = name[1:]
        code = f"def {name}(x):\n    return x + {number}\n"
        return _Answer(text=code, code=code)
    return generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    suite, latency = _suite(args.tasks), args.latency_ms / 1000
    common: dict[str, Any] = {"concurrency": args.concurrency, "generate": _scripted(latency)}

    with tempfile.TemporaryDirectory() as folder:
        evaluate(_suite(2), ["warm"], data_dir=Path(folder) / "warm", **common)  # warm pool

        start = time.perf_counter()
        evaluate(suite, ["m"], data_dir=Path(folder) / "plain", **common)
        plain = time.perf_counter() - start

        progress = Progress(description="bench")
        TextProgress(progress, stream=io.StringIO())
        spent: list[float] = []

        def timed(done: int, total: int | None, last: Any) -> None:
            began = time.perf_counter()
            progress(done, total, last)
            spent.append(time.perf_counter() - began)

        start = time.perf_counter()
        evaluate(suite, ["m"], data_dir=Path(folder) / "progress", on_progress=timed, **common)
        with_progress = time.perf_counter() - start

        cancel = threading.Event()
        cancelled_at: list[float] = []
        samples: list[float] = []
        started = time.perf_counter()

        def cancel_after_first(done: int, total: int | None, last: Any) -> None:
            samples.append(time.perf_counter() - started)
            if done == 1:
                cancel.set()
                cancelled_at.append(time.perf_counter())

        report = evaluate(suite, ["m"], data_dir=Path(folder) / "cancel",
                          on_progress=cancel_after_first, cancel_event=cancel, **common)
        stop = time.perf_counter() - cancelled_at[0]

    per_sample = plain / args.tasks * args.concurrency
    print(f"samples: {args.tasks}, concurrency {args.concurrency}, "
          f"model latency {args.latency_ms:.0f} ms")
    print(f"evaluate, no callback (anchor):        {plain:8.3f} s")
    print(f"evaluate, on_progress=Progress:        {with_progress:8.3f} s "
          f"({(with_progress / plain - 1) * 100:+.1f}% against the anchor)")
    print(f"callback time per sample, p50 / max:   {statistics.median(spent) * 1e6:8.1f} us / "
          f"{max(spent) * 1e6:.1f} us")
    print(f"cancel to return:                      {stop * 1000:8.1f} ms "
          f"(one sample takes about {per_sample * 1000:.1f} ms; the rest of the run would "
          f"take {plain * 1000:.0f} ms)")
    print(f"samples recorded after the cancel:     {len(report.samples):8d} of {args.tasks} "
          f"(cancelled={report.cancelled})")


if __name__ == "__main__":
    main()
