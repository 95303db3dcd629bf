"""The OpenTelemetry side of :mod:`quantumlayer_nb.observability`, imported only when on.

Exporters follow the standard variables: ``OTEL_TRACES_EXPORTER`` and
``OTEL_METRICS_EXPORTER`` (``otlp`` - the default once telemetry is on -, ``console`` or
``none``), ``OTEL_EXPORTER_OTLP_*`` for the OTLP/HTTP endpoint and headers,
``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` for the resource,
``OTEL_METRIC_EXPORT_INTERVAL`` for how often metrics are pushed.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.trace import Span, Status, StatusCode

from quantumlayer_nb.errors import ConfigError

__all__ = ["Telemetry"]

INSTRUMENTATION_NAME = "quantumlayer_nb"

# Call metadata kept as metric attributes: few distinct values each, so cheap to aggregate.
_METRIC_KEYS = ("deployment", "outcome")


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("quantumlayer_nb")
    except Exception:  # not installed as a distribution (a source checkout)
        return "0"


def _attribute_key(key: str) -> str:
    return key.replace("__", ".")


def _clean(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Drop None values (OpenTelemetry rejects them) and turn ``a__b`` keys into ``a.b``."""
    return {_attribute_key(key): value for key, value in attributes.items() if value is not None}


def _getter(obj: Any) -> Callable[[str], Any]:
    if isinstance(obj, Mapping):
        return obj.get
    return lambda key: getattr(obj, key, None)


class Telemetry:
    """A tracer and the qlayer instruments, from given or environment-built providers."""

    def __init__(self, tracer_provider: Any, meter_provider: Any, owned: list[Any]) -> None:
        version = _version()
        self.tracer = tracer_provider.get_tracer(INSTRUMENTATION_NAME, version)
        meter = meter_provider.get_meter(INSTRUMENTATION_NAME, version)
        self._owned = owned
        self.calls = meter.create_counter(
            "qlayer.calls", unit="{call}", description="LLM calls made, by outcome."
        )
        self.cost = meter.create_counter(
            "qlayer.cost_usd", unit="USD", description="What the calls cost, when priced."
        )
        self.latency = meter.create_histogram(
            "qlayer.latency_ms", unit="ms", description="Wall time of each call."
        )
        self.cache_hits = meter.create_counter(
            "qlayer.cache_hits", unit="{hit}", description="Calls answered from the cache."
        )
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}", description="Tokens per call."
        )

    @classmethod
    def build(cls, tracer_provider: Any = None, meter_provider: Any = None) -> Telemetry:
        """Use the given providers; build the missing ones from the environment."""
        owned: list[Any] = []
        if tracer_provider is None:
            tracer_provider = _global_or_none(trace.get_tracer_provider(), "ProxyTracerProvider")
            if tracer_provider is None:
                tracer_provider = _tracer_provider_from_env()
                owned.append(tracer_provider)
        if meter_provider is None:
            meter_provider = _global_or_none(metrics.get_meter_provider(), "_ProxyMeterProvider")
            if meter_provider is None:
                meter_provider = _meter_provider_from_env()
                owned.append(meter_provider)
        telemetry = cls(tracer_provider, meter_provider, owned)
        if owned:
            atexit.register(telemetry.shutdown)
        return telemetry

    @classmethod
    def from_environment(cls) -> Telemetry:
        """Build from the ``OTEL_*`` variables (or the global providers, when set)."""
        return cls.build()

    def shutdown(self) -> None:
        """Flush and stop the providers this object built (not ones it was given)."""
        owned, self._owned = self._owned, []
        for provider in owned:
            provider.shutdown()

    @contextmanager
    def _span(self, name: str, attributes: dict[str, Any]) -> Iterator[Span]:
        with self.tracer.start_as_current_span(
            name, attributes=attributes, record_exception=False, set_status_on_exception=False
        ) as current:
            try:
                yield current
            except BaseException as exc:
                current.record_exception(exc)
                current.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                current.set_attribute("error.type", type(exc).__name__)
                raise

    def span(self, name: str, attributes: Mapping[str, Any]) -> Any:
        """A context manager opening a current span with cleaned attributes."""
        return self._span(name, _clean(attributes))

    def record_call(self, generation_like: Any, extra: Mapping[str, Any]) -> None:
        """Add one call to the instruments."""
        get = _getter(generation_like)
        model = get("model_served") or get("model") or "unknown"
        cached = bool(get("cached")) or get("outcome") == "cache_hit"
        attributes: dict[str, Any] = {"gen_ai.response.model": model, "qlayer.cached": cached}
        for key in _METRIC_KEYS:
            value = get(key)
            if value is not None:
                attributes[f"qlayer.{key}"] = str(value)
        attributes.update(_clean(extra))
        self.calls.add(1, attributes)
        if cached:
            self.cache_hits.add(1, attributes)
        cost = get("cost_usd")
        if isinstance(cost, (int, float)) and cost >= 0:
            self.cost.add(float(cost), attributes)
        latency = get("latency_ms")
        if isinstance(latency, (int, float)) and latency >= 0:
            self.latency.record(float(latency), attributes)
        for key, kind in (("tokens_in", "input"), ("tokens_out", "output")):
            count = get(key)
            if isinstance(count, int) and count >= 0:
                self.tokens.record(count, {**attributes, "gen_ai.token.type": kind})


def _global_or_none(provider: Any, proxy_class: str) -> Any:
    """The global provider if the program installed a real one, else None."""
    name = type(provider).__name__
    return None if name in (proxy_class, "NoOpTracerProvider", "NoOpMeterProvider") else provider


def _resource() -> Any:
    from opentelemetry.sdk.resources import Resource

    defaults = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "quantumlayer_nb"}
    return Resource.create(defaults)


def _exporter_names(variable: str) -> list[str]:
    raw = os.environ.get(variable, "otlp")
    return [name.strip().lower() for name in raw.split(",") if name.strip()]


def _tracer_provider_from_env() -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    provider = TracerProvider(resource=_resource())
    for name in _exporter_names("OTEL_TRACES_EXPORTER"):
        if name == "none":
            continue
        if name == "console":
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
        elif name == "otlp":
            provider.add_span_processor(BatchSpanProcessor(_otlp("trace_exporter", "Span")()))
        else:
            raise ConfigError(
                f"OTEL_TRACES_EXPORTER={name!r} is not supported: use otlp, console or none."
            )
    return provider


def _meter_provider_from_env() -> Any:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        ConsoleMetricExporter,
        PeriodicExportingMetricReader,
    )

    readers = []
    for name in _exporter_names("OTEL_METRICS_EXPORTER"):
        if name == "none":
            continue
        if name == "console":
            readers.append(PeriodicExportingMetricReader(ConsoleMetricExporter()))
        elif name == "otlp":
            readers.append(PeriodicExportingMetricReader(_otlp("metric_exporter", "Metric")()))
        else:
            raise ConfigError(
                f"OTEL_METRICS_EXPORTER={name!r} is not supported: use otlp, console or none."
            )
    return MeterProvider(resource=_resource(), metric_readers=readers)


def _otlp(module: str, signal: str) -> Any:
    """The OTLP/HTTP exporter class for a signal, with an install hint if it is missing."""
    import importlib

    try:
        package = importlib.import_module(f"opentelemetry.exporter.otlp.proto.http.{module}")
    except ImportError as exc:
        raise ImportError(
            "OTLP export needs opentelemetry-exporter-otlp-proto-http: pip install "
            "opentelemetry-exporter-otlp-proto-http, or set OTEL_TRACES_EXPORTER / "
            "OTEL_METRICS_EXPORTER to console or none."
        ) from exc
    return getattr(package, f"OTLP{signal}Exporter")
