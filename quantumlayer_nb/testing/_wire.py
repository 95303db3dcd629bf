"""OpenAI wire format: the JSON bodies the ``openai`` SDK (and so litellm) expects."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import re
import struct
import time
import uuid
from typing import Any

from quantumlayer_nb.testing._models import Fault
from quantumlayer_nb.testing._script import Plan

__all__ = [
    "chat_completion",
    "count_tokens",
    "embeddings",
    "error_body",
    "last_user_message",
    "prompt_text",
    "stream_events",
]

_WORD = re.compile(r"\S+\s*|\s+")

# status, OpenAI error type, code, message
_ERRORS: dict[Fault, tuple[int, str, str | None, str]] = {
    Fault.RATE_LIMIT: (
        429,
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for {model} on requests per min (RPM): Limit 3, Used 3, "
        "Requested 1. Please try again in {retry_after}s.",
    ),
    Fault.SERVER_ERROR: (
        500,
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    Fault.UNAVAILABLE: (
        503,
        "server_error",
        "service_unavailable",
        "The server is overloaded or not ready yet.",
    ),
    Fault.AUTH: (
        401,
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided: sk-loop****. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
    ),
    Fault.BAD_REQUEST: (
        400,
        "invalid_request_error",
        None,
        "Invalid request: the loopback server was told to reject this request.",
    ),
    Fault.NOT_FOUND: (
        404,
        "invalid_request_error",
        "model_not_found",
        "The model `{model}` does not exist or you do not have access to it.",
    ),
    Fault.CONTENT_POLICY: (
        400,
        "invalid_request_error",
        "content_policy_violation",
        # litellm recognises this OpenAI wording; "our safety system" maps to BadRequestError.
        "Invalid prompt: your prompt was flagged as potentially violating our usage policy. "
        "Please try again with a different prompt.",
    ),
    Fault.CONTEXT_LENGTH: (
        400,
        "invalid_request_error",
        "context_length_exceeded",
        "This model's maximum context length is 8192 tokens. However, your messages "
        "resulted in {tokens} tokens. Please reduce the length of the messages.",
    ),
}


def count_tokens(text: str) -> int:
    """Deterministic token estimate: one token per 4 characters, at least 1."""
    return max(1, math.ceil(len(text) / 4))


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def prompt_text(body: dict[str, Any]) -> str:
    """Concatenate the text of every message of a chat request."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    return "\n".join(_content_text(m.get("content")) for m in messages if isinstance(m, dict))


def last_user_message(body: dict[str, Any]) -> str:
    """Return the text of the last ``user`` message of a chat request ("" if none)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _content_text(message.get("content"))
    return ""


def _usage(body: dict[str, Any], plan: Plan) -> dict[str, int]:
    prompt = plan.prompt_tokens
    if prompt is None:
        prompt = count_tokens(prompt_text(body))
    completion = plan.completion_tokens
    if completion is None:
        completion = count_tokens(plan.content)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _model(body: dict[str, Any]) -> str:
    model = body.get("model")
    return model if isinstance(model, str) else "loopback"


def chat_completion(body: dict[str, Any], plan: Plan) -> dict[str, Any]:
    """Build a non-streaming ``chat.completion`` object."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": _model(body),
        "system_fingerprint": "fp_loopback",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": plan.content, "refusal": None},
                "logprobs": None,
                "finish_reason": plan.finish_reason,
            }
        ],
        "usage": _usage(body, plan),
    }


def stream_events(body: dict[str, Any], plan: Plan) -> list[bytes]:
    """Build the SSE events of a streamed answer, ``data: [DONE]`` included."""
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    include_usage = include_usage and plan.stream_usage
    base: dict[str, Any] = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": _model(body),
        "system_fingerprint": "fp_loopback",
    }
    if include_usage:
        base["usage"] = None

    def chunk(delta: dict[str, Any], finish_reason: str | None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return _sse({**base, "choices": [choice]})

    events = [chunk({"role": "assistant", "content": "", "refusal": None}, None)]
    size = plan.chunk_chars
    pieces = ([plan.content[i:i + size] for i in range(0, len(plan.content), size)] if size
              else _WORD.findall(plan.content))
    events.extend(chunk({"content": piece}, None) for piece in pieces)
    events.append(chunk({}, plan.finish_reason))
    if include_usage:
        events.append(_sse({**base, "choices": [], "usage": _usage(body, plan)}))
    events.append(b"data: [DONE]\n\n")
    return events


def _sse(obj: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def _vector(model: str, text: str, dim: int) -> list[float]:
    seed = hashlib.sha256(f"{model}\x00{text}".encode()).digest()
    rng = random.Random(seed)
    raw = [rng.gauss(0.0, 1.0) for _ in range(dim)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


def embeddings(body: dict[str, Any], default_dim: int) -> dict[str, Any]:
    """Build an embeddings list: hash-seeded, unit-norm vectors, float or base64."""
    raw = body.get("input", "")
    items: list[Any] = raw if isinstance(raw, list) else [raw]
    # A flat list of ints is one tokenised input, not many.
    if items and all(isinstance(x, int) for x in items):
        items = [items]
    texts = [x if isinstance(x, str) else json.dumps(x) for x in items]
    dim = body.get("dimensions")
    dim = dim if isinstance(dim, int) and dim > 0 else default_dim
    model = _model(body)
    base64_format = body.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(texts):
        vector = _vector(model, text, dim)
        encoded: Any = vector
        if base64_format:
            encoded = base64.b64encode(struct.pack(f"<{dim}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(count_tokens(t) for t in texts)
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def error_body(fault: Fault, body: dict[str, Any], plan: Plan) -> tuple[int, dict[str, Any]]:
    """Return the HTTP status and OpenAI error object for an error fault."""
    status, kind, code, template = _ERRORS[fault]
    message = template.format(
        model=_model(body),
        retry_after=f"{plan.retry_after_s:g}",
        tokens=max(8193, count_tokens(prompt_text(body))),
    )
    param = "messages" if fault is Fault.CONTEXT_LENGTH else None
    return status, {"error": {"message": message, "type": kind, "param": param, "code": code}}


def is_error_fault(fault: Fault | None) -> bool:
    """Whether ``fault`` is answered with an HTTP error status and an error body."""
    return fault in _ERRORS
