"""Per-call overhead of qlayer.generate over litellm.completion, against two servers.

Measures, in one run, against each of two OpenAI-compatible loopback servers in their own
process with no latency: the project's (``http.server``, a thread per connection) and one on
another HTTP stack (``aiohttp.web``, one event loop); HTTP/1.1 keep-alive on both, every
contender reusing its connections. Contenders: qlayer.generate with the default settings
(cache on; every call a new prompt, so a miss: lookup, embedding and store included),
qlayer.generate with ``cache=False``, litellm.completion (the anchor), litellm.Router and raw
httpx. Every contender sends the same messages: generate's default system prompt for code,
then the prompt (call ``i`` of every contender sends prompt ``i``). The first call of each
contender (cold: connection set-up, first-use imports) is printed beside the steady figures,
which follow 30 calls per contender.

Targets: generate adds <= 1.0 ms p50 with the default settings, <= 0.5 ms with the cache off.

    python benchmarks/overhead.py [--calls 400] [--servers http.server aiohttp]
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
    contenders: dict[str, Callable[[int], object]], calls: int, block: int = 20
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Run the contenders in alternating blocks, so machine noise falls on all alike.

    Each contender is called with the call's number (0, 1, ...: the same numbers for every
    contender). Returns the timed samples and the first (cold) call's time of each.
    """
    first: dict[str, float] = {}
    for name, call in contenders.items():
        started = time.perf_counter()
        call(0)
        first[name] = (time.perf_counter() - started) * 1000
        for i in range(1, 30):
            call(i)
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    number = 30
    for _ in range(max(1, calls // block)):
        for name, call in contenders.items():
            for i in range(block):
                started = time.perf_counter()
                call(number + i)
                samples[name].append((time.perf_counter() - started) * 1000)
        number += block
    return samples, first


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


def messages_for(i: int) -> list[dict[str, str]]:
    """The messages of call ``i``: generate's system prompt, then prompt ``i``."""
    system, user = same_request()
    return [system, {"role": "user", "content": f"{user['content']} number {i}"}]


def measure_server(label: str, url: str, calls: int) -> dict[str, float]:
    import httpx
    import litellm

    import quantumlayer_nb as qlayer
    from quantumlayer_nb.config import reset_configuration

    work = tempfile.mkdtemp(prefix="qlayer-overhead-")
    os.chdir(work)
    Path("qlayer.toml").write_text(f'[deployments.loop]\nmodel = "{MODEL}"\napi_base = "{url}"\n')
    reset_configuration()
    kwargs = {"model": MODEL, "api_base": url, "api_key": "no-key", "max_retries": 0}
    http = httpx.Client(base_url=url, headers={"Authorization": "Bearer no-key"})
    router = litellm.Router(
        model_list=[{"model_name": "loop", "litellm_params": dict(kwargs)}], num_retries=0
    )
    hits = {"default": 0}

    def default(i: int) -> object:
        result = qlayer.generate(f"{PROMPT} number {i}", model="loop")
        hits["default"] += bool(result.cached)
        return result

    contenders: dict[str, Callable[[int], object]] = {
        "qlayer.generate, default settings (cache on, a miss)": default,
        "qlayer.generate, cache=False": lambda i: qlayer.generate(
            f"{PROMPT} number {i}", model="loop", cache=False),
        "litellm.completion (anchor)": lambda i: litellm.completion(
            messages=messages_for(i), **kwargs),
        "litellm.Router": lambda i: router.completion(model="loop", messages=messages_for(i)),
        "raw httpx": lambda i: http.post(
            "/chat/completions", json={"model": MODEL, "messages": messages_for(i)}).json(),
    }
    results, first = measure_interleaved(contenders, calls)
    names = list(contenders)
    print(f"\n[{label}] {url} — {calls} calls per contender, interleaved in blocks of 20")
    print(f"{'contender':<54}{'p50 ms':>9}{'p90 ms':>9}{'first call ms':>15}")
    for name in names:
        p50, p90 = percentiles(results[name])
        print(f"{name:<54}{p50:>9.3f}{p90:>9.3f}{first[name]:>15.2f}")
    anchor = "litellm.completion (anchor)"
    added = {name: paired_added(results, name, anchor) for name in names if name != anchor}
    print(f"added over litellm.completion (median of per-round block medians), {label}:")
    print(f"  default settings (cache on, a miss): {added[names[0]]:+.3f} ms (target <= 1.0)"
          f"  [{hits['default']} of {len(results[names[0]]) + 30} calls were cache hits]")
    print(f"  cache=False:                         {added[names[1]]:+.3f} ms (target <= 0.5)")
    print(f"  litellm.Router:                      {added['litellm.Router']:+.3f} ms")
    return {"default": added[names[0]], "cache_off": added[names[1]]}


def describe_context_times() -> str:
    """``describe_context`` over 10,000 and 100,000 variables (target: linear)."""
    from quantumlayer_nb._context import describe_context

    took = {}
    for count in (10_000, 100_000):
        variables: dict[str, object] = {f"value_{i}": i for i in range(count)}
        started = time.perf_counter()
        describe_context(variables)
        took[count] = (time.perf_counter() - started) * 1000
    return (f"describe_context: 10,000 variables {took[10_000]:.1f} ms, 100,000 variables "
            f"{took[100_000]:.1f} ms ({took[100_000] / took[10_000]:.1f}x for 10x the "
            "variables; target: linear)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--servers", nargs="+", choices=("http.server", "aiohttp"),
                        default=["http.server", "aiohttp"])
    args = parser.parse_args()

    import litellm

    from quantumlayer_nb.testing import LoopbackServer
    from quantumlayer_nb.testing.aioserver import AiohttpLoopbackServer

    litellm.suppress_debug_info = True
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    figures: dict[str, dict[str, float]] = {}
    for label in args.servers:
        server = (LoopbackServer.spawn(latency_ms=0) if label == "http.server"
                  else AiohttpLoopbackServer(latency_ms=0))
        with server:
            figures[label] = measure_server(label, server.url, args.calls)
    if len(figures) > 1:
        print("\nadded over litellm.completion, side by side:")
        for key, text in (("default", "default settings"), ("cache_off", "cache=False")):
            row = "  ".join(f"{label} {values[key]:+.3f} ms" for label, values in figures.items())
            print(f"  {text:<18} {row}")
    print(f"import quantumlayer_nb: {import_time_ms():.1f} ms (target < 150 ms; best of 7 "
          "fresh interpreters)")
    print(describe_context_times())
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
