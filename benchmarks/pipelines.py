"""Notebook pipelines as users run them: a sweep against sequential papermill, and a replay.

1. A sweep of 8 runs of a 5-cell notebook on 2 local workers, the whole command
   ``qlayer sweep NB --grid grid.yaml --workers 2`` (a fresh process), against 8 sequential
   whole commands ``papermill NB OUT -p a N`` of the same notebook, in the same run.
   Target: the sweep takes <= 0.6x the sequential time.
2. A notebook that makes 3 LLM calls against the project's loopback server (200 ms latency),
   run live with ``qlayer run`` and then replayed with ``qlayer run --replay``: the time of
   each and the provider requests each made (the replay must make 0).

Run: python benchmarks/pipelines.py
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from quantumlayer_nb.testing import LoopbackServer

BIN = Path(sys.executable).parent
TARGET_RATIO = 0.6


def five_cell_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3"}
    params = nbformat.v4.new_code_cell("a = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell("import math\nimport statistics"),
        nbformat.v4.new_code_cell("values = [math.sin(a * i) for i in range(10_000)]"),
        nbformat.v4.new_code_cell("mean = statistics.fmean(values)"),
        nbformat.v4.new_code_cell("print(round(mean, 6))"),
    ]
    path = folder / "five.ipynb"
    nbformat.write(nb, str(path))
    return path


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("QLAYER_")}


def sweep_vs_papermill(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        notebook = five_cell_notebook(folder)
        (folder / "grid.yaml").write_text(f"a: {list(range(1, runs + 1))}\n")
        started = time.perf_counter()
        for a in range(1, runs + 1):
            subprocess.run([str(BIN / "papermill"), str(notebook), str(folder / f"out{a}.ipynb"),
                            "-p", "a", str(a), "--no-progress-bar"], cwd=folder,
                           env=clean_env(), check=True, capture_output=True)
        sequential = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run([str(BIN / "qlayer"), "sweep", str(notebook), "--grid", "grid.yaml",
                        "--workers", "2"], cwd=folder, env=clean_env(), check=True,
                       capture_output=True)
        swept = time.perf_counter() - started
    ratio = swept / sequential
    print(f"sweep of {runs} runs, 2 workers, whole command: {swept:.1f} s")
    print(f"  anchor: {runs} sequential papermill commands, same run: {sequential:.1f} s")
    print(f"  ratio {ratio:.2f}x (target <= {TARGET_RATIO}x): "
          f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}")


def live_vs_replay() -> None:
    with tempfile.TemporaryDirectory() as tmp, LoopbackServer() as server:
        folder = Path(tmp)
        server.configure(latency_ms=200)
        (folder / "qlayer.toml").write_text(
            f'[deployments.loop]\nmodel = "openai/gpt-4o-mini"\napi_base = "{server.url}"\n')
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                     "display_name": "Python 3"}
        nb.cells = [nbformat.v4.new_code_cell(
            "import quantumlayer_nb as qlayer\n"
            + "".join(f"qlayer.generate('request number {i}', model='loop', format='text')\n"
                      for i in range(3)))]
        nbformat.write(nb, str(folder / "calls.ipynb"))
        timings = {}
        for label, extra in (("live", []), ("replay", ["--replay"])):
            before = server.request_count
            started = time.perf_counter()
            subprocess.run([str(BIN / "qlayer"), "run", "calls.ipynb", *extra], cwd=folder,
                           env=clean_env(), check=True, capture_output=True)
            timings[label] = (time.perf_counter() - started, server.request_count - before)
    for label, (seconds, requests) in timings.items():
        print(f"qlayer run {'--replay ' if label == 'replay' else ''}(whole command, 3 calls "
              f"at 200 ms): {seconds:.1f} s, {requests} provider requests")
    print(f"  replay made {timings['replay'][1]} provider requests (target 0): "
          f"{'met' if timings['replay'][1] == 0 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    args = parser.parse_args()
    sweep_vs_papermill(args.runs)
    live_vs_replay()


if __name__ == "__main__":
    main()
