"""``generate`` and ``agenerate``: one request, end to end.

prepare (validate, resolve, check key and context window, hash)
  -> transport (litellm) -> Generation
  -> one ledger event per attempt, success or failure.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, overload

from quantumlayer_nb._context import compose_user_message, describe_context
from quantumlayer_nb.config import Settings, get_settings
from quantumlayer_nb.errors import (
    ContextWindowExceeded,
    PolicyViolation,
    ProviderError,
    QLayerError,
    RequestError,
)
from quantumlayer_nb.generation import Format, Generation, RouteAttempt, extract_code
from quantumlayer_nb.llm import client
from quantumlayer_nb.llm._lazy import litellm_module
from quantumlayer_nb.routing.resolve import Target, check_credentials, resolve
from quantumlayer_nb.safety.policy import check_incoming, check_outgoing

__all__ = ["AsyncGenerationStream", "GenerationStream", "agenerate", "generate"]

_FORMATS = ("code", "text", "markdown")
_DEFAULT_SYSTEM: dict[str, str] = {
    "code": (
        "You write Python code for a Jupyter notebook cell. Answer with one ```python fenced "
        "block of complete, runnable code, then at most two sentences."
    ),
    "markdown": "Answer in concise Markdown.",
    "text": "Answer in concise plain text.",
}


@dataclass
class _Prepared:
    settings: Settings
    target: Target
    messages: list[dict[str, str]]
    params: dict[str, Any]
    format: Format
    prompt_hash: str
    call_id: str
    metadata: dict[str, Any]
    started: float = field(default_factory=time.perf_counter)


def _prepare(
    prompt: str,
    model: str | None,
    system: str | None,
    context: str | Mapping[str, object] | None,
    format: str,
    temperature: float | None,
    max_tokens: int | None,
    timeout: float | None,
    metadata: Mapping[str, Any] | None,
) -> _Prepared:
    if not isinstance(prompt, str) or not prompt.strip():
        raise RequestError("The prompt is empty. Say what the code should do, in plain language.")
    if format not in _FORMATS:
        raise RequestError(f"format={format!r} is not one of {', '.join(_FORMATS)}.")
    if temperature is not None and not 0 <= temperature <= 2:
        raise RequestError(f"temperature={temperature} is outside 0..2. Use 0 for repeatable code.")
    if max_tokens is not None and max_tokens <= 0:
        raise RequestError(f"max_tokens={max_tokens} must be a positive number of tokens.")
    if timeout is not None and timeout <= 0:
        raise RequestError(f"timeout={timeout} must be a positive number of seconds.")
    meta = dict(metadata or {})
    try:
        json.dumps(meta)
    except (TypeError, ValueError) as exc:
        raise RequestError(f"metadata must be JSON-serialisable ({exc}).") from exc
    if context is None or isinstance(context, str):
        context_text = context or None
    elif isinstance(context, Mapping):
        context_text = describe_context(context)
    else:
        raise RequestError(
            f"context must be text or a mapping of names to objects, not {type(context).__name__}. "
            "Pass context={'df': df}."
        )

    settings = get_settings()
    target = resolve(model, settings)
    check_credentials(target)
    params = {"temperature": temperature, "max_tokens": max_tokens, "timeout": timeout}
    call = _Prepared(
        settings=settings,
        target=target,
        messages=[],
        params={**params, "timeout": timeout or settings.timeout},
        format=format,  # type: ignore[arg-type]  # checked against _FORMATS above
        prompt_hash="",
        call_id=uuid.uuid4().hex,
        metadata=meta,
    )
    try:
        # Secrets are redacted (or refused) before anything is hashed, stored or sent.
        user = check_outgoing(compose_user_message(prompt, context_text), settings.safety).text
        system_text = system or _DEFAULT_SYSTEM[format]
        if system:
            system_text = check_outgoing(system, settings.safety).text
    except PolicyViolation as exc:
        _fail(call, exc)
        raise
    call.messages = [{"role": "system", "content": system_text}, {"role": "user", "content": user}]
    _check_context_window(target, call.messages)
    request = {"model": target.deployment.model, "messages": call.messages, **params}
    call.prompt_hash = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
    return call


def _check_context_window(target: Target, messages: list[dict[str, str]]) -> None:
    if target.is_recipes:
        return
    limit = target.deployment.context_window or _known_window(target.deployment.model)
    if limit is None:
        return
    size = sum(len(m["content"].encode()) for m in messages)
    if size < limit:  # a token is at least one byte, so this cannot overflow: skip counting
        return
    tokens = int(litellm_module().token_counter(model=target.deployment.model, messages=messages))
    if tokens > limit:
        raise ContextWindowExceeded(
            f"The prompt is {tokens:,} tokens; {target.deployment.model} takes at most "
            f"{limit:,}. Shorten the prompt or context, or pick a model with a larger window.",
            tokens=tokens,
            limit=limit,
            model=target.deployment.model,
        )


_windows: dict[str, int | None] = {}


def _known_window(model: str) -> int | None:
    if model not in _windows:
        try:
            info = litellm_module().get_model_info(model)
            window = info.get("max_input_tokens") or info.get("max_tokens")
        except Exception:  # not in litellm's model map: the provider will tell us
            window = None
        _windows[model] = int(window) if window else None
    return _windows[model]


def _ledger_event(call: _Prepared, **fields: Any) -> dict[str, Any]:
    settings = call.settings
    event: dict[str, Any] = {
        "kind": "call",
        "project": settings.project,
        "user": settings.user,
        "notebook": os.environ.get("QLAYER_NOTEBOOK") or os.environ.get("JPY_SESSION_NAME"),
        "run_id": os.environ.get("QLAYER_RUN_ID"),
        "call_id": call.call_id,
        "attempt": 0,
        "deployment": call.target.name,
        "model_requested": call.target.requested,
        "prompt_hash": call.prompt_hash,
        "tags": list(call.metadata.get("tags", [])),
        "data": {"format": call.format, "metadata": call.metadata},
    }
    if settings.store_prompts:
        event["prompt"] = json.dumps(call.messages)
    event.update(fields)
    return event


def _record(call: _Prepared, event: dict[str, Any]) -> None:
    from quantumlayer_nb.ledger import ledger_for

    ledger_for(call.settings.data_path).append(event)


def _succeed(call: _Prepared, done: client.Completion) -> Generation:
    latency_ms = (time.perf_counter() - call.started) * 1000
    try:
        checked = check_incoming(done.text, call.settings.safety)
    except PolicyViolation as exc:
        _fail(call, exc, done)
        raise
    done = dataclasses.replace(done, text=checked.text)
    code, syntax_error = extract_code(done.text) if call.format == "code" else (None, None)
    generation = Generation(
        text=done.text,
        code=code,
        syntax_error=syntax_error,
        format=call.format,
        model=call.target.requested,
        model_served=done.model_served,
        deployment=call.target.name,
        tokens_in=done.tokens_in,
        tokens_out=done.tokens_out,
        cost_usd=done.cost_usd,
        cost_known=done.cost_usd is not None,
        latency_ms=latency_ms,
        ttft_ms=done.ttft_ms,
        call_id=call.call_id,
        prompt_hash=call.prompt_hash,
        finish_reason=done.finish_reason,
        route_trace=(
            RouteAttempt(
                deployment=call.target.name,
                reason="requested" if call.target.requested == call.target.name else "alias",
                outcome="ok",
                latency_ms=latency_ms,
                cost_usd=done.cost_usd,
            ),
        ),
        metadata=call.metadata,
    )
    response_hash = hashlib.sha256(done.text.encode()).hexdigest()
    _record(
        call,
        _ledger_event(
            call,
            outcome="ok",
            model_served=done.model_served,
            tokens_in=done.tokens_in,
            tokens_out=done.tokens_out,
            cost_usd=done.cost_usd,
            cost_known=done.cost_usd is not None,
            latency_ms=latency_ms,
            ttft_ms=done.ttft_ms,
            response_hash=response_hash,
            response=done.text if call.settings.store_prompts else None,
        ),
    )
    return generation


def _fail(call: _Prepared, exc: QLayerError, done: client.Completion | None = None) -> None:
    """Record a failed attempt; a refused response still cost what the provider charged."""
    latency_ms = (time.perf_counter() - call.started) * 1000
    paid: dict[str, Any] = {"cost_usd": 0.0, "cost_known": True}
    if done is not None:
        paid = {
            "cost_usd": done.cost_usd,
            "cost_known": done.cost_usd is not None,
            "tokens_in": done.tokens_in,
            "tokens_out": done.tokens_out,
            "model_served": done.model_served,
        }
    _record(
        call,
        _ledger_event(
            call,
            outcome="refused" if isinstance(exc, PolicyViolation) else "error",
            error_class=type(exc).__name__,
            error_message=str(exc)[:500],
            latency_ms=latency_ms,
            **paid,
        ),
    )


@overload
def generate(
    prompt: str,
    *,
    model: str | None = ...,
    system: str | None = ...,
    context: str | Mapping[str, object] | None = ...,
    format: Format = ...,
    stream: Literal[False] = ...,
    temperature: float | None = ...,
    max_tokens: int | None = ...,
    timeout: float | None = ...,
    metadata: Mapping[str, Any] | None = ...,
) -> Generation: ...
@overload
def generate(
    prompt: str,
    *,
    model: str | None = ...,
    system: str | None = ...,
    context: str | Mapping[str, object] | None = ...,
    format: Format = ...,
    stream: Literal[True],
    temperature: float | None = ...,
    max_tokens: int | None = ...,
    timeout: float | None = ...,
    metadata: Mapping[str, Any] | None = ...,
) -> GenerationStream: ...
def generate(
    prompt: str,
    *,
    model: str | None = None,
    system: str | None = None,
    context: str | Mapping[str, object] | None = None,
    format: Format = "code",
    stream: bool = False,
    temperature: float | None = None,
    max_tokens: int | None = None,
    timeout: float | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Generation | GenerationStream:
    """Turn a request in plain language into code (or text) with an LLM.

    Args:
        prompt: What the code should do.
        model: A route, an alias, a deployment, or any litellm model id. Default: the
            configured ``default_route``, else a model for the first provider key found,
            else the offline ``qlayer/recipes``.
        system: A system prompt replacing the default for ``format``.
        context: Text, or a mapping of names to objects (DataFrames, arrays, ...) that is
            described compactly (columns, dtypes, a few rows) for the model.
        format: ``"code"`` (the code is taken from the fences and parsed), ``"text"`` or
            ``"markdown"``.
        stream: Return a :class:`GenerationStream` that yields text as it arrives.
        temperature: Sampling temperature, 0..2.
        max_tokens: Cap on completion tokens.
        timeout: Total timeout in seconds.
        metadata: JSON-serialisable data kept on the ledger with the call.

    Returns:
        A :class:`Generation`: text, code, model served, tokens, cost, latency, call id.

    Raises:
        RequestError: a bad argument, or the prompt does not fit the model.
        ModelNotFound: the model name resolves to nothing.
        MissingCredentials: the provider key is not set.
        ProviderError: the provider failed (a leaf says how).
    """
    call = _prepare(prompt, model, system, context, format, temperature, max_tokens, timeout,
                    metadata)
    if stream:
        return GenerationStream(call)
    try:
        done = client.complete(call.target, call.messages, call.params)
    except ProviderError as exc:
        _fail(call, exc)
        raise
    return _succeed(call, done)


@overload
async def agenerate(
    prompt: str,
    *,
    model: str | None = ...,
    system: str | None = ...,
    context: str | Mapping[str, object] | None = ...,
    format: Format = ...,
    stream: Literal[False] = ...,
    temperature: float | None = ...,
    max_tokens: int | None = ...,
    timeout: float | None = ...,
    metadata: Mapping[str, Any] | None = ...,
) -> Generation: ...
@overload
async def agenerate(
    prompt: str,
    *,
    model: str | None = ...,
    system: str | None = ...,
    context: str | Mapping[str, object] | None = ...,
    format: Format = ...,
    stream: Literal[True],
    temperature: float | None = ...,
    max_tokens: int | None = ...,
    timeout: float | None = ...,
    metadata: Mapping[str, Any] | None = ...,
) -> AsyncGenerationStream: ...
async def agenerate(
    prompt: str,
    *,
    model: str | None = None,
    system: str | None = None,
    context: str | Mapping[str, object] | None = None,
    format: Format = "code",
    stream: bool = False,
    temperature: float | None = None,
    max_tokens: int | None = None,
    timeout: float | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Generation | AsyncGenerationStream:
    """Async twin of :func:`generate`, with the same arguments and errors."""
    call = _prepare(prompt, model, system, context, format, temperature, max_tokens, timeout,
                    metadata)
    if stream:
        return AsyncGenerationStream(call)
    try:
        done = await client.acomplete(call.target, call.messages, call.params)
    except ProviderError as exc:
        _fail(call, exc)
        raise
    return _succeed(call, done)


class GenerationStream:
    """Iterate for text deltas as they arrive; ``generation`` holds the result at the end."""

    def __init__(self, call: _Prepared) -> None:
        self._call = call
        self._iterator: Iterator[str] | None = None
        self.generation: Generation | None = None

    def __iter__(self) -> Iterator[str]:
        if self._iterator is None:
            self._iterator = self._run()
        return self._iterator

    def _run(self) -> Iterator[str]:
        try:
            for item in client.stream(self._call.target, self._call.messages, self._call.params):
                if isinstance(item, str):
                    yield item
                else:
                    self.generation = _succeed(self._call, item)
        except ProviderError as exc:
            _fail(self._call, exc)
            raise

    def result(self) -> Generation:
        """Read the rest of the stream and return the :class:`Generation`."""
        for _ in self:
            pass
        assert self.generation is not None  # set when the transport's final item arrives
        return self.generation


class AsyncGenerationStream:
    """Async iteration over text deltas; ``generation`` holds the result at the end."""

    def __init__(self, call: _Prepared) -> None:
        self._call = call
        self._iterator: AsyncIterator[str] | None = None
        self.generation: Generation | None = None

    def __aiter__(self) -> AsyncIterator[str]:
        if self._iterator is None:
            self._iterator = self._run()
        return self._iterator

    async def _run(self) -> AsyncIterator[str]:
        try:
            async for item in client.astream(
                self._call.target, self._call.messages, self._call.params
            ):
                if isinstance(item, str):
                    yield item
                else:
                    self.generation = _succeed(self._call, item)
        except ProviderError as exc:
            _fail(self._call, exc)
            raise

    async def result(self) -> Generation:
        """Read the rest of the stream and return the :class:`Generation`."""
        async for _ in self:
            pass
        assert self.generation is not None
        return self.generation
