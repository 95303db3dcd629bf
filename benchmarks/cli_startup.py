"""Whole-process time of an offline ``qlayer generate``, as typed in a terminal.

Every figure is the median wall time of fresh processes, measured in the same run as two
anchors: ``python -c pass`` (the interpreter alone) and ``python -c "import litellm"`` (what
every offline call used to wait for). Cases:

- **offline generate, first call**: a fresh project folder each time (empty response cache),
  the recipe index read from the cache folder (as on every call after the first ever);
- **offline generate, cache hit**: the same request again in that folder;
- **first ever call**: an empty recipe-index cache folder too (the library is embedded);
- the same first call with ``[safety] hap = "off"``, to show what the safety model costs.

Targets: first call <= 1.5 s, cache hit <= 1.0 s. The footer's latency of each first call is
printed as well: it is the call's own time, not the process start.

Run: ``python benchmarks/cli_startup.py [--runs 5]``
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QLAYER = str(Path(sys.executable).with_name("qlayer"))
REQUEST = "total revenue per region"
TARGETS = {"offline generate, first call": 1.5, "offline generate, cache hit": 1.0}


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_API_KEY") and not k.startswith("QLAYER_")}
    env["QLAYER_CACHE_DIR"] = str(cache)
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    return env


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    """Run ``command`` once; its wall time in seconds and its stderr."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 3):
        raise RuntimeError(f"{command} failed: {done.stderr.strip()[-400:]}")
    return elapsed, done.stderr


def _footer_ms(stderr: str) -> float | None:
    match = re.search(r"· ([\d,]+) ms ·", stderr)
    return float(match.group(1).replace(",", "")) if match else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    figures: dict[str, list[float]] = {}
    footers: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        cache = root / "cache"
        env = _env(cache)
        anchors = {
            "anchor: python -c pass": [sys.executable, "-c", "pass"],
            'anchor: python -c "import litellm"': [sys.executable, "-c", "import litellm"],
        }
        for label, command in anchors.items():
            figures[label] = [timed(command, root, env)[0] for _ in range(args.runs)]
        timed([QLAYER, "generate", REQUEST], root, env)  # fills the recipe-index cache
        first, hits, cold, no_hap = [], [], [], []
        for run in range(args.runs):
            project = root / f"project{run}"
            project.mkdir()
            seconds, stderr = timed([QLAYER, "generate", REQUEST], project, env)
            first.append(seconds)
            if (ms := _footer_ms(stderr)) is not None:
                footers.append(ms)
            hits.append(timed([QLAYER, "generate", REQUEST], project, env)[0])
            empty_cache = root / f"cold{run}"
            cold_project = root / f"coldproject{run}"
            cold_project.mkdir()
            cold.append(timed([QLAYER, "generate", REQUEST], cold_project,
                              _env(empty_cache))[0])
            shutil.rmtree(empty_cache, ignore_errors=True)
            quiet = root / f"nohap{run}"
            quiet.mkdir()
            (quiet / "qlayer.toml").write_text('[safety]\nhap = "off"\n', encoding="utf-8")
            no_hap.append(timed([QLAYER, "generate", REQUEST], quiet, env)[0])
        figures["offline generate, first call"] = first
        figures["offline generate, cache hit"] = hits
        figures["first ever call (index embedded)"] = cold
        figures['first call with [safety] hap = "off"'] = no_hap

    print(f"qlayer generate {REQUEST!r}, offline; median of {args.runs} fresh processes")
    for label, values in figures.items():
        median = statistics.median(values)
        target = TARGETS.get(label)
        verdict = ""
        if target is not None:
            verdict = f"target <= {target:.1f} s: {'met' if median <= target else 'NOT met'}"
        print(f"  {label:<40} {median:6.2f} s   {verdict}")
    if footers:
        print(f"  footer latency of the first calls (median)  {statistics.median(footers):6.0f} ms")


if __name__ == "__main__":
    main()
