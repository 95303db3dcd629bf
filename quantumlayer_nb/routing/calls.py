"""The request pipeline after validation: route, record every attempt, build the result.

``_api`` validates a request and turns it into a :class:`Call`; the functions here run it
through the router (plain routes and cascades), write one ledger event per attempt, check
the answer with the safety policy, store it in the cache and return the ``Generation``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from quantumlayer_nb._env import env_get
from quantumlayer_nb._where import current_cell
from quantumlayer_nb.config import Settings
from quantumlayer_nb.errors import (
    ContextWindowExceeded,
    PolicyViolation,
    QLayerError,
    RequestError,
)
from quantumlayer_nb.generation import Format, Generation, RouteAttempt, extract_code
from quantumlayer_nb.ledger.events import Ledger, ledger_for
from quantumlayer_nb.llm import client
from quantumlayer_nb.llm._lazy import litellm_module
from quantumlayer_nb.observability import (
    record_call,
    request_attributes,
    response_attributes,
    span,
    telemetry_enabled,
)
from quantumlayer_nb.routing import _cachelink as _cachelink
from quantumlayer_nb.routing import cascade as cascade
from quantumlayer_nb.routing import projects as projects
from quantumlayer_nb.routing import router as router
from quantumlayer_nb.routing.models import ProjectConfig
from quantumlayer_nb.routing.resolve import Target
from quantumlayer_nb.safety.policy import check_incoming

__all__ = [
    "Call", "Check", "Options", "acascade", "admit", "aroute", "check_context_window", "fail",
    "ledger_event", "record", "route", "run_cascade",
]

Check = Callable[[Generation], bool]

@dataclass(frozen=True)
class Options:
    """The per-call switches of ``generate`` beyond the request itself."""

    check: Check | None = None
    tag: str | None = None
    cache: bool | Literal["exact"] = True
    """False: neither read nor write the cache; ``"exact"``: exact matches only, no semantic."""
    streaming: bool = False

    def __post_init__(self) -> None:
        if self.cache not in (True, False, "exact") or not isinstance(self.cache, (bool, str)):
            raise RequestError(
                f"cache={self.cache!r} is not accepted. Pass True (exact and semantic "
                'matches), "exact" (exact matches only) or False (no cache for this call).')


NO_OPTIONS = Options()


@dataclass
class Call:
    settings: Settings
    plan: router.Plan
    messages: list[dict[str, str]]
    params: dict[str, Any]
    format: Format
    prompt_hash: str
    call_id: str
    metadata: dict[str, Any]
    tag: str | None = None
    check: Check | None = None
    use_cache: bool = True
    project: ProjectConfig | None = None
    attempts: list[router.Attempt] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    cache_key: str | None = None  # computed at lookup, reused at store
    semantic: bool = True  # False: cache="exact", no semantic lookup for this call
    deadline: float | None = None  # time.monotonic() by which the whole call must end
    clock_started: bool = False

    def start_clock(self) -> None:
        """Start the call's deadline: ``timeout`` seconds from now, for everything that follows.

        The transport is loaded first: the one-off import of litellm in a process's first
        call is not the provider's time, and must not eat a short timeout. The call's
        latency is counted from here too, so the one-off loads of a process's first call
        (litellm or the recipe index, the safety model, the embedder) are not reported as
        the call's own time.
        """
        if self.clock_started:
            return
        self.clock_started = True
        if any(not c.target.is_recipes for c in self.plan.candidates):
            litellm_module()
        if any(c.target.is_recipes for c in self.plan.candidates):
            from quantumlayer_nb.llm._recipe_index import get_index

            get_index()  # the offline model's index, loaded once per process
        self.started = time.perf_counter()
        timeout = self.params.get("timeout")
        self.deadline = None if timeout is None else time.monotonic() + timeout

    @property
    def target(self) -> Target:
        """The deployment of the latest attempt (the first candidate before any)."""
        return self.attempts[-1].target if self.attempts else self.plan.candidates[0].target


def check_context_window(target: Target, messages: list[dict[str, str]]) -> None:
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


def ledger_event(call: Call, **fields: Any) -> dict[str, Any]:
    settings = call.settings
    event: dict[str, Any] = {
        "kind": "call",
        "project": settings.project,
        "user": settings.user,
        "notebook": env_get("QLAYER_NOTEBOOK") or env_get("JPY_SESSION_NAME"),
        "run_id": env_get("QLAYER_RUN_ID"),
        "cell": current_cell(),
        "call_id": call.call_id,
        "attempt": 0,
        "deployment": call.target.name,
        "model_requested": call.plan.requested,
        "prompt_hash": call.prompt_hash,
        "tags": list(call.metadata.get("tags", [])),
        "data": {"format": call.format, "metadata": call.metadata},
    }
    if settings.store_prompts:
        event["prompt"] = json.dumps(call.messages)
    event.update(fields)
    return event


_ledgers: dict[tuple[Path, Path], Ledger] = {}


def _ledger(settings: Settings) -> Ledger:
    """The ledger of the settings' data folder (one dict lookup once it is known)."""
    key = (settings.data_dir, settings.project_root)
    found = _ledgers.get(key)
    if found is None:
        found = _ledgers[key] = ledger_for(settings.data_path)
    return found


def record(call: Call, event: dict[str, Any]) -> None:
    _ledger(call.settings).append_trusted(event)
    record_call(event)  # metrics, when telemetry is on; a no-op otherwise
    if call.project is not None and event.get("kind") == "call":
        tokens = (event.get("tokens_in") or 0) + (event.get("tokens_out") or 0)
        projects.count_tokens(call.settings, call.project, tokens)


def admit(call: Call) -> None:
    """Count the call against its project's quotas; a refusal goes on the ledger."""
    if call.project is None:
        return
    try:
        projects.admit(call.settings, call.project)
    except QLayerError as exc:
        fail(call, exc)
        raise


def _attempt_span(target: Target, params: dict[str, Any]) -> Any:
    if not telemetry_enabled():
        return span("chat")  # the shared no-op: no name or attributes to build
    return span(
        f"chat {target.deployment.model}",
        **request_attributes(
            target.deployment.model,
            temperature=params.get("temperature"),
            max_tokens=params.get("max_tokens"),
            deployment=target.name,
        ),
    )


def _send(call: Call, target: Target, params: dict[str, Any]) -> client.Completion:
    with _attempt_span(target, params) as current:
        done = client.complete(target, call.messages, params)
        if telemetry_enabled():
            current.set_attributes(response_attributes(done))
    return done


async def _asend(call: Call, target: Target, params: dict[str, Any]) -> client.Completion:
    with _attempt_span(target, params) as current:
        done = await client.acomplete(target, call.messages, params)
        if telemetry_enabled():
            current.set_attributes(response_attributes(done))
    return done


def _record_attempt(call: Call, attempt: router.Attempt) -> None:
    """The router's recorder: one ledger event per failed attempt."""
    call.attempts.append(attempt)
    exc = attempt.error
    record(call, ledger_event(
        call,
        attempt=attempt.number,
        deployment=attempt.target.name,
        outcome="refused" if isinstance(exc, PolicyViolation) else "error",
        error_class=attempt.outcome,
        error_message=str(exc)[:500],
        latency_ms=attempt.latency_ms,
        cost_usd=0.0,
        cost_known=True,
        data={"format": call.format, "metadata": call.metadata, "reason": attempt.reason},
    ))


def _build(call: Call, win: router.Attempt, attempts: list[router.Attempt],
           prior: tuple[RouteAttempt, ...] = ()) -> Generation:
    """The Generation of a successful attempt (safety-checked; not yet on the ledger)."""
    done = win.done
    assert done is not None  # set by the router on success
    call.attempts = [a for a in call.attempts if a is not win] + [win]
    try:
        checked = check_incoming(done.text, call.settings.safety)
    except PolicyViolation as exc:
        fail(call, exc, done)
        raise
    if checked.text != done.text:  # a secret was redacted from the response
        done = win.done = dataclasses.replace(done, text=checked.text)
    code, syntax_error = extract_code(done.text) if call.format == "code" else (None, None)
    paid = [a.cost_usd for a in attempts] + [t.cost_usd for t in prior]
    cost = None if any(c is None for c in paid) else sum(c or 0.0 for c in paid)
    return Generation(
        text=done.text,
        code=code,
        syntax_error=syntax_error,
        format=call.format,
        model=call.plan.requested,
        model_served=done.model_served,
        deployment=win.target.name,
        tokens_in=done.tokens_in,
        tokens_out=done.tokens_out,
        cost_usd=cost,
        cost_known=cost is not None,
        latency_ms=(time.perf_counter() - call.started) * 1000,
        ttft_ms=done.ttft_ms,
        call_id=call.call_id,
        prompt_hash=call.prompt_hash,
        finish_reason=done.finish_reason,
        route_trace=(*prior, *(a.trace() for a in attempts)),
        metadata=call.metadata,
        tokens_estimated=done.tokens_estimated,
    )


def _record_success(call: Call, win: router.Attempt, generation: Generation,
                    outcome: str = "ok") -> None:
    done = win.done
    assert done is not None
    record(call, ledger_event(
        call,
        attempt=win.number,
        deployment=win.target.name,
        outcome=outcome,
        model_served=done.model_served,
        tokens_in=done.tokens_in,
        tokens_out=done.tokens_out,
        tokens_estimated=done.tokens_estimated,
        cost_usd=done.cost_usd,
        cost_known=done.cost_usd is not None,
        latency_ms=win.latency_ms if outcome != "ok" else generation.latency_ms,
        ttft_ms=done.ttft_ms,
        response_hash=hashlib.sha256(done.text.encode()).hexdigest(),
        response=done.text if call.settings.store_prompts else None,
        data={"format": call.format, "metadata": call.metadata, "reason": win.reason},
    ))


def _succeed(call: Call, win: router.Attempt, attempts: list[router.Attempt]) -> Generation:
    generation = _build(call, win, attempts)
    _record_success(call, win, generation)
    _cachelink.store(call, generation)
    return generation


def fail(call: Call, exc: QLayerError, done: client.Completion | None = None) -> None:
    """Record a failure that no attempt recorded; a refused response still cost money."""
    if call.attempts and call.attempts[-1].error is exc:
        return
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
    record(
        call,
        ledger_event(
            call,
            attempt=len(call.attempts),
            outcome="refused" if isinstance(exc, PolicyViolation) else "error",
            error_class=type(exc).__name__,
            error_message=str(exc)[:500],
            latency_ms=latency_ms,
            **paid,
        ),
    )


def _precheck(call: Call) -> Callable[[Target], None]:
    return lambda target: check_context_window(target, call.messages)


def route(call: Call) -> Generation:
    admit(call)
    call.start_clock()

    def on_attempt(attempt: router.Attempt) -> None:
        _record_attempt(call, attempt)

    try:
        win, attempts = router.run(call.plan, call.settings, call.messages, call.params,
                                   lambda t, p: _send(call, t, p), on_attempt,
                                   _precheck(call), call.deadline)
    except QLayerError as exc:
        fail(call, exc)
        raise
    return _succeed(call, win, attempts)


async def aroute(call: Call) -> Generation:
    admit(call)
    call.start_clock()

    def on_attempt(attempt: router.Attempt) -> None:
        _record_attempt(call, attempt)

    try:
        win, attempts = await router.arun(
            call.plan, call.settings, call.messages, call.params,
            lambda t, p: _asend(call, t, p), on_attempt, _precheck(call), call.deadline)
    except QLayerError as exc:
        fail(call, exc)
        raise
    return _succeed(call, win, attempts)


def _stage(call: Call, the_plan: router.Plan, prior: tuple[RouteAttempt, ...]
           ) -> tuple[router.Attempt, Generation]:
    def on_attempt(attempt: router.Attempt) -> None:
        _record_attempt(call, attempt)

    win, attempts = router.run(the_plan, call.settings, call.messages, call.params,
                               lambda t, p: _send(call, t, p), on_attempt,
                               _precheck(call), call.deadline)
    return win, _build(call, win, attempts, prior)


async def _astage(call: Call, the_plan: router.Plan, prior: tuple[RouteAttempt, ...]
                  ) -> tuple[router.Attempt, Generation]:
    def on_attempt(attempt: router.Attempt) -> None:
        _record_attempt(call, attempt)

    win, attempts = await router.arun(
        the_plan, call.settings, call.messages, call.params,
        lambda t, p: _asend(call, t, p), on_attempt, _precheck(call), call.deadline)
    return win, _build(call, win, attempts, prior)


def run_cascade(call: Call) -> Generation:
    admit(call)
    call.start_clock()
    check = cascade.check_for(call.plan, call.check)
    generation: Generation | None = None
    for the_plan in cascade.stage_plans(call.plan):
        prior = generation.route_trace if generation is not None else ()
        try:
            win, generation = _stage(call, the_plan, prior)
        except QLayerError as exc:
            fail(call, exc)
            raise
        passed, generation = cascade.judge(generation, check)
        _record_success(call, win, generation, "ok" if passed else "check_failed")
        if passed:
            break
    assert generation is not None
    _cachelink.store(call, generation)
    return generation


async def acascade(call: Call) -> Generation:
    admit(call)
    call.start_clock()
    check = cascade.check_for(call.plan, call.check)
    generation: Generation | None = None
    for the_plan in cascade.stage_plans(call.plan):
        prior = generation.route_trace if generation is not None else ()
        try:
            win, generation = await _astage(call, the_plan, prior)
        except QLayerError as exc:
            fail(call, exc)
            raise
        passed, generation = await cascade.ajudge(generation, check)
        _record_success(call, win, generation, "ok" if passed else "check_failed")
        if passed:
            break
    assert generation is not None
    _cachelink.store(call, generation)
    return generation
