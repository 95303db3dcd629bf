"""The response cache, seen from the request pipeline: look up before routing, store after.

Every answer is stored, whatever the mode (``off`` only stops lookups), so that a later run
in ``replay`` mode can answer it. In ``replay`` mode the store is the only source of answers,
whatever the call's ``cache=`` flag: a request it holds is answered from it, any other raises
``ReplayMiss``, and no provider is ever called.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from quantumlayer_nb.generation import Generation, RouteAttempt, extract_code

if TYPE_CHECKING:
    from quantumlayer_nb.routing.calls import Call

__all__ = ["lookup", "store"]

def _cache(call: Call) -> Any | None:
    if not call.use_cache and call.settings.cache.mode != "replay":
        return None
    from quantumlayer_nb.cache import cache_for

    return cache_for(call.settings)


def _params(call: Call) -> dict[str, Any]:
    params = {k: v for k, v in call.params.items() if k != "timeout"}
    params["format"] = call.format
    sample = call.metadata.get("eval_sample")
    if sample is not None and (params.get("temperature") or 0) > 0:
        # Independent samples of one task must not collapse onto one cached answer.
        params["sample"] = sample
    return params


def _model(call: Call) -> str:
    return call.plan.requested if call.plan.route_name else call.target.deployment.model


def _key(call: Call, cache: Any) -> str:
    if call.cache_key is None:
        call.cache_key = str(cache.request_key(
            model=_model(call), messages=call.messages, params=_params(call),
            scope=call.settings.project))
    return call.cache_key


def lookup(call: Call) -> Generation | None:
    """A cached Generation for this request, on the ledger as a ``cache_hit``; or None.

    Raises:
        ReplayMiss: cache mode ``replay`` and nothing is stored for the request.
    """
    cache = _cache(call)
    if cache is None or call.settings.cache.mode in ("off", "refresh"):
        return None
    started = time.perf_counter()
    hit = cache.lookup(_key(call, cache), messages=call.messages, params=_params(call),
                       mode=call.settings.cache.mode, scope=call.settings.project,
                       model=_model(call), semantic=call.semantic)
    if hit is None:
        return None
    from quantumlayer_nb.routing.calls import ledger_event, record

    latency_ms = (time.perf_counter() - started) * 1000
    code, syntax_error = extract_code(hit.text) if call.format == "code" else (None, None)
    semantic = hit.kind == "semantic"
    similar_to = getattr(hit, "request", None) if semantic else None
    generation = Generation(
        text=hit.text, code=code, syntax_error=syntax_error, format=call.format,
        model=call.plan.requested, model_served=hit.model_served, deployment=None,
        tokens_in=hit.tokens_in, tokens_out=hit.tokens_out, cost_usd=0.0, cost_known=True,
        latency_ms=latency_ms, cached=True, call_id=call.call_id, prompt_hash=call.prompt_hash,
        finish_reason=hit.finish_reason, metadata=call.metadata,
        route_trace=(RouteAttempt(deployment="cache", reason=f"{hit.kind} cache hit",
                                  outcome="cache_hit", latency_ms=latency_ms, cost_usd=0.0),),
        cache_kind=hit.kind, similar_to=similar_to,
    )
    data: dict[str, Any] = {"format": call.format, "metadata": call.metadata}
    if semantic:
        data.update(cache_kind="semantic", similar_to=similar_to)
    record(call, ledger_event(
        call, kind="cache_hit", outcome="cache_hit", deployment=None,
        model_served=hit.model_served, tokens_in=hit.tokens_in, tokens_out=hit.tokens_out,
        cost_usd=0.0, cost_known=True, saved_usd=hit.cost_usd, latency_ms=latency_ms,
        data=data,
    ))
    return generation


def store(call: Call, generation: Generation) -> None:
    """Keep a fresh answer for later lookups (no-op without the cache)."""
    cache = _cache(call)
    if cache is None or call.settings.cache.mode == "replay":
        return
    from quantumlayer_nb.cache import CachedAnswer

    answer = CachedAnswer(
        text=generation.text, model_served=generation.model_served,
        tokens_in=generation.tokens_in, tokens_out=generation.tokens_out,
        cost_usd=generation.cost_usd, finish_reason=generation.finish_reason, kind="exact",
    )
    cache.store(_key(call, cache), messages=call.messages, params=_params(call),
                scope=call.settings.project, model=_model(call), answer=answer)
