"""Per-call cost of ``span()`` + ``record_call()``: telemetry off, and on (in-memory export).

Measured in one run, best of several ``timeit`` repeats, in nanoseconds per call:

* anchors: an empty function call, and an empty ``with`` block on a reused context manager;
* telemetry off (nothing configured): ``with span(...)``, ``record_call(...)``, and the two
  together as a call site would use them, with GenAI attributes;
* telemetry on, with the SDK's in-memory span exporter and metric reader.

Target: off costs < 1 µs per call site, and does not import opentelemetry.

    python benchmarks/otel_overhead.py [--number 200000]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import timeit
from collections.abc import Callable

for _name in [n for n in os.environ if n.startswith("OTEL_")]:
    del os.environ[_name]  # measure "not configured", whatever the shell has set

from quantumlayer_nb.observability import (  # noqa: E402 - after clearing the environment
    disable_telemetry,
    enable_telemetry,
    record_call,
    span,
    telemetry_enabled,
)

EVENT = {
    "model_served": "gpt-4o-mini",
    "deployment": "loop",
    "outcome": "ok",
    "tokens_in": 40,
    "tokens_out": 12,
    "cost_usd": 0.0001,
    "latency_ms": 80.0,
}
ATTRIBUTES = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.request.temperature": 0.0,
}


def per_call_ns(call: Callable[[], object], number: int, repeat: int = 5) -> float:
    """Best-of-``repeat`` time per call, in nanoseconds."""
    return min(timeit.repeat(call, number=number, repeat=repeat)) / number * 1e9


def empty_function() -> None:
    return None


_NULL = contextlib.nullcontext()


def empty_with() -> None:
    with _NULL:
        pass


def span_only() -> None:
    with span("chat gpt-4o-mini", **ATTRIBUTES):
        pass


def record_only() -> None:
    record_call(EVENT)


def call_site() -> None:
    with span("chat gpt-4o-mini", **ATTRIBUTES):
        pass
    record_call(EVENT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=200_000, help="calls per repeat (off)")
    args = parser.parse_args()
    number = args.number

    print(f"python {sys.version.split()[0]}, {number:,} calls per repeat, best of 5")
    anchor_call = per_call_ns(empty_function, number)
    anchor_with = per_call_ns(empty_with, number)
    print(f"{'anchor: empty function call':48s} {anchor_call:8.1f} ns")
    print(f"{'anchor: empty with block':48s} {anchor_with:8.1f} ns")

    assert not telemetry_enabled()
    off_span = per_call_ns(span_only, number)
    off_record = per_call_ns(record_only, number)
    off_site = per_call_ns(call_site, number)
    loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
    print(f"{'off: with span(name, **4 attributes)':48s} {off_span:8.1f} ns")
    print(f"{'off: record_call(event)':48s} {off_record:8.1f} ns")
    print(f"{'off: span + record_call (one call site)':48s} {off_site:8.1f} ns"
          f"   ({off_site / anchor_with:.1f}x the empty with; target < 1000 ns)")
    print(f"{'off: opentelemetry modules imported':48s} {len(loaded):8d}")

    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    enable_telemetry(tracer_provider, MeterProvider(metric_readers=[InMemoryMetricReader()]))
    on_number = max(number // 20, 1000)

    on_span = per_call_ns(span_only, on_number)
    exporter.clear()  # keep memory flat between measurements
    on_record = per_call_ns(record_only, on_number)
    on_site = per_call_ns(call_site, on_number)
    exporter.clear()
    print(f"{'on (in-memory): with span(...)':48s} {on_span:8.1f} ns")
    print(f"{'on (in-memory): record_call(event)':48s} {on_record:8.1f} ns")
    print(f"{'on (in-memory): span + record_call':48s} {on_site:8.1f} ns"
          f"   ({on_site / anchor_with:.0f}x the empty with)")
    disable_telemetry()


if __name__ == "__main__":
    main()
