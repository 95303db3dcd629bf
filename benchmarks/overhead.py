"""Per-call overhead of qlayer.generate over litellm.completion, against the loopback server.

Measures, in one run against the same loopback server (a separate process, no latency):
raw httpx, litellm.completion, litellm.Router, and qlayer.generate (ledger write included),
plus the time of ``import quantumlayer_nb`` in a fresh interpreter. Every contender sends the
same request: the two messages generate sends (its default system prompt, then the prompt).

Target: generate adds <= 0.5 ms p50 over litellm.completion.

    python benchmarks/overhead.py [--calls 400]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

PROMPT = "print a greeting"
MODEL = "openai/gpt-4o-mini"


def same_request() -> list[dict[str, str]]:
    """The messages generate sends for PROMPT (its default system prompt for code, then the
    prompt), so every contender sends the same request and only the layers around it differ."""
    from quantumlayer_nb._api import _DEFAULT_SYSTEM

    return [{"role": "system", "content": _DEFAULT_SYSTEM["code"]},
            {"role": "user", "content": PROMPT}]


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.9)]


def paired_added(samples: dict[str, list[float]], name: str, base: str, block: int = 20
                 ) -> float:
    """Median over rounds of (median of ``name``'s block - median of ``base``'s block).

    Each round runs every contender's block back to back, so a slow spell of the machine
    lands on both sides of one difference instead of on one contender's pooled samples.
    """
    ours, theirs = samples[name], samples[base]
    return statistics.median(
        statistics.median(ours[i:i + block]) - statistics.median(theirs[i:i + block])
        for i in range(0, min(len(ours), len(theirs)), block)
    )


def measure_interleaved(
    contenders: dict[str, Callable[[], object]], calls: int, block: int = 20
) -> dict[str, list[float]]:
    """Run the contenders in alternating blocks, so machine noise falls on all alike."""
    for call in contenders.values():
        for _ in range(30):
            call()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(max(1, calls // block)):
        for name, call in contenders.items():
            for _ in range(block):
                started = time.perf_counter()
                call()
                samples[name].append((time.perf_counter() - started) * 1000)
    return samples


def import_time_ms(runs: int = 7) -> float:
    code = (
        "import time, sys; t = time.perf_counter(); import quantumlayer_nb; "
        "d = time.perf_counter() - t; "
        "assert 'litellm' not in sys.modules and 'qdrant_client' not in sys.modules; "
        "print(d * 1000)"
    )
    times = [
        float(subprocess.check_output([sys.executable, "-c", code],
                                      stderr=subprocess.DEVNULL, text=True))
        for _ in range(runs)
    ]
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    args = parser.parse_args()

    import httpx
    import litellm

    import quantumlayer_nb as qlayer
    from quantumlayer_nb.testing import LoopbackServer

    litellm.suppress_debug_info = True
    messages = same_request()
    with LoopbackServer.spawn(latency_ms=0) as server, tempfile.TemporaryDirectory() as work:
        os.chdir(work)
        Path("qlayer.toml").write_text(
            f'[deployments.loop]\nmodel = "{MODEL}"\napi_base = "{server.url}"\n'
        )
        kwargs = {"model": MODEL, "api_base": server.url, "api_key": "no-key", "max_retries": 0}
        http = httpx.Client(base_url=server.url, headers={"Authorization": "Bearer no-key"})
        router = litellm.Router(
            model_list=[{"model_name": "loop", "litellm_params": dict(kwargs)}], num_retries=0
        )
        contenders: dict[str, Callable[[], object]] = {
            "raw httpx": lambda: http.post(
                "/chat/completions", json={"model": MODEL, "messages": messages}
            ).json(),
            "litellm.completion": lambda: litellm.completion(messages=messages, **kwargs),
            "litellm.Router": lambda: router.completion(model="loop", messages=messages),
            # cache=False: every call goes to the server, as litellm's do.
            "qlayer.generate": lambda: qlayer.generate(PROMPT, model="loop", cache=False),
        }
        results = measure_interleaved(contenders, args.calls)

    print(f"calls per contender: {args.calls}, interleaved in blocks of 20 "
          "(loopback server in its own process)")
    print(f"{'contender':<22}{'p50 ms':>10}{'p90 ms':>10}")
    for name, samples in results.items():
        p50, p90 = percentiles(samples)
        print(f"{name:<22}{p50:>10.3f}{p90:>10.3f}")
    ours = paired_added(results, "qlayer.generate", "litellm.completion")
    router = paired_added(results, "litellm.Router", "litellm.completion")
    print(f"added over litellm.completion (median of per-round block medians): "
          f"qlayer.generate {ours:+.3f} ms (target <= 0.5 ms), litellm.Router {router:+.3f} ms")
    print(f"import quantumlayer_nb: {import_time_ms():.1f} ms (target < 150 ms)")


if __name__ == "__main__":
    main()
