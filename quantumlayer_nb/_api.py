"""``generate`` and ``agenerate``: one request, end to end.

prepare (validate, resolve, check key and context window, hash)
  -> transport (litellm) -> Generation
  -> one ledger event per attempt, success or failure.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Literal, overload

from quantumlayer_nb._context import compose_user_message, describe_context
from quantumlayer_nb._ids import new_id
from quantumlayer_nb._validate import check_request
from quantumlayer_nb.config import get_settings
from quantumlayer_nb.errors import PolicyViolation, RequestError
from quantumlayer_nb.generation import Format, Generation
from quantumlayer_nb.observability import response_attributes, span, telemetry_enabled
from quantumlayer_nb.routing import _cachelink as _cachelink
from quantumlayer_nb.routing import projects as projects
from quantumlayer_nb.routing import router as router
from quantumlayer_nb.routing import streaming as streaming
from quantumlayer_nb.routing.calls import (
    NO_OPTIONS,
    Call,
    Check,
    Options,
    acascade,
    aroute,
    check_context_window,
    fail,
    route,
    run_cascade,
)
from quantumlayer_nb.routing.models import ProjectConfig
from quantumlayer_nb.routing.resolve import check_credentials
from quantumlayer_nb.safety.policy import check_outgoing

__all__ = ["AsyncGenerationStream", "Check", "GenerationStream", "agenerate", "generate"]

_DEFAULT_SYSTEM: dict[str, str] = {
    "code": (
        "You write Python code for a Jupyter notebook cell. Answer with one ```python fenced "
        "block of complete, runnable code, then at most two sentences."
    ),
    "markdown": "Answer in concise Markdown.",
    "text": "Answer in concise plain text.",
}


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
    options: Options | None = None,
) -> Call:
    opts = options or NO_OPTIONS
    meta = check_request(prompt, format, temperature, max_tokens, timeout, metadata, system)
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
    tag = opts.tag or next(iter(meta.get("tags", [])), None)
    plan = router.plan(model, settings, tag=tag, streaming=opts.streaming)
    direct = plan.route_name is None
    project = projects.config_for(settings)  # no [projects] table: one dict lookup
    if project is not None:
        settings = projects.with_project_budget(settings, project)
    params = {"temperature": temperature, "max_tokens": max_tokens, "timeout": timeout}
    total_s = timeout or settings.timeout
    call = Call(
        settings=settings,
        plan=plan,
        messages=[],
        params={**params, "timeout": total_s},
        format=format,  # type: ignore[arg-type]  # checked by check_request above
        prompt_hash="",
        call_id=new_id(),
        metadata=meta,
        tag=tag,
        check=opts.check,
        use_cache=opts.cache is not False,
        semantic=opts.cache != "exact",
        project=project,
    )
    if project is not None:
        _apply_project(call, project)
    # In replay the store answers or nothing does: no key is needed, and no model's window.
    replaying = settings.cache.mode == "replay"
    if direct and not replaying:
        check_credentials(plan.candidates[0].target)
    try:
        # Secrets are redacted (or refused) before anything is hashed, stored or sent.
        user = check_outgoing(compose_user_message(prompt, context_text), settings.safety).text
        system_text = system or _DEFAULT_SYSTEM[format]
        if system:
            system_text = check_outgoing(system, settings.safety, what="system prompt").text
    except PolicyViolation as exc:
        fail(call, exc)
        raise
    call.messages = [{"role": "system", "content": system_text}, {"role": "user", "content": user}]
    if direct and not replaying:
        check_context_window(call.target, call.messages)
    model_key = call.target.deployment.model if direct else plan.requested
    request = {"model": model_key, "messages": call.messages, **params}
    call.prompt_hash = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
    return call


def _apply_project(call: Call, project: ProjectConfig) -> None:
    """Refuse models the project may not use (on the ledger); give the rest its own keys."""
    plan, name = call.plan, call.settings.project
    try:
        projects.check_allowed(name, project, plan.requested, plan.route_name,
                               [c.target for c in plan.candidates])
    except PolicyViolation as exc:
        fail(call, exc)
        raise
    plan.candidates = [dataclasses.replace(c, target=projects.apply_keys(name, project, c.target))
                       for c in plan.candidates]


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
    check: Check | None = ...,
    tag: str | None = ...,
    cache: bool | Literal["exact"] = ...,
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
    check: Check | None = ...,
    tag: str | None = ...,
    cache: bool | Literal["exact"] = ...,
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
    check: Check | None = None,
    tag: str | None = None,
    cache: bool | Literal["exact"] = True,
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
        timeout: Seconds the whole call may take: every attempt, retry, fallback and
            backoff wait, and for a stream every gap between pieces (default: the
            ``timeout`` setting, 120 s). When it runs out: :class:`ProviderTimeout`.
        metadata: JSON-serialisable data kept on the ledger with the call.
        check: On a ``cascade`` route, ``check(generation) -> bool`` decides whether a
            stage's answer is good enough or the next, stronger stage is tried.
        tag: What kind of request this is (``quality`` routes read pass rates per tag);
            default: the first of ``metadata["tags"]``.
        cache: False to neither read nor write the response cache for this call;
            ``"exact"`` to accept exact matches only (no semantic match). In cache mode
            ``replay`` the store answers whatever this says, and nothing else does.

    Returns:
        A :class:`Generation`: text, code, model served, tokens, cost, latency, call id.

    Raises:
        RequestError: a bad argument, or the prompt does not fit the model.
        ModelNotFound: the model name resolves to nothing.
        MissingCredentials: the provider key is not set.
        ProviderError: the provider failed (a leaf says how).
    """
    with span("qlayer.generate", **_span_attributes(model, temperature, max_tokens)) as current:
        call = _prepare(prompt, model, system, context, format, temperature, max_tokens,
                        timeout, metadata, Options(check, tag, cache, stream))
        if stream:
            return GenerationStream(call)
        generation = _lookup(call)
        if generation is None:
            generation = run_cascade(call) if call.plan.route.policy == "cascade" else route(call)
        if telemetry_enabled():  # building the attributes is wasted work otherwise
            current.set_attributes(response_attributes(generation))
        return generation


def _span_attributes(
    model: str | None, temperature: float | None, max_tokens: int | None
) -> dict[str, Any]:
    return {
        "gen_ai.operation.name": "chat",
        "qlayer.model_requested": model,
        "gen_ai.request.temperature": temperature,
        "gen_ai.request.max_tokens": max_tokens,
    }


def _lookup(call: Call) -> Generation | None:
    with span("qlayer.cache.lookup") as lookup:
        hit = _cachelink.lookup(call)
        lookup.set_attribute("qlayer.cache.hit", hit is not None)
    return hit


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
    check: Check | None = ...,
    tag: str | None = ...,
    cache: bool | Literal["exact"] = ...,
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
    check: Check | None = ...,
    tag: str | None = ...,
    cache: bool | Literal["exact"] = ...,
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
    check: Check | None = None,
    tag: str | None = None,
    cache: bool | Literal["exact"] = True,
) -> Generation | AsyncGenerationStream:
    """Async twin of :func:`generate`, with the same arguments and errors."""
    with span("qlayer.generate", **_span_attributes(model, temperature, max_tokens)) as current:
        call = _prepare(prompt, model, system, context, format, temperature, max_tokens,
                        timeout, metadata, Options(check, tag, cache, stream))
        if stream:
            return AsyncGenerationStream(call)
        generation = _lookup(call)
        if generation is None:
            if call.plan.route.policy == "cascade":
                generation = await acascade(call)
            else:
                generation = await aroute(call)
        if telemetry_enabled():  # building the attributes is wasted work otherwise
            current.set_attributes(response_attributes(generation))
        return generation


class GenerationStream:
    """Iterate for text deltas as they arrive; ``generation`` holds the result at the end.

    The pieces are redacted before they are handed out (a tail that could still be part
    of a secret is held back until it is known), so joined they equal ``generation.text``.
    """

    def __init__(self, call: Call) -> None:
        self._call = call
        self._iterator: Iterator[str] | None = None
        self.generation: Generation | None = None

    def __iter__(self) -> Iterator[str]:
        if self._iterator is None:
            self._iterator = streaming.stream(self._call, self._finish)
        return self._iterator

    def _finish(self, generation: Generation) -> None:
        self.generation = generation

    def result(self) -> Generation:
        """Read the rest of the stream and return the :class:`Generation`."""
        for _ in self:
            pass
        assert self.generation is not None  # set when the stream ends
        return self.generation


class AsyncGenerationStream:
    """Async iteration over text deltas; ``generation`` holds the result at the end."""

    def __init__(self, call: Call) -> None:
        self._call = call
        self._iterator: AsyncIterator[str] | None = None
        self.generation: Generation | None = None

    def __aiter__(self) -> AsyncIterator[str]:
        if self._iterator is None:
            self._iterator = streaming.astream(self._call, self._finish)
        return self._iterator

    def _finish(self, generation: Generation) -> None:
        self.generation = generation

    async def result(self) -> Generation:
        """Read the rest of the stream and return the :class:`Generation`."""
        async for _ in self:
            pass
        assert self.generation is not None
        return self.generation
