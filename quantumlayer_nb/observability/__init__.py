"""OpenTelemetry traces and metrics, and structured logs, for quantumlayer_nb.

Telemetry is off unless configured, and then costs one function call and one shared no-op
object per span: ``opentelemetry`` is not even imported. It is on when

* ``OTEL_TRACES_EXPORTER`` or ``OTEL_METRICS_EXPORTER`` is set to something other than
  ``none``, or an ``OTEL_EXPORTER_OTLP_*ENDPOINT`` variable is set; or
* the program calls :func:`enable_telemetry` (optionally with its own providers);

and ``OTEL_SDK_DISABLED=true`` turns it off whatever else says. Example::

    from quantumlayer_nb.observability import record_call, request_attributes, span

    with span("qlayer.generate", **request_attributes("openai/gpt-4o-mini")) as s:
        generation = ...
        s.set_attributes(response_attributes(generation))
    record_call(generation)

Spans follow the OpenTelemetry GenAI semantic conventions (``gen_ai.*`` attributes); the
metrics are ``qlayer.calls``, ``qlayer.cost_usd``, ``qlayer.latency_ms`` and
``qlayer.cache_hits``. See ``docs/observability.md``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from quantumlayer_nb.observability.logs import configure_logging, get_logger

if TYPE_CHECKING:
    from quantumlayer_nb.observability._otel import Telemetry

__all__ = [
    "NoopSpan",
    "configure_logging",
    "disable_telemetry",
    "enable_telemetry",
    "get_logger",
    "record_call",
    "request_attributes",
    "response_attributes",
    "span",
    "telemetry_enabled",
]


class NoopSpan:
    """What :func:`span` gives when telemetry is off: a context manager that does nothing.

    It has the methods call sites use on a real span, so the same code runs either way.
    """

    __slots__ = ()

    def __enter__(self) -> NoopSpan:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def set_attribute(self, key: str, value: Any) -> None:
        """Ignore an attribute."""

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        """Ignore attributes."""

    def record_exception(self, exception: BaseException, **kwargs: Any) -> None:
        """Ignore an exception."""

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None) -> None:
        """Ignore an event."""

    def is_recording(self) -> bool:
        """Return False: nothing is recorded."""
        return False


_NOOP = NoopSpan()
_lock = threading.Lock()
_telemetry: Telemetry | None = None
_decided = False  # the environment is read once, on the first span or metric


def _env_wants_telemetry(environ: Mapping[str, str]) -> bool:
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER"):
        value = environ.get(name, "").strip().lower()
        if value and value != "none":
            return True
    return any(
        environ.get(name, "").strip()
        for name in (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        )
    )


def _decide() -> Telemetry | None:
    global _decided, _telemetry
    with _lock:
        if not _decided:
            if _env_wants_telemetry(os.environ):
                from quantumlayer_nb.observability._otel import Telemetry

                _telemetry = Telemetry.from_environment()
            _decided = True
    return _telemetry


def enable_telemetry(tracer_provider: Any = None, meter_provider: Any = None) -> bool:
    """Turn telemetry on for this process, whatever the ``OTEL_*`` exporter variables say.

    Args:
        tracer_provider: An OpenTelemetry ``TracerProvider`` to use; default: the global
            one if the program set it, else one built from the ``OTEL_*`` variables.
        meter_provider: A ``MeterProvider``, chosen the same way.

    Returns:
        True if telemetry is now on; False if ``OTEL_SDK_DISABLED=true`` forbids it.

    Raises:
        ImportError: ``opentelemetry-sdk`` is not installed (install it, or pass providers).
    """
    global _decided, _telemetry
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        with _lock:
            _telemetry, _decided = None, True
        return False
    from quantumlayer_nb.observability._otel import Telemetry

    telemetry = Telemetry.build(tracer_provider, meter_provider)
    with _lock:
        _telemetry, _decided = telemetry, True
    return True


def disable_telemetry() -> None:
    """Turn telemetry off for this process (spans become no-ops again); flush what we built."""
    global _decided, _telemetry
    with _lock:
        previous, _telemetry, _decided = _telemetry, None, True
    if previous is not None:
        previous.shutdown()


def telemetry_enabled() -> bool:
    """Tell whether spans and metrics are being recorded in this process."""
    return (_telemetry if _decided else _decide()) is not None


def span(name: str, **attributes: Any) -> Any:
    """Open a span named ``name``; a shared no-op when telemetry is off.

    Args:
        name: The span name, e.g. ``"qlayer.generate"`` or ``"chat gpt-4o-mini"``.
        **attributes: Span attributes. Dotted names go through a mapping,
            ``**{"gen_ai.request.model": m}``, or with ``__`` for each dot,
            ``gen_ai__request__model=m``. ``None`` values are left out.

    Returns:
        A context manager whose value has ``set_attribute``, ``set_attributes``,
        ``record_exception`` and ``add_event``; an exception leaving the block is recorded
        on the span and sets its status to error.
    """
    telemetry = _telemetry if _decided else _decide()
    if telemetry is None:
        return _NOOP
    return telemetry.span(name, attributes)


def record_call(generation_like: Any, **attributes: Any) -> None:
    """Count one call in the metrics: calls, cost, latency, cache hits, tokens.

    Args:
        generation_like: A ``Generation``, a ledger event dict, or anything with some of
            ``model_served``/``model``, ``deployment``, ``outcome``, ``cached``,
            ``tokens_in``, ``tokens_out``, ``cost_usd`` and ``latency_ms``.
        **attributes: Extra metric attributes (low-cardinality values only).
    """
    telemetry = _telemetry if _decided else _decide()
    if telemetry is None:
        return
    telemetry.record_call(generation_like, attributes)


def request_attributes(
    model: str,
    *,
    operation: str = "chat",
    temperature: float | None = None,
    max_tokens: int | None = None,
    deployment: str | None = None,
) -> dict[str, Any]:
    """GenAI semantic-convention attributes of a request, for :func:`span`.

    Args:
        model: The litellm model id, ``"openai/gpt-4o-mini"``; its prefix names the provider.
        operation: ``gen_ai.operation.name``: ``chat``, ``embeddings``, ...
        temperature: The sampling temperature, if set.
        max_tokens: The completion-token cap, if set.
        deployment: The qlayer deployment name, if any.

    Returns:
        A dict with dotted keys; unset values are left out.
    """
    provider, _, bare = model.partition("/") if "/" in model else ("openai", "", model)
    provider = "qlayer" if model.startswith("qlayer/") else provider
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": provider,
        "gen_ai.system": provider,
        "gen_ai.request.model": bare or model,
    }
    if temperature is not None:
        attributes["gen_ai.request.temperature"] = float(temperature)
    if max_tokens is not None:
        attributes["gen_ai.request.max_tokens"] = int(max_tokens)
    if deployment is not None:
        attributes["qlayer.deployment"] = deployment
    return attributes


def response_attributes(generation_like: Any) -> dict[str, Any]:
    """GenAI attributes of a response (model served, token usage, cost, cache).

    Args:
        generation_like: A ``Generation``, a ledger event dict, or a similar object.

    Returns:
        A dict with dotted keys; unknown values are left out.
    """
    def get(key: str) -> Any:
        if isinstance(generation_like, Mapping):
            return generation_like.get(key)
        return getattr(generation_like, key, None)

    pairs = {
        "gen_ai.response.model": get("model_served"),
        "gen_ai.usage.input_tokens": get("tokens_in"),
        "gen_ai.usage.output_tokens": get("tokens_out"),
        "gen_ai.response.finish_reasons": (
            (get("finish_reason"),) if get("finish_reason") else None
        ),
        "qlayer.cost_usd": get("cost_usd"),
        "qlayer.cached": get("cached"),
        "qlayer.call_id": get("call_id"),
    }
    return {key: value for key, value in pairs.items() if value is not None}
