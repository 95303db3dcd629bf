"""Data exchanged with the loopback server: faults, scripted replies and its own errors."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from quantumlayer_nb.errors import QLayerError

__all__ = [
    "DEFAULT_REPLY",
    "Fault",
    "LoopbackServerError",
    "Reply",
    "ReplyLike",
    "ScriptError",
    "coerce_fault",
    "coerce_reply",
]

DEFAULT_REPLY = "```python\ndef solution():\n    return 42\n```"
"""What the server answers when nothing was scripted: a short Python code block."""


class LoopbackServerError(QLayerError, RuntimeError):
    """The loopback server could not start, stop, or answer a control call."""


class ScriptError(LoopbackServerError, ValueError):
    """A scripting call (queue, rule, fault, configure) had an invalid argument."""


class Fault(str, enum.Enum):
    """A failure the server can inject instead of a normal answer."""

    RATE_LIMIT = "rate_limit"
    """429 with a ``Retry-After`` header and an OpenAI error body."""
    SERVER_ERROR = "server_error"
    """500 with an OpenAI error body."""
    UNAVAILABLE = "unavailable"
    """503 with an OpenAI error body."""
    AUTH = "auth"
    """401, code ``invalid_api_key``."""
    BAD_REQUEST = "bad_request"
    """400, type ``invalid_request_error``."""
    NOT_FOUND = "not_found"
    """404, code ``model_not_found``."""
    HANG = "hang"
    """Sleep ``hang_seconds`` (default 30) before answering normally."""
    MALFORMED_JSON = "malformed_json"
    """200 with a truncated JSON body (a broken SSE event when streaming)."""
    CONNECTION_RESET = "connection_reset"
    """Abort the TCP connection (RST) without any response."""
    CONTENT_POLICY = "content_policy"
    """400 with code ``content_policy_violation``."""
    CONTEXT_LENGTH = "context_length"
    """400 with code ``context_length_exceeded`` and OpenAI's usual message."""


def coerce_fault(value: Fault | str) -> Fault:
    """Return ``value`` as a :class:`Fault`.

    Raises:
        ScriptError: ``value`` names no fault.
    """
    if isinstance(value, Fault):
        return value
    try:
        return Fault(str(value))
    except ValueError:
        known = ", ".join(f.value for f in Fault)
        raise ScriptError(f"Unknown fault {value!r}. Use one of: {known}.") from None


@dataclasses.dataclass(frozen=True)
class Reply:
    """One scripted answer of the server (JSON-serialisable with :meth:`to_json`).

    Attributes:
        content: The assistant message; ``None`` means the server's default reply.
        fault: A failure to inject instead of (or, for ``hang``, before) the answer.
        latency_ms: Delay before the answer; ``None`` uses the server's latency.
        chunk_delay_ms: Delay between streamed chunks; ``None`` uses the server's.
        prompt_tokens: Overrides the counted prompt tokens in ``usage``.
        completion_tokens: Overrides the counted completion tokens in ``usage``.
        finish_reason: ``finish_reason`` of the choice (``"stop"`` unless set).
        retry_after_s: ``Retry-After`` seconds sent with ``rate_limit``.
        hang_seconds: How long ``hang`` sleeps before answering.
        stream_usage: ``False`` to send no usage chunk in a streamed answer even when the
            client asks for one (as llama.cpp and some other servers do).
        chunk_chars: Stream the content in pieces of this many characters instead of one
            piece per word.
    """

    content: str | None = None
    fault: Fault | None = None
    latency_ms: float | None = None
    chunk_delay_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    retry_after_s: float | None = None
    hang_seconds: float | None = None
    stream_usage: bool | None = None
    chunk_chars: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the reply as a JSON object, leaving out unset fields."""
        data: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is not None:
                data[field.name] = value.value if isinstance(value, Fault) else value
        return data

    @classmethod
    def from_json(cls, data: Any) -> Reply:
        """Build a reply from a string or a JSON object as sent to the control API.

        Raises:
            ScriptError: ``data`` is neither a string nor an object of known fields.
        """
        if isinstance(data, str):
            return cls(content=data)
        if not isinstance(data, dict):
            raise ScriptError(
                f"A reply must be a string or a JSON object, got {type(data).__name__}."
            )
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ScriptError(f"Unknown reply field(s) {unknown}. Known fields: {sorted(names)}.")
        values = dict(data)
        if values.get("fault") is not None:
            values["fault"] = coerce_fault(values["fault"])
        for name in ("latency_ms", "chunk_delay_ms", "retry_after_s", "hang_seconds"):
            _check_number(values, name, float)
        for name in ("prompt_tokens", "completion_tokens", "chunk_chars"):
            _check_number(values, name, int)
        if values.get("stream_usage") is not None and not isinstance(values["stream_usage"], bool):
            raise ScriptError("Reply field 'stream_usage' must be true, false or null.")
        for name in ("content", "finish_reason"):
            if values.get(name) is not None and not isinstance(values[name], str):
                raise ScriptError(f"Reply field {name!r} must be a string or null.")
        return cls(**values)


ReplyLike = Reply | str
"""Where a :class:`Reply` is expected, a plain string means ``Reply(content=string)``."""


def coerce_reply(value: ReplyLike | dict[str, Any]) -> Reply:
    """Return ``value`` as a :class:`Reply` (strings become its content)."""
    if isinstance(value, Reply):
        return value
    return Reply.from_json(value)


def _check_number(values: dict[str, Any], name: str, kind: type[float] | type[int]) -> None:
    value = values.get(name)
    if value is None:
        return
    valid = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        valid = valid and float(value).is_integer()
    if not valid or value < 0:
        raise ScriptError(
            f"Reply field {name!r} must be a non-negative {kind.__name__}, got {value!r}."
        )
    values[name] = kind(value)
