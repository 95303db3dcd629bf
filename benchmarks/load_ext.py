"""Time ``%load_ext quantumlayer_nb`` in a fresh IPython, next to ``%load_ext jupyter_ai_magics``.

Each figure is the median of fresh processes (nothing cached in memory): the time of the
``%load_ext`` line alone, after IPython has started. The target is 250 ms or less.

Run: ``python benchmarks/load_ext.py [--runs 5] [--anchor-path DIR]``
(``--anchor-path`` adds a folder holding jupyter-ai-magics to the anchor's ``sys.path``,
for when it is installed apart from the project's environment).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

PROBE = """
import json, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
started = time.perf_counter()
shell.run_line_magic("load_ext", {extension!r})
elapsed = time.perf_counter() - started
import sys
print(json.dumps({{"ms": elapsed * 1000, "litellm_loaded": "litellm" in sys.modules}}))
"""


def measure(extension: str, runs: int, extra_path: str | None = None) -> list[float] | str:
    """Load ``extension`` in ``runs`` fresh processes; the times in ms, or why it failed."""
    env = dict(os.environ)
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), extra_path) if p)
    times = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", PROBE.format(extension=extension)],
                              capture_output=True, text=True, env=env, timeout=300)
        if done.returncode != 0:
            return (done.stderr.strip().splitlines() or ["failed"])[-1]
        times.append(json.loads(done.stdout.strip().splitlines()[-1])["ms"])
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--anchor-path", default=None)
    args = parser.parse_args()

    ours = measure("quantumlayer_nb", args.runs)
    if isinstance(ours, str):
        raise SystemExit(f"quantumlayer_nb did not load: {ours}")
    print(f"%load_ext quantumlayer_nb   median {statistics.median(ours):7.1f} ms  "
          f"(min {min(ours):.1f}, max {max(ours):.1f}, {args.runs} fresh processes; "
          "target <= 250 ms)")
    anchor = measure("jupyter_ai_magics", args.runs, args.anchor_path)
    if isinstance(anchor, str):
        print(f"%load_ext jupyter_ai_magics not measured: it is not installed here ({anchor}). "
              "Install it with pip install jupyter-ai-magics to compare.")
        return
    print(f"%load_ext jupyter_ai_magics median {statistics.median(anchor):7.1f} ms  "
          f"(min {min(anchor):.1f}, max {max(anchor):.1f}) <- anchor, same run")
    print(f"ratio: quantumlayer_nb loads {statistics.median(anchor) / statistics.median(ours):.1f}x "
          "faster")


if __name__ == "__main__":
    main()
