"""The router: which deployment serves a request, in what order, and what to do on failure.

``plan`` turns the requested name into candidates ordered by the route's policy; ``run``
(and ``arun``) try them with retries, circuit breakers, rate limits, concurrency caps and
budget reservations, reporting every attempt. litellm carries each call (``llm.client``).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from quantumlayer_nb.config import Settings
from quantumlayer_nb.errors import (
    ContentPolicyError,
    ContextWindowError,
    ContextWindowExceeded,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    QLayerError,
    RateLimitError,
)
from quantumlayer_nb.generation import RouteAttempt
from quantumlayer_nb.llm import client
from quantumlayer_nb.routing import budget
from quantumlayer_nb.routing.models import RouteConfig
from quantumlayer_nb.routing.resilience import (
    DeploymentState,
    attempt_budget,
    bounded,
    bounded_sync,
    global_cap,
    state_for,
)
from quantumlayer_nb.routing.resolve import Target, check_credentials, resolve

__all__ = [
    "Attempt", "Candidate", "Plan", "Walk", "arun", "attempt_budget", "budget_charge", "plan",
    "price_per_token", "run", "transport_params",
]

_SINGLE = RouteConfig(deployments=["(direct)"], retries=0)
_RATES_TTL_S = 30.0
_rates: dict[str, tuple[float, dict[tuple[str, ...], float]]] = {}


@dataclass(frozen=True)
class Candidate:
    """A deployment the router may try, and why it stands where it does."""

    target: Target
    reason: str


@dataclass
class Plan:
    """The candidates for one request under its route's policy."""

    requested: str
    route_name: str | None
    route: RouteConfig
    candidates: list[Candidate]


@dataclass
class Attempt:
    """One attempt as the router saw it; handed to the caller's recorder."""

    target: Target
    number: int
    reason: str
    outcome: str = "ok"
    latency_ms: float = 0.0
    cost_usd: float | None = None
    done: client.Completion | None = None
    error: QLayerError | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def trace(self) -> RouteAttempt:
        """This attempt as it appears on ``Generation.route_trace``."""
        return RouteAttempt(deployment=self.target.name, reason=self.reason,
                            outcome=self.outcome, latency_ms=self.latency_ms,
                            cost_usd=self.cost_usd)


def price_per_token(target: Target) -> float | None:
    """Input + output price of one token, from the override or litellm's cost map."""
    return client.cost_of(target, 1, 1, None)


def plan(requested: str | None, settings: Settings, *, tag: str | None = None,
         streaming: bool = False) -> Plan:
    """Order the deployments for ``requested`` (a route, alias, deployment or litellm id)."""
    name = requested if requested is not None else settings.resolved_default()
    name = settings.aliases.get(name, name) if name not in settings.routes else name
    route = settings.routes.get(name)
    if route is None:
        target = resolve(requested, settings)
        reason = "requested" if target.requested == target.name else "alias"
        return Plan(target.requested, None, _SINGLE, [Candidate(target, reason)])
    targets = [resolve(entry, settings) for entry in route.deployments]
    targets = [Target(name, t.name, t.deployment) for t in targets]
    return Plan(name, name, route, _order(route, targets, settings, tag, streaming))


def _order(route: RouteConfig, targets: list[Target], settings: Settings, tag: str | None,
           streaming: bool) -> list[Candidate]:
    policy = route.policy
    if policy == "weighted":
        weights = {t.name: (route.weights or {}).get(t.name, t.deployment.weight) for t in targets}
        pool, ordered = list(targets), []
        while pool:
            pick = random.choices(pool, [weights[t.name] for t in pool])[0]
            pool.remove(pick)
            ordered.append(Candidate(pick, f"weighted (weight {weights[pick.name]:g})"))
        return ordered
    if policy == "cheapest":
        priced = [(price_per_token(t), i, t) for i, t in enumerate(targets)]
        priced.sort(key=lambda p: (p[0] is None, p[0] or 0.0, p[1]))
        return [Candidate(t, "cheapest" if p is not None else "price unknown: last")
                for p, _, t in priced]
    if policy == "fastest":
        def speed(t: Target) -> float:
            state = state_for(t.name, t.deployment)
            value = state.ttft_ms if streaming and state.ttft_ms is not None else state.latency_ms
            return -1.0 if value is None else value  # unmeasured first, to measure it
        ranked = sorted(targets, key=speed)
        return [Candidate(t, "unmeasured" if speed(t) < 0 else f"fastest ({speed(t):.0f} ms avg)")
                for t in ranked]
    if policy == "quality":
        return _by_quality(route, targets, settings, tag)
    reason = "cascade stage" if policy == "cascade" else "priority"
    return [Candidate(t, f"{reason} {i + 1}") for i, t in enumerate(targets)]


def _pass_rates(settings: Settings) -> dict[tuple[str, ...], float]:
    key = str(settings.data_path)
    cached = _rates.get(key)
    if cached is not None and time.monotonic() - cached[0] < _RATES_TTL_S:
        return cached[1]
    try:
        from quantumlayer_nb.eval import pass_rates

        rates = pass_rates(settings.data_path)
    except Exception:  # no evaluation on the ledger yet (or no ledger): no data
        rates = {}
    _rates[key] = (time.monotonic(), rates)
    return rates


def _by_quality(route: RouteConfig, targets: list[Target], settings: Settings,
                tag: str | None) -> list[Candidate]:
    rates = _pass_rates(settings)
    goal = route.quality_target if route.quality_target is not None else 0.8
    good: list[tuple[float, int, Target, float]] = []
    for i, t in enumerate(targets):
        label = tag or "(none)"
        rate = rates.get((t.name, label), rates.get((t.deployment.model, label)))
        if rate is not None and rate >= goal:
            price = price_per_token(t)
            good.append((price if price is not None else float("inf"), i, t, rate))
    if not good:
        return [Candidate(t, f"priority {i + 1} (no pass rate meets {goal:g})")
                for i, t in enumerate(targets)]
    good.sort(key=lambda g: (g[0], g[1]))
    chosen = [Candidate(t, f"quality: pass rate {rate:.2f} >= {goal:g}, cheapest")
              for _, _, t, rate in good]
    picked = {c.target.name for c in chosen}
    return chosen + [Candidate(t, "quality fallback") for t in targets if t.name not in picked]


def estimate_cost(target: Target, messages: list[dict[str, str]], max_tokens: int | None
                  ) -> float | None:
    """An upper bound of a call's cost: prompt bytes as tokens, plus max_tokens (or default)."""
    prompt = sum(len(m["content"].encode()) for m in messages) + 8 * len(messages)
    return client.cost_of(target, prompt, max_tokens or budget.DEFAULT_MAX_TOKENS, None)


def budget_charge(target: Target, messages: list[dict[str, str]], done: client.Completion
                  ) -> float | None:
    """What a finished call counts for on budgets.

    Its cost; or, when its tokens were estimated (the provider sent no usage), the larger
    of ``budget.ESTIMATE_FACTOR`` times the estimate and the cost of counting every byte of
    prompt and answer as a token (tokenizers in use count at least one byte per token, but
    a server's chat template adds tokens nobody sees), so under-counting cannot beat a budget.
    """
    if not done.tokens_estimated or done.cost_usd is None:
        return done.cost_usd
    prompt_bytes = sum(len(m["content"].encode()) for m in messages) + 8 * len(messages)
    by_bytes = client.cost_of(target, prompt_bytes, len(done.text.encode()), None) or 0.0
    return max(done.cost_usd * budget.ESTIMATE_FACTOR, by_bytes)


_DEADLINE_SLACK_S = 0.5  # a deadline this much shorter than the timeout is held strictly


def transport_params(params: dict[str, Any], target: Target, streaming: bool = False,
                     remaining_s: float | None = None) -> dict[str, Any]:
    """Parameters of one attempt.

    The total timeout is the smaller of the call's, the deployment's and what is left of
    the call's deadline (``remaining_s``: retries, fallbacks and backoff share one timeout).
    The attempt must
    end within it, so the transport (httpx through litellm) and the router's own bound get
    a slightly smaller budget (:func:`attempt_budget`): the rest is left for the event
    loop's lag and the error handling that follows a timeout. A connect timeout (and,
    streaming, a first-token timeout: the read timeout, so it also bounds each gap between
    chunks) go to httpx too, never longer than the budget.
    """
    dep = target.deployment
    total = params.get("timeout")
    if dep.timeout is not None:
        total = min(total or dep.timeout, dep.timeout)
    configured = total
    by_deadline = remaining_s is not None and (
        total is None or remaining_s < total - _DEADLINE_SLACK_S)
    if by_deadline:
        # Rounded down to 0.1 s: litellm keeps one HTTP client per distinct timeout, and a
        # value that changed on every call would open a new connection every time.
        assert remaining_s is not None
        total = max(0.001, math.floor(remaining_s * 10) / 10 or remaining_s)
    budget_s = attempt_budget(total)
    timeout: Any = budget_s
    first = dep.first_token_timeout if streaming else None
    if dep.connect_timeout is not None or first is not None:
        import httpx

        def capped(value: float | None) -> float | None:
            return budget_s if value is None else min(value, budget_s or value)

        timeout = httpx.Timeout(budget_s, connect=capped(dep.connect_timeout),
                                read=capped(first))
    return {**params, "timeout": timeout, "total_timeout": total, "attempt_budget": budget_s,
            "configured_timeout": configured, "deadline_bound": by_deadline}


def _strict_budget(call_params: dict[str, Any], target: Target,
                   settings: Settings) -> float | None:
    """The budget a blocking attempt is held to on a helper thread, or None.

    A timeout the caller or the deployment set is held strictly; the default total timeout
    is left to the transport's own (the same budget), which spares every ordinary call a
    thread hop.
    """
    explicit = target.deployment.timeout is not None or call_params.get(
        "configured_timeout") not in (None, settings.timeout) or bool(
        call_params.get("deadline_bound"))
    return call_params["attempt_budget"] if explicit else None


Precheck = Callable[[Target], None]
Recorder = Callable[[Attempt], None]


_MIN_ATTEMPT_S = 0.05  # less time than this left: no new attempt is started


class Walk:
    """The decisions shared by the blocking, the async and the streaming loops.

    Which candidate is tried, the budget reservation before an attempt and its commit or
    release after, circuit breakers, and the call's deadline (``time.monotonic()``): every
    wait (rate limits, concurrency caps, backoff) and every attempt fits in what is left.
    """

    def __init__(self, the_plan: Plan, settings: Settings, messages: list[dict[str, str]],
                 params: dict[str, Any], precheck: Precheck | None, record: Recorder,
                 deadline: float | None = None) -> None:
        self.plan, self.settings, self.messages, self.params = the_plan, settings, messages, params
        self.precheck, self.record = precheck, record
        self.deadline = deadline
        self.attempts: list[Attempt] = []
        self.last_error: QLayerError | None = None
        self.final_error: QLayerError | None = None
        self.min_window = 0
        self.number = 0
        self.budgeted = bool(settings.budgets)

    def remaining(self) -> float | None:
        """Seconds left before the call's deadline (None: no deadline)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def check_time(self, wait_s: float = 0.0) -> None:
        """Raise the call's timeout if waiting ``wait_s`` more would leave no time to try."""
        left = self.remaining()
        if left is not None and left - wait_s < _MIN_ATTEMPT_S:
            raise self.out_of_time()

    def out_of_time(self) -> ProviderTimeout:
        """The error of a call whose whole timeout is spent."""
        tried = ", ".join(f"{a.target.name}: {a.outcome}" for a in self.attempts)
        made = f"after {len(self.attempts)} attempt(s) ({tried})" if self.attempts else (
            "before any attempt could start (rate limit or concurrency cap)")
        return ProviderTimeout(
            f"The call to {self.plan.requested!r} used up its {self.params.get('timeout'):g} s "
            f"timeout {made}. The timeout covers retries, fallbacks, backoff and streaming; "
            "raise timeout=, or add a faster fallback deployment.",
            model=self.plan.requested,
        )

    def start(self, cand: Candidate, retry: int = 0) -> Attempt:
        """A new numbered attempt on ``cand``."""
        attempt = Attempt(cand.target, self.number,
                          cand.reason if not retry else f"{cand.reason}, retry {retry}")
        self.number += 1
        return attempt

    def backoff(self, retry: int, error: QLayerError) -> float | None:
        """Seconds to wait before retrying the same deployment; None: move on instead.

        A ``Retry-After`` is honoured in full; when it lies beyond the deadline the
        deployment is not retried, and if nothing else can answer the call fails at once
        with a :class:`RateLimitError` that says when to retry.
        """
        delay = _backoff(self.plan.route, retry, error)
        left = self.remaining()
        if left is None or delay < left - _MIN_ATTEMPT_S:
            return delay
        if not isinstance(error, ProviderError):
            return None
        after = error.retry_after
        if after is not None and after >= left - _MIN_ATTEMPT_S:
            at = time.strftime("%H:%M:%S", time.localtime(time.time() + after))
            self.final_error = self.last_error = RateLimitError(
                f"{error.model or self.plan.requested} asked to retry after {after:g} s (at "
                f"{at}), later than the call's {self.params.get('timeout'):g} s timeout allows "
                f"({max(left, 0.0):.1f} s left). Retry then, raise timeout=, or add a fallback "
                "deployment.",
                model=error.model, status_code=error.status_code, retry_after=after,
            )
        return None

    def eligible(self, cand: Candidate) -> str | None:
        """Why this candidate is skipped, or None to try it."""
        dep = cand.target.deployment
        if self.min_window and (dep.context_window or 0) <= self.min_window:
            return "skipped: window too small"
        if self.plan.route_name is not None:
            try:
                check_credentials(cand.target)
                if self.precheck is not None:
                    self.precheck(cand.target)
            except ContextWindowExceeded as exc:
                self.last_error = exc
                return "skipped: prompt too long for it"
            except QLayerError as exc:
                self.last_error = exc
                return f"skipped: {type(exc).__name__}"
            if not state_for(cand.target.name, dep).breaker.allow():
                return "skipped: circuit open"
        return None

    def call_params(self, target: Target, streaming: bool = False) -> dict[str, Any]:
        return transport_params(self.params, target, streaming, self.remaining())

    def reserve(self, target: Target) -> budget.Reservation | None:
        if not self.budgeted:
            return None
        estimate = estimate_cost(target, self.messages, self.params.get("max_tokens"))
        return budget.reserve(self.settings, self.plan.route_name, estimate, label=target.name)

    def succeeded(self, attempt: Attempt, state: DeploymentState, done: client.Completion,
                  held: budget.Reservation | None) -> None:
        attempt.done, attempt.cost_usd = done, done.cost_usd
        budget.commit(held, budget_charge(attempt.target, self.messages, done))
        state.breaker.record_success()
        state.record_latency(attempt.latency_ms, done.ttft_ms)
        self.attempts.append(attempt)

    def failed(self, attempt: Attempt, state: DeploymentState, exc: QLayerError,
               held: budget.Reservation | None) -> str:
        """Record a failure; return 'retry', 'next' or 'raise'."""
        budget.release(held)
        attempt.outcome, attempt.error, attempt.cost_usd = type(exc).__name__, exc, 0.0
        self.attempts.append(attempt)
        self.record(attempt)
        self.last_error = exc
        if isinstance(exc, ProviderError) and exc.retryable:
            state.breaker.record_failure()
            return "retry"
        if isinstance(exc, ContextWindowError):
            self.min_window = attempt.target.deployment.context_window or 1
            return "next"
        if isinstance(exc, ContentPolicyError) and self.plan.route.on_content_policy == "next":
            return "next"
        return "raise"

    def exhausted(self) -> QLayerError:
        if self.final_error is not None and self.final_error is self.last_error:
            return self.final_error
        left = self.remaining()
        if left is not None and left < 2 * _MIN_ATTEMPT_S and isinstance(
                self.last_error, ProviderTimeout):
            return self.out_of_time()  # the deadline, not the deployments, ended the call
        if self.last_error is not None and not isinstance(self.last_error, ProviderError):
            return self.last_error
        if self.last_error is not None and len(self.plan.candidates) == 1:
            return self.last_error
        names = ", ".join(c.target.name for c in self.plan.candidates)
        detail = f" Last error: {self.last_error}" if self.last_error else ""
        return ProviderUnavailable(
            f"Every deployment of {self.plan.requested!r} failed or is unavailable ({names})."
            f"{detail} Retry later, or add a fallback deployment to the route."
        )


_Walk = Walk


def _wait_s(walk: Walk, state: DeploymentState, target: Target) -> float:
    tokens = sum(len(m["content"]) for m in walk.messages) // 4 + (
        walk.params.get("max_tokens") or 0)
    return state.wait_needed(tokens)


def run(the_plan: Plan, settings: Settings, messages: list[dict[str, str]],
        params: dict[str, Any], send: Callable[[Target, dict[str, Any]], client.Completion],
        record: Recorder, precheck: Precheck | None = None, deadline: float | None = None
        ) -> tuple[Attempt, list[Attempt]]:
    """Try the plan's candidates until one answers; returns (the winning attempt, all).

    ``deadline`` (``time.monotonic()``) bounds the whole walk: waits, attempts and backoff.
    """
    walk = Walk(the_plan, settings, messages, params, precheck, record, deadline)
    for cand in the_plan.candidates:
        if walk.eligible(cand) is not None:
            continue
        state = state_for(cand.target.name, cand.target.deployment)
        for retry in range(the_plan.route.retries + 1):
            while (wait := _wait_s(walk, state, cand.target)) > 0:
                walk.check_time(min(wait, 1.0))
                time.sleep(min(wait, 1.0))
            while not ((state.cap is None or state.cap.try_enter()) and _enter_global(state)):
                walk.check_time(0.002)
                time.sleep(0.002)
            try:
                walk.check_time()
                held = walk.reserve(cand.target)
            except BaseException:
                _leave(state)
                raise
            attempt = walk.start(cand, retry)
            call_params = walk.call_params(cand.target)
            started = time.perf_counter()
            try:
                done = bounded_sync(send, cand.target, call_params,
                                    budget_s=_strict_budget(call_params, cand.target, settings),
                                    on_timeout=partial(_timed_out, cand.target,
                                                       call_params["total_timeout"]))
            except QLayerError as exc:
                attempt.latency_ms = (time.perf_counter() - started) * 1000
                error, decision = exc, walk.failed(attempt, state, exc, held)
            else:
                attempt.latency_ms = (time.perf_counter() - started) * 1000
                walk.succeeded(attempt, state, done, held)
                return attempt, walk.attempts
            finally:
                _leave(state)
            if decision == "raise":
                raise error
            if decision == "next" or retry == the_plan.route.retries:
                break
            delay = walk.backoff(retry, error)
            if delay is None:
                break
            time.sleep(delay)
    raise walk.exhausted()


async def arun(the_plan: Plan, settings: Settings, messages: list[dict[str, str]],
               params: dict[str, Any],
               send: Callable[[Target, dict[str, Any]], Awaitable[client.Completion]],
               record: Recorder, precheck: Precheck | None = None,
               deadline: float | None = None) -> tuple[Attempt, list[Attempt]]:
    """Async twin of :func:`run`; each attempt is also bounded by its total timeout."""
    walk = Walk(the_plan, settings, messages, params, precheck, record, deadline)
    for cand in the_plan.candidates:
        if walk.eligible(cand) is not None:
            continue
        state = state_for(cand.target.name, cand.target.deployment)
        for retry in range(the_plan.route.retries + 1):
            while (wait := _wait_s(walk, state, cand.target)) > 0:
                walk.check_time(min(wait, 1.0))
                await asyncio.sleep(min(wait, 1.0))
            while not ((state.cap is None or state.cap.try_enter()) and _enter_global(state)):
                walk.check_time(0.002)
                await asyncio.sleep(0.002)
            try:
                walk.check_time()
                held = walk.reserve(cand.target)
            except BaseException:
                _leave(state)
                raise
            attempt = walk.start(cand, retry)
            call_params = walk.call_params(cand.target)
            started = time.perf_counter()
            try:
                done = await bounded(send(cand.target, call_params),
                                     budget_s=call_params["attempt_budget"],
                                     on_timeout=partial(_timed_out, cand.target,
                                                       call_params["total_timeout"]))
            except QLayerError as exc:
                attempt.latency_ms = (time.perf_counter() - started) * 1000
                error, decision = exc, walk.failed(attempt, state, exc, held)
            else:
                attempt.latency_ms = (time.perf_counter() - started) * 1000
                walk.succeeded(attempt, state, done, held)
                return attempt, walk.attempts
            finally:
                _leave(state)
            if decision == "raise":
                raise error
            if decision == "next" or retry == the_plan.route.retries:
                break
            delay = walk.backoff(retry, error)
            if delay is None:
                break
            await asyncio.sleep(delay)
    raise walk.exhausted()


def _timed_out(target: Target, total_s: float, budget_s: float) -> QLayerError:
    return ProviderTimeout(
        f"{target.deployment.model} did not answer within its {total_s:.3g} s timeout (the "
        f"transport gave up at {budget_s:.3g} s to end the attempt in time). Raise the "
        "timeout or try another model.", model=target.deployment.model,
    )


def _enter_global(state: DeploymentState) -> bool:
    if global_cap.try_enter():
        return True
    if state.cap is not None:
        state.cap.leave()
    return False


def _leave(state: DeploymentState) -> None:
    global_cap.leave()
    if state.cap is not None:
        state.cap.leave()


def _backoff(route: RouteConfig, retry: int, exc: QLayerError) -> float:
    from quantumlayer_nb.routing.resilience import backoff_delay

    after = exc.retry_after if isinstance(exc, ProviderError) else None
    return backoff_delay(retry, route.backoff_base_s, route.backoff_max_s, after)
