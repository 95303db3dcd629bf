"""Streamed calls: the same pipeline as any other call, yielding redacted text as it arrives.

A streamed call goes through the same steps as :func:`pipeline.route`: the cache lookup
(``replay`` answers only from the store), the project's quotas, the router's
:class:`~quantumlayer_nb.routing.router.Walk` (eligibility, circuit breakers, the budget
reservation before the provider is called and its commit after, the call's deadline), one
ledger event per attempt, the incoming safety check and the cache store. What differs is
only that text is handed out while it arrives, and that a stream moves on to the next
deployment only before its first piece.

Secrets are redacted before a piece is yielded: :class:`StreamRedactor` holds back the tail
of the text that could still be (the start of) a secret and releases it once it is known.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

from quantumlayer_nb.errors import PolicyViolation, QLayerError
from quantumlayer_nb.generation import Generation
from quantumlayer_nb.llm import client
from quantumlayer_nb.routing import _cachelink as _cachelink
from quantumlayer_nb.routing import budget as budget
from quantumlayer_nb.routing import router as router
from quantumlayer_nb.routing.calls import (
    Call,
    _precheck,
    _record_attempt,
    _succeed,
    admit,
    fail,
    ledger_event,
    record,
)
from quantumlayer_nb.routing.resilience import bounded_aiter, bounded_iter, state_for
from quantumlayer_nb.safety.policy import SafetyPolicy, check_content
from quantumlayer_nb.safety.secrets import find_secrets

__all__ = ["HOLD_CHARS", "StreamRedactor", "astream", "stream"]

HOLD_CHARS = 256
"""Characters of an unfinished line held back while they could still be part of a secret."""

_CONTEXT_CHARS = 64  # already released text rescanned, so a secret's prefix is still seen


class StreamRedactor:
    """Redacts a text that arrives in pieces, releasing only what can no longer change.

    Released text ends at a line end, or :data:`HOLD_CHARS` before the end of a longer
    line, and never inside (or right after) something the secret detectors match, since
    more characters could still extend it. The detectors are the safety policy's
    (:func:`~quantumlayer_nb.safety.secrets.find_secrets`, as ``check_incoming`` runs them).
    """

    def __init__(self, policy: SafetyPolicy) -> None:
        self._policy = policy
        self._raw: list[str] = []
        self._raw_text = ""
        self._released = 0  # characters of the raw text already handed out
        self._out: list[str] = []

    @property
    def raw(self) -> str:
        """Everything received so far, as the provider sent it."""
        if len(self._raw) > 1:
            self._raw = ["".join(self._raw)]
        return self._raw[0] if self._raw else ""

    @property
    def text(self) -> str:
        """Everything handed out so far (redacted)."""
        return "".join(self._out)

    def feed(self, piece: str) -> str:
        """Take a piece of the answer; return the text that is now safe to show ("" if none)."""
        self._raw.append(piece)
        return self._release(final=False)

    def flush(self) -> str:
        """The stream ended: return the rest, redacted."""
        return self._release(final=True)

    def _release(self, *, final: bool) -> str:
        raw = self.raw
        start = max(0, self._released - _CONTEXT_CHARS)
        window = raw[start:]
        begin = self._released - start  # where unreleased text starts in the window
        if len(window) == begin:
            return ""
        policy = self._policy
        findings = find_secrets(window, policy.key_env_vars,
                                patterns=policy.secrets != "off")[1]
        findings = [f for f in findings if f.end > begin]
        if final:
            boundary = len(window)
        else:
            line_end = window.rfind("\n", begin) + 1
            boundary = max(line_end, len(window) - HOLD_CHARS)
            for finding in reversed(findings):  # a match reaching the boundary may grow
                if finding.start < boundary <= finding.end:
                    boundary = finding.start
            if boundary <= begin:
                return ""
        parts: list[str] = []
        cursor = begin
        for finding in findings:
            if finding.end > boundary:
                break
            parts.append(window[cursor:max(cursor, finding.start)])
            parts.append(finding.placeholder)
            cursor = finding.end
        parts.append(window[cursor:boundary])
        self._released = start + boundary
        released = "".join(parts)
        if released:
            self._out.append(released)
        return released


@dataclass
class _Open:
    """One streamed attempt in flight."""

    cand: router.Candidate
    attempt: router.Attempt
    held: budget.Reservation | None
    params: dict[str, object]
    redactor: StreamRedactor
    started: float
    shown: bool = False
    settled: bool = False


CONTENT_WINDOW = 400
"""Characters of released text the content policy reads as each piece is released."""


class _Streamer:
    """The decisions of a streamed call, shared by the blocking and the async loops."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.walk = router.Walk(call.plan, call.settings, call.messages, call.params,
                                _precheck(call), lambda a: _record_attempt(call, a),
                                call.deadline)

    def candidates(self) -> Iterator[router.Candidate]:
        for cand in self.call.plan.candidates:
            if self.walk.eligible(cand) is None:
                yield cand

    def begin(self, cand: router.Candidate) -> _Open:
        """Check the deadline and reserve the budget, before the provider is called."""
        self.walk.check_time()
        held = self.walk.reserve(cand.target)
        return _Open(cand, self.walk.start(cand), held,
                     self.walk.call_params(cand.target, streaming=True),
                     StreamRedactor(self.call.settings.safety), time.perf_counter())

    def piece(self, run: _Open, delta: str) -> str:
        safe = run.redactor.feed(delta)
        policy = self.call.settings.safety
        if safe and policy.hap != "off":
            try:  # the content policy on what is about to be shown, not only at the end
                check_content(run.redactor.text[-CONTENT_WINDOW:], policy)
            except PolicyViolation as exc:
                run.settled = True
                budget.commit(run.held, self._charge(run, run.redactor.raw))
                fail(self.call, exc)
                raise
        run.shown = run.shown or bool(safe)
        return safe

    def failed(self, run: _Open, exc: QLayerError) -> bool:
        """Record a failed attempt; True when the next deployment may take over."""
        run.settled = True
        run.attempt.latency_ms = (time.perf_counter() - run.started) * 1000
        received = run.redactor.raw
        if received:  # the provider produced (and bills) part of an answer
            budget.commit(run.held, self._charge(run, received))
            held = None
        else:
            held = run.held
        state = state_for(run.cand.target.name, run.cand.target.deployment)
        decision = self.walk.failed(run.attempt, state, exc, held)
        return decision != "raise" and not run.shown and self.call.plan.route_name is not None

    def finished(self, run: _Open, done: client.Completion) -> Generation:
        """A complete stream: commit its cost, record it, check it, store it."""
        run.settled = True
        run.attempt.latency_ms = (time.perf_counter() - run.started) * 1000
        state = state_for(run.cand.target.name, run.cand.target.deployment)
        self.walk.succeeded(run.attempt, state, done, run.held)
        # The answer is what was shown: the redacted text (checked once more as a whole).
        run.attempt.done = dataclasses.replace(done, text=run.redactor.text)
        return _succeed(self.call, run.attempt, self.walk.attempts)

    def abandoned(self, run: _Open) -> None:
        """The caller stopped reading: charge what arrived, on the budget and the ledger."""
        if run.settled:
            return
        run.settled = True
        received = run.redactor.raw
        tokens_in, tokens_out = client.estimate_tokens(
            run.cand.target.deployment.model, self.call.messages, received)
        cost = client.cost_of(run.cand.target, tokens_in, tokens_out, None)
        budget.commit(run.held, self._charge(run, received))
        record(self.call, ledger_event(
            self.call, attempt=run.attempt.number, deployment=run.cand.target.name,
            outcome="cancelled", error_class="StreamClosed",
            error_message="The caller stopped reading the stream before it ended.",
            tokens_in=tokens_in, tokens_out=tokens_out, tokens_estimated=True,
            cost_usd=cost, cost_known=cost is not None,
            latency_ms=(time.perf_counter() - run.started) * 1000,
        ))

    def _charge(self, run: _Open, received: str) -> float | None:
        target = run.cand.target
        tokens_in, tokens_out = client.estimate_tokens(
            target.deployment.model, self.call.messages, received)
        partial = client.Completion(
            text=received, model_served=target.deployment.model, tokens_in=tokens_in,
            tokens_out=tokens_out, cost_usd=client.cost_of(target, tokens_in, tokens_out, None),
            finish_reason=None, tokens_estimated=True)
        return router.budget_charge(target, self.call.messages, partial)

    def exhausted(self) -> QLayerError:
        return self.walk.exhausted()

    def on_timeout(self) -> Callable[[], Exception]:
        return self.walk.out_of_time


def stream(call: Call, on_done: Callable[[Generation], None]) -> Iterator[str]:
    """Yield the answer's text in redacted pieces; ``on_done`` gets the Generation at the end.

    Raises:
        ReplayMiss: cache mode ``replay`` and the store has no answer (no provider call).
        BudgetExceeded: a hard budget is spent (no provider call).
        ProviderError: every deployment failed, or the call's timeout ran out.
    """
    hit = _cachelink.lookup(call)
    if hit is not None:
        on_done(hit)
        if hit.text:
            yield hit.text
        return
    try:
        admit(call)
        call.start_clock()
        streamer = _Streamer(call)
        for cand in streamer.candidates():
            run = streamer.begin(cand)
            done: client.Completion | None = None
            try:
                items = bounded_iter(client.stream(cand.target, call.messages, run.params),
                                     deadline=call.deadline, on_timeout=streamer.on_timeout())
                for item in items:
                    if isinstance(item, str):
                        safe = streamer.piece(run, item)
                        if safe:
                            yield safe
                    else:
                        done = item
            except QLayerError as exc:
                if streamer.failed(run, exc):
                    continue
                raise
            except BaseException:  # the caller closed the stream (or an interrupt)
                streamer.abandoned(run)
                raise
            break
        else:
            raise streamer.exhausted()
    except QLayerError as exc:
        fail(call, exc)
        raise
    assert done is not None  # the transport always ends with its Completion
    tail = run.redactor.flush()
    generation = streamer.finished(run, done)
    if tail:
        yield tail
    on_done(generation)


async def astream(call: Call, on_done: Callable[[Generation], None]) -> AsyncIterator[str]:
    """Async twin of :func:`stream`."""
    hit = _cachelink.lookup(call)
    if hit is not None:
        on_done(hit)
        if hit.text:
            yield hit.text
        return
    try:
        admit(call)
        call.start_clock()
        streamer = _Streamer(call)
        for cand in streamer.candidates():
            run = streamer.begin(cand)
            done: client.Completion | None = None
            try:
                items = bounded_aiter(client.astream(cand.target, call.messages, run.params),
                                      deadline=call.deadline, on_timeout=streamer.on_timeout())
                async for item in items:
                    if isinstance(item, str):
                        safe = streamer.piece(run, item)
                        if safe:
                            yield safe
                    else:
                        done = item
            except QLayerError as exc:
                if streamer.failed(run, exc):
                    continue
                raise
            except BaseException:  # the caller closed the stream (or a cancellation)
                streamer.abandoned(run)
                raise
            break
        else:
            raise streamer.exhausted()
    except QLayerError as exc:
        fail(call, exc)
        raise
    assert done is not None
    tail = run.redactor.flush()
    generation = streamer.finished(run, done)
    if tail:
        yield tail
    on_done(generation)
