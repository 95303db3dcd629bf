"""Measure the cost of one ``Ledger.append`` (a typical ``call`` event).

Run: ``python benchmarks/ledger_append.py [--n 20000]``. Prints p50/p90/p99 per append for a
``LedgerEvent`` and for a plain dict (validated on the way in), and compares the p50 with the
anchor: well under 100 µs, inside the library's 0.5 ms per-call overhead budget.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from quantumlayer_nb.ledger import Ledger, LedgerEvent

ANCHOR_P50_US = 100.0


def _call_fields(i: int) -> dict[str, Any]:
    return {
        "kind": "call",
        "project": "demo",
        "user": "ada",
        "notebook": "notebooks/quickstart.ipynb",
        "call_id": f"call-{i}",
        "attempt": 1,
        "route": "default",
        "deployment": "openai-gpt-4o-mini",
        "model_requested": "gpt-4o-mini",
        "model_served": "gpt-4o-mini-2024-07-18",
        "tokens_in": 812,
        "tokens_out": 240,
        "cost_usd": 0.000266,
        "latency_ms": 1834.2,
        "ttft_ms": 402.7,
        "outcome": "ok",
        "prompt_hash": "9f" * 32,
        "response_hash": "3a" * 32,
        "tags": ["quickstart"],
        "data": {"temperature": 0.2, "max_tokens": 512},
    }


def _measure(ledger: Ledger, n: int, as_model: bool) -> list[float]:
    timings: list[float] = []
    for i in range(n):
        fields = _call_fields(i)
        event: LedgerEvent | dict[str, Any] = LedgerEvent(**fields) if as_model else fields
        start = time.perf_counter_ns()
        ledger.append(event)
        timings.append((time.perf_counter_ns() - start) / 1000)
    return timings


def _report(label: str, timings: list[float]) -> float:
    cuts = statistics.quantiles(timings, n=100)
    p50, p90, p99 = cuts[49], cuts[89], cuts[98]
    print(f"{label:<28} p50 {p50:7.1f} µs   p90 {p90:7.1f} µs   p99 {p99:7.1f} µs")
    return p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000, help="appends per variant")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Ledger(Path(tmp)) as ledger:
        _measure(ledger, 500, as_model=True)  # warm up: segment creation, caches
        p50_model = _report("append(LedgerEvent)", _measure(ledger, args.n, as_model=True))
        p50_dict = _report(
            "append(dict) incl. validation", _measure(ledger, args.n, as_model=False)
        )
        assert ledger.path is not None
        size = ledger.path.stat().st_size / (2 * args.n + 501)
        print(f"average line: {size:.0f} bytes")
    worst = max(p50_model, p50_dict)
    verdict = "within" if worst < ANCHOR_P50_US else "OVER"
    print(f"anchor: p50 < {ANCHOR_P50_US:.0f} µs -> {verdict} ({worst:.1f} µs)")


if __name__ == "__main__":
    main()
