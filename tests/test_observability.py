"""OpenTelemetry spans and metrics: off and free by default, GenAI attributes when on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import quantumlayer_nb.observability as obs
from quantumlayer_nb.generation import Generation
from quantumlayer_nb.observability import (
    disable_telemetry,
    enable_telemetry,
    record_call,
    request_attributes,
    response_attributes,
    span,
    telemetry_enabled,
)

API_FILE = Path(obs.__file__).parent.parent / "_api.py"


class Recorded:
    """The in-memory span exporter and metric reader of one test."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.metrics = InMemoryMetricReader()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.meter_provider = MeterProvider(metric_readers=[self.metrics])

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def points(self) -> dict[str, list[Any]]:
        """Metric name -> data points, from one collection."""
        data = self.metrics.get_metrics_data()
        found: dict[str, list[Any]] = {}
        if data is None:
            return found
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorded]:
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
    rec = Recorded()
    assert enable_telemetry(rec.tracer_provider, rec.meter_provider)
    yield rec
    disable_telemetry()


def _generation(**overrides: Any) -> Generation:
    fields: dict[str, Any] = {
        "text": "x = 1",
        "code": "x = 1\n",
        "format": "code",
        "model": "fast",
        "model_served": "gpt-4o-mini",
        "deployment": "loop",
        "tokens_in": 40,
        "tokens_out": 12,
        "cost_usd": 0.25,
        "cost_known": True,
        "latency_ms": 80.0,
        "call_id": "c1",
        "prompt_hash": "h",
    }
    fields.update(overrides)
    return Generation(**fields)


def _run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


_PROBE = """
    import json, sys
    from quantumlayer_nb.observability import record_call, span, telemetry_enabled
    first, second = span("qlayer.generate"), span("qlayer.cache.lookup", hit=True)
    with first as inner:
        inner.set_attribute("gen_ai.response.model", "m")
    record_call({"model_served": "m", "cost_usd": 0.1, "latency_ms": 3.0})
    print(json.dumps({
        "enabled": telemetry_enabled(),
        "same_object": first is second,
        "otel_loaded": sorted(m for m in sys.modules if m.startswith("opentelemetry")),
    }))
"""


def test_unconfigured_span_is_a_shared_noop_and_imports_no_opentelemetry() -> None:
    result = _run_python(_PROBE, {})
    probe = json.loads(result.stdout)
    assert probe == {"enabled": False, "same_object": True, "otel_loaded": []}


def test_exporter_set_to_none_keeps_telemetry_off() -> None:
    result = _run_python(_PROBE, {"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"})
    assert json.loads(result.stdout)["otel_loaded"] == []


def test_sdk_disabled_wins_over_exporter_variables() -> None:
    env = {"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"}
    probe = json.loads(_run_python(_PROBE, env).stdout)
    assert probe["enabled"] is False
    assert probe["otel_loaded"] == []


def test_console_exporter_variable_turns_spans_on() -> None:
    env = {"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "none"}
    result = _run_python(_PROBE, env)
    probe = json.loads(result.stdout.splitlines()[0])
    assert probe["enabled"] is True
    assert '"name": "qlayer.generate"' in result.stdout  # written by the exporter at exit
    assert '"gen_ai.response.model": "m"' in result.stdout


class _Collector(BaseHTTPRequestHandler):
    paths: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        _Collector.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


def test_otlp_endpoint_variable_exports_spans_and_metrics_over_http() -> None:
    _Collector.paths = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        result = _run_python(_PROBE, {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})
    finally:
        server.shutdown()
    assert json.loads(result.stdout)["enabled"] is True
    assert "/v1/traces" in _Collector.paths
    assert "/v1/metrics" in _Collector.paths


def test_span_carries_genai_request_attributes(recorded: Recorded) -> None:
    attrs = request_attributes("openai/gpt-4o-mini", temperature=0.2, max_tokens=256)
    with span("chat gpt-4o-mini", **attrs):
        pass
    (done,) = recorded.finished()
    assert done.name == "chat gpt-4o-mini"
    assert dict(done.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 256,
    }


def test_response_attributes_carry_model_and_token_usage(recorded: Recorded) -> None:
    with span("qlayer.generate") as current:
        current.set_attributes(response_attributes(_generation()))
    attributes = recorded.finished()[0].attributes or {}
    assert attributes["gen_ai.response.model"] == "gpt-4o-mini"
    assert attributes["gen_ai.usage.input_tokens"] == 40
    assert attributes["gen_ai.usage.output_tokens"] == 12


def test_double_underscore_keys_become_dotted_and_none_is_dropped(recorded: Recorded) -> None:
    with span("qlayer.cache.lookup", qlayer__cache__hit=False, qlayer__scope=None):
        pass
    assert dict(recorded.finished()[0].attributes or {}) == {"qlayer.cache.hit": False}


def test_route_attempt_spans_nest_under_generate(recorded: Recorded) -> None:
    with span("qlayer.generate"):
        with span("chat a"):
            pass
        with span("chat b"):
            pass
    by_name = {s.name: s for s in recorded.finished()}
    parent = by_name["qlayer.generate"].context
    assert parent is not None
    assert by_name["chat a"].parent is not None
    assert by_name["chat a"].parent.span_id == parent.span_id
    assert by_name["chat b"].parent is not None
    assert by_name["chat b"].parent.span_id == parent.span_id


async def test_concurrent_async_attempts_nest_under_their_own_generate(
    recorded: Recorded,
) -> None:
    import asyncio

    async def one(name: str) -> None:
        with span(f"generate {name}"):
            await asyncio.sleep(0.01)
            with span(f"chat {name}"):
                await asyncio.sleep(0.01)

    await asyncio.gather(one("a"), one("b"))
    by_name = {s.name: s for s in recorded.finished()}
    for name in ("a", "b"):
        parent, child = by_name[f"generate {name}"], by_name[f"chat {name}"]
        assert child.parent is not None
        assert parent.context is not None
        assert child.parent.span_id == parent.context.span_id


def test_exception_marks_the_span_as_error_and_is_reraised(recorded: Recorded) -> None:
    with pytest.raises(TimeoutError), span("chat slow"):
        raise TimeoutError("no answer in 5 s")
    (done,) = recorded.finished()
    assert done.status.status_code is StatusCode.ERROR
    assert (done.attributes or {})["error.type"] == "TimeoutError"
    assert [event.name for event in done.events] == ["exception"]


def test_record_call_counts_calls_cost_and_latency(recorded: Recorded) -> None:
    record_call(_generation())
    record_call(_generation(cost_usd=0.5, latency_ms=20.0))
    points = recorded.points()
    assert sum(p.value for p in points["qlayer.calls"]) == 2
    assert sum(p.value for p in points["qlayer.cost_usd"]) == pytest.approx(0.75)
    (latency,) = points["qlayer.latency_ms"]
    assert (latency.count, latency.sum) == (2, 100.0)
    assert "qlayer.cache_hits" not in points


def test_record_call_counts_cache_hits(recorded: Recorded) -> None:
    record_call(_generation(cached=True, cost_usd=0.0))
    record_call(_generation())
    points = recorded.points()
    assert sum(p.value for p in points["qlayer.cache_hits"]) == 1
    assert {p.attributes["qlayer.cached"] for p in points["qlayer.calls"]} == {True, False}


def test_record_call_takes_a_ledger_event_dict(recorded: Recorded) -> None:
    record_call({"model_served": "gpt-4o-mini", "outcome": "error", "cost_usd": None,
                 "latency_ms": 5.0, "deployment": "loop"})
    points = recorded.points()
    (call,) = points["qlayer.calls"]
    assert call.attributes["qlayer.outcome"] == "error"
    assert call.attributes["qlayer.deployment"] == "loop"
    assert "qlayer.cost_usd" not in points  # unknown cost is not counted as zero


def test_disable_telemetry_returns_to_the_noop(recorded: Recorded) -> None:
    disable_telemetry()
    with span("after") as current:
        current.set_attribute("x", 1)
    assert not telemetry_enabled()
    assert current is span("other")
    assert recorded.finished() == []


def test_enable_telemetry_refuses_when_sdk_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    rec = Recorded()
    assert enable_telemetry(rec.tracer_provider, rec.meter_provider) is False
    with span("ignored"):
        pass
    assert rec.finished() == []


@pytest.mark.skipif(
    "quantumlayer_nb.observability" not in API_FILE.read_text(encoding="utf-8"),
    reason="not wired yet",
)
def test_generate_emits_spans_and_metrics(loop_project: Path, recorded: Recorded) -> None:
    from quantumlayer_nb import generate

    generation = generate("add two numbers", max_tokens=64, temperature=0)
    spans = recorded.finished()
    chat = [s for s in spans if (s.attributes or {}).get("gen_ai.request.model")]
    assert chat, [s.name for s in spans]
    attributes = chat[-1].attributes or {}
    assert attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert attributes.get("gen_ai.usage.input_tokens") == generation.tokens_in
    assert sum(p.value for p in recorded.points()["qlayer.calls"]) >= 1
