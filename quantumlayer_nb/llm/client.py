"""The transport: one completion through litellm, its usage and cost, and its errors.

This module and ``_lazy`` are the only places that touch litellm. Retries, fallbacks and
circuit breaking belong to the router; here every call is made once (``max_retries=0``), so
what the router sees is what happened.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from quantumlayer_nb.errors import (
    AuthenticationError,
    BadRequestError,
    ContentPolicyError,
    ContextWindowError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimitError,
)
from quantumlayer_nb.llm._lazy import litellm_module, no_unread_logging
from quantumlayer_nb.llm.target import Target

__all__ = [
    "Completion", "acomplete", "astream", "complete", "estimate_tokens", "map_error", "stream",
]


@dataclass(frozen=True)
class Completion:
    """What came back from one successful call."""

    text: str
    model_served: str
    tokens_in: int | None
    tokens_out: int | None
    cost_usd: float | None
    finish_reason: str | None
    ttft_ms: float | None = None
    tokens_estimated: bool = False
    """True when the provider sent no usage and the tokens were counted here."""


def _call_kwargs(
    target: Target, messages: list[dict[str, str]], params: dict[str, Any]
) -> dict[str, Any]:
    kwargs = target.litellm_kwargs()
    kwargs["messages"] = messages
    kwargs["max_retries"] = 0
    kwargs["num_retries"] = 0
    timeout = params.get("timeout") or target.deployment.timeout
    if timeout is not None:
        kwargs["timeout"] = timeout
    for name in ("temperature", "max_tokens"):
        if params.get(name) is not None:
            kwargs[name] = params[name]
    return kwargs


def complete(
    target: Target, messages: list[dict[str, str]], params: dict[str, Any]
) -> Completion:
    """One blocking completion. Raises a :class:`ProviderError` leaf on failure."""
    if target.is_recipes:
        return _recipes_complete(target, messages)
    litellm = litellm_module()
    try:
        with no_unread_logging(litellm):
            response = litellm.completion(**_call_kwargs(target, messages, params))
    except Exception as exc:
        raise map_error(exc, target.deployment.model, target) from exc
    return _from_response(target, response)


async def acomplete(
    target: Target, messages: list[dict[str, str]], params: dict[str, Any]
) -> Completion:
    """One completion on the running event loop."""
    if target.is_recipes:
        return _recipes_complete(target, messages)
    litellm = litellm_module()
    try:
        with no_unread_logging(litellm):
            response = await litellm.acompletion(**_call_kwargs(target, messages, params))
    except Exception as exc:
        raise map_error(exc, target.deployment.model, target) from exc
    return _from_response(target, response)


def _from_response(target: Target, response: Any) -> Completion:
    choice = response.choices[0]
    usage = getattr(response, "usage", None)
    tokens_in = getattr(usage, "prompt_tokens", None)
    tokens_out = getattr(usage, "completion_tokens", None)
    hidden = getattr(response, "_hidden_params", {}) or {}
    served = str(getattr(response, "model", None) or target.deployment.model)
    return Completion(
        text=choice.message.content or "",
        model_served=served,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost_usd=cost_of(target, tokens_in, tokens_out, hidden.get("response_cost")),
        finish_reason=getattr(choice, "finish_reason", None),
    )


def cost_of(
    target: Target, tokens_in: int | None, tokens_out: int | None, reported: float | None
) -> float | None:
    """USD cost of a call: the deployment's price override, else litellm's cost map.

    Returns None (never 0) when the price is unknown.
    """
    dep = target.deployment
    if dep.input_cost_per_token is not None and dep.output_cost_per_token is not None:
        if tokens_in is None or tokens_out is None:
            return None
        return tokens_in * dep.input_cost_per_token + tokens_out * dep.output_cost_per_token
    if reported is not None:
        return float(reported)
    if tokens_in is None or tokens_out is None:
        return None
    try:
        prompt_cost, completion_cost = litellm_module().cost_per_token(
            model=dep.model, prompt_tokens=tokens_in, completion_tokens=tokens_out
        )
    except Exception:  # litellm raises when the model is not in its cost map
        return None
    return float(prompt_cost + completion_cost)


def estimate_tokens(model: str, messages: list[dict[str, str]], text: str) -> tuple[int, int]:
    """Prompt and completion tokens of a call, counted with litellm's tokenizer for ``model``.

    litellm uses the model's own tokenizer where it knows one (OpenAI, Anthropic, Llama,
    Mistral, ... families), else a general-purpose one. Chat-template tokens the server adds
    are not counted, so budgets pad these figures (``routing.budget.charge``).
    """
    litellm = litellm_module()
    prompt = int(litellm.token_counter(model=model, messages=messages))
    completion = int(litellm.token_counter(model=model, text=text, count_response_tokens=True))
    return prompt, completion


def _provider_sent_usage(response: Any) -> bool:
    """Whether a chunk from the provider itself carried usage.

    litellm fills in the final chunk's usage with its own count when the provider sent none
    (llama.cpp's server, some proxies), so the usage it hands back cannot tell: the raw
    chunks it kept can. When they cannot be read either, the figures count as estimated.
    """
    chunks = getattr(response, "chunks", None)
    if not isinstance(chunks, list):
        return False
    return any(getattr(chunk, "usage", None) is not None for chunk in chunks)


class _StreamState:
    def __init__(self, target: Target, messages: list[dict[str, str]]) -> None:
        self.target = target
        self.messages = messages
        self.parts: list[str] = []
        self.started = time.perf_counter()
        self.ttft_ms: float | None = None
        self.tokens_in: int | None = None
        self.tokens_out: int | None = None
        self.finish_reason: str | None = None
        self.model_served: str | None = None

    def take(self, chunk: Any) -> str:
        usage = getattr(chunk, "usage", None)
        if usage is not None and getattr(usage, "prompt_tokens", None) is not None:
            self.tokens_in = usage.prompt_tokens
            self.tokens_out = usage.completion_tokens
        self.model_served = self.model_served or getattr(chunk, "model", None)
        if not chunk.choices:
            return ""
        choice = chunk.choices[0]
        self.finish_reason = getattr(choice, "finish_reason", None) or self.finish_reason
        delta = getattr(choice.delta, "content", None) or ""
        if delta:
            if self.ttft_ms is None:
                self.ttft_ms = (time.perf_counter() - self.started) * 1000
            self.parts.append(delta)
        return str(delta)

    def result(self, response: Any) -> Completion:
        text = "".join(self.parts)
        estimated = not _provider_sent_usage(response)
        if estimated:
            try:
                self.tokens_in, self.tokens_out = estimate_tokens(
                    self.target.deployment.model, self.messages, text)
            except Exception:  # no tokenizer at all: the figures (and cost) stay unknown
                self.tokens_in = self.tokens_out = None
        return Completion(
            text=text,
            model_served=str(self.model_served or self.target.deployment.model),
            tokens_in=self.tokens_in,
            tokens_out=self.tokens_out,
            cost_usd=cost_of(self.target, self.tokens_in, self.tokens_out, None),
            finish_reason=self.finish_reason,
            ttft_ms=self.ttft_ms,
            tokens_estimated=estimated,
        )


def stream(
    target: Target, messages: list[dict[str, str]], params: dict[str, Any]
) -> Iterator[str | Completion]:
    """Yield text deltas as they arrive, then one final :class:`Completion`."""
    if target.is_recipes:
        yield from _recipes_stream(target, messages)
        return
    litellm = litellm_module()
    kwargs = _call_kwargs(target, messages, params)
    kwargs.update(stream=True, stream_options={"include_usage": True})
    state = _StreamState(target, messages)
    try:
        response = litellm.completion(**kwargs)
        for chunk in response:
            delta = state.take(chunk)
            if delta:
                yield delta
    except ProviderError:
        raise
    except Exception as exc:
        raise map_error(exc, target.deployment.model, target) from exc
    yield state.result(response)


async def astream(
    target: Target, messages: list[dict[str, str]], params: dict[str, Any]
) -> AsyncIterator[str | Completion]:
    """Async twin of :func:`stream`."""
    if target.is_recipes:
        for item in _recipes_stream(target, messages):
            yield item
        return
    litellm = litellm_module()
    kwargs = _call_kwargs(target, messages, params)
    kwargs.update(stream=True, stream_options={"include_usage": True})
    state = _StreamState(target, messages)
    try:
        response = await litellm.acompletion(**kwargs)
        async for chunk in response:
            delta = state.take(chunk)
            if delta:
                yield delta
    except ProviderError:
        raise
    except Exception as exc:
        raise map_error(exc, target.deployment.model, target) from exc
    yield state.result(response)


# --- the built-in model -------------------------------------------------------------------
# ``qlayer/recipes`` is answered here, in process, without importing litellm (seconds): the
# same answer, usage and cost as litellm's handler for it (llm/_recipe_litellm.py) gives.


def _recipes_complete(target: Target, messages: list[dict[str, str]]) -> Completion:
    from quantumlayer_nb.llm import _recipe_answer as recipes

    text = recipes.answer_messages(messages).text
    tokens_in = recipes.token_estimate(recipes.last_user_text(messages))
    tokens_out = recipes.token_estimate(text)
    return Completion(
        text=text,
        model_served=target.deployment.model,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost_usd=cost_of(target, tokens_in, tokens_out, 0.0),
        finish_reason="stop",
    )


def _recipes_stream(
    target: Target, messages: list[dict[str, str]]
) -> Iterator[str | Completion]:
    from quantumlayer_nb.llm import _recipe_answer as recipes

    started = time.perf_counter()
    done = _recipes_complete(target, messages)
    ttft_ms = (time.perf_counter() - started) * 1000
    for piece in recipes.stream_pieces(done.text):
        if piece:
            yield piece
    yield dataclasses.replace(done, ttft_ms=ttft_ms)


def _retry_after(exc: Exception) -> float | None:
    for holder in (getattr(exc, "response", None), exc):
        headers = getattr(holder, "headers", None)
        headers = headers or getattr(holder, "litellm_response_headers", None)
        if headers is None:
            continue
        try:
            value = headers.get("retry-after") or headers.get("Retry-After")
        except AttributeError:
            continue
        if value is not None:
            try:
                return float(value)
            except ValueError:
                return None
    return None


def _rejected_key(model: str, detail: str, target: Target | None) -> str:
    """What to do about a rejected key: for a custom ``api_base``, that server and its key
    variable (the provider's own hint, such as OpenAI's key page, is about another server)."""
    dep = target.deployment if target is not None else None
    if target is None or dep is None or not dep.api_base:
        return (f"{model} rejected the key ({detail}). Check the key variable for this "
                "provider; qlayer doctor shows which are set.")
    from quantumlayer_nb.safety import redact_text

    detail = re.sub(r"\s*You can find your API key at \S+", "", detail)
    server = redact_text(dep.api_base)
    if dep.api_key_env:
        return (f"The server at {server} rejected the key in ${dep.api_key_env} for {model} "
                f"({detail}). Set ${dep.api_key_env} to a key that server accepts, or change "
                f"api_key_env of deployment {target.name!r} in qlayer.toml.")
    return (f"The server at {server} wants a key for {model} ({detail}), and deployment "
            f"{target.name!r} sends none: it has no api_key_env. Add api_key_env = \"NAME\" "
            f"(the variable holding that server's key) under [deployments.{target.name}] in "
            "qlayer.toml.")


def map_error(exc: Exception, model: str, target: Target | None = None) -> ProviderError:
    """Map a litellm exception onto the package's exception tree, with what to do next.

    ``target`` (the deployment called) lets a rejected key at a custom ``api_base`` name
    that server and its ``api_key_env`` instead of the provider's hint."""
    litellm = litellm_module()
    status = getattr(exc, "status_code", None)
    detail = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    common: dict[str, Any] = {"model": model, "status_code": status}
    if isinstance(exc, litellm.ContextWindowExceededError):
        return ContextWindowError(
            f"{model} says the prompt is longer than its context window ({detail}). Shorten the "
            "prompt or context, or use a model with a larger window.",
            **common,
        )
    if isinstance(exc, litellm.ContentPolicyViolationError):
        return ContentPolicyError(
            f"{model} refused the request on content-policy grounds ({detail}). Rephrase it.",
            **common,
        )
    if isinstance(exc, (litellm.AuthenticationError, litellm.PermissionDeniedError)):
        return AuthenticationError(_rejected_key(model, detail, target), **common)
    if isinstance(exc, litellm.RateLimitError):
        wait = _retry_after(exc)
        hint = f"retry after {wait:g} s" if wait is not None else "retry later"
        return RateLimitError(
            f"{model} is rate limiting ({detail}): {hint}, or add a fallback deployment.",
            retry_after=wait,
            **common,
        )
    if isinstance(exc, litellm.Timeout):
        return ProviderTimeout(
            f"{model} did not answer in time ({detail}). Raise timeout= or try another model.",
            **common,
        )
    if isinstance(exc, litellm.NotFoundError):
        return BadRequestError(
            f"{model} was not found at the provider ({detail}). Check the model id.", **common
        )
    if isinstance(exc, litellm.BadRequestError):
        return BadRequestError(
            f"{model} rejected the request as invalid ({detail}). Check the parameters.", **common
        )
    return ProviderUnavailable(
        f"{model} is unavailable ({type(exc).__name__}: {detail}). Retry, or configure a "
        "fallback deployment.",
        **common,
    )
