"""Cascade routes: try the cheapest deployment, check its answer, escalate on failure.

A route with ``policy = "cascade"`` lists its stages cheapest first. Each stage is tried
with the route's retries; its answer goes to the check (``generate(..., check=fn)``, or one
registered with :func:`register_check` and named by the route's ``check``); a failed check
moves to the next stage. The last stage's answer is returned whatever the check says.
:class:`CascadeReport` compares what a cascade paid with always using its strongest stage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from quantumlayer_nb.errors import ConfigError
from quantumlayer_nb.generation import Generation
from quantumlayer_nb.routing.resolve import Target
from quantumlayer_nb.routing.router import Plan

__all__ = ["CascadeReport", "ajudge", "check_for", "judge", "register_check", "stage_plans"]

Check = Callable[[Generation], bool]
_checks: dict[str, Check] = {}


def register_check(name: str, check: Check) -> None:
    """Make ``check`` available to routes that say ``check = "<name>"``."""
    _checks[name] = check


def _parses(generation: Generation) -> bool:
    return generation.code is not None and generation.syntax_error is None


register_check("parses", _parses)


def check_for(the_plan: Plan, given: Check | None) -> Check:
    """The check of a cascade: the one passed to ``generate``, else the route's, else
    ``parses`` (the reply holds Python code that parses)."""
    if given is not None:
        return given
    name = the_plan.route.check or "parses"
    if name not in _checks:
        raise ConfigError(
            f"The cascade check {name!r} is not registered. Register it with "
            "quantumlayer_nb.routing.cascade.register_check(name, fn), or pass check=fn."
        )
    return _checks[name]


def stage_plans(the_plan: Plan) -> Iterator[Plan]:
    """One single-deployment plan per stage, cheapest first."""
    for cand in the_plan.candidates:
        yield Plan(the_plan.requested, the_plan.route_name, the_plan.route, [cand])


def judge(generation: Generation, check: Check) -> tuple[bool, Generation]:
    """Run the check; a failed stage shows ``check_failed`` as its outcome on the trace."""
    try:
        passed = bool(check(generation))
    except Exception:  # a check that crashes is a failed check, not a failed request
        passed = False
    return _verdict(passed, generation)


async def ajudge(generation: Generation, check: Check) -> tuple[bool, Generation]:
    """:func:`judge` for the async path. A check that also has an ``acheck(generation)``
    coroutine method (``quantumlayer_nb.eval.TaskCheck``, which runs a sandbox) is awaited,
    so the event loop goes on with other calls meanwhile; any other check is called as
    :func:`judge` calls it."""
    acheck = getattr(check, "acheck", None)
    if acheck is None:
        return judge(generation, check)
    try:
        passed = bool(await acheck(generation))
    except Exception:  # a check that crashes is a failed check, not a failed request
        passed = False
    return _verdict(passed, generation)


def _verdict(passed: bool, generation: Generation) -> tuple[bool, Generation]:
    if passed or not generation.route_trace:
        return passed, generation
    *before, last = generation.route_trace
    trace = (*before, last.model_copy(update={"outcome": "check_failed"}))
    return False, generation.model_copy(update={"route_trace": trace})


@dataclass(frozen=True)
class CascadeReport:
    """What a cascade cost against always sending every request to its strongest stage."""

    requests: int
    cost_usd: float
    strongest_cost_usd: float
    answered_by: dict[str, int]

    @property
    def saved_usd(self) -> float:
        """Money saved by the cascade (negative: it cost more)."""
        return self.strongest_cost_usd - self.cost_usd

    def __str__(self) -> str:
        share = ", ".join(f"{name}: {count}" for name, count in self.answered_by.items())
        return (
            f"{self.requests} requests: cascade ${self.cost_usd:.6f} vs strongest only "
            f"${self.strongest_cost_usd:.6f} (saved ${self.saved_usd:.6f}); answered by {share}"
        )

    def __repr__(self) -> str:
        from quantumlayer_nb._format import usd

        return (f"<CascadeReport {self.requests} requests: {usd(self.cost_usd)} vs "
                f"{usd(self.strongest_cost_usd)} strongest only, saved {usd(self.saved_usd)}>")

    def _repr_html_(self) -> str:
        from quantumlayer_nb._format import usd
        from quantumlayer_nb.jupyter._views import TableView

        rows = [[name, f"{count:,}"] for name, count in self.answered_by.items()]
        note = (f"cascade {usd(self.cost_usd)} vs strongest only "
                f"{usd(self.strongest_cost_usd)}: saved {usd(self.saved_usd)}")
        return TableView(f"cascade over {self.requests:,} requests", ["answered by", "requests"],
                         rows, note=note).html()

    @classmethod
    def from_generations(cls, generations: Iterable[Generation], strongest: Target
                         ) -> CascadeReport:
        """Build the report from cascade results; the strongest cost is priced on each
        request's tokens at the strongest deployment's price."""
        from quantumlayer_nb.llm.client import cost_of

        count, paid, strong = 0, 0.0, 0.0
        answered: dict[str, int] = {}
        for gen in generations:
            count += 1
            paid += gen.cost_usd or 0.0
            strong += cost_of(strongest, gen.tokens_in, gen.tokens_out, None) or 0.0
            answered[gen.deployment or "?"] = answered.get(gen.deployment or "?", 0) + 1
        return cls(count, paid, strong, answered)

    @classmethod
    def from_ledger(cls, data_dir: Path, route: str, strongest: Target) -> CascadeReport:
        """Build the report from the ledger's call events of ``route``."""
        from quantumlayer_nb.ledger import events
        from quantumlayer_nb.llm.client import cost_of

        quoted = route.replace("'", "''")
        rows = events(data_dir).filter(
            f"kind = 'call' AND model_requested = '{quoted}' AND outcome IN ('ok', 'check_failed')"
        ).project("call_id, deployment, outcome, cost_usd, tokens_in, tokens_out").fetchall()
        paid: dict[str, float] = {}
        final: dict[str, tuple[str, int | None, int | None]] = {}
        for call_id, deployment, outcome, cost, t_in, t_out in rows:
            paid[call_id] = paid.get(call_id, 0.0) + (cost or 0.0)
            if outcome == "ok" or call_id not in final:
                final[call_id] = (deployment, t_in, t_out)
        answered: dict[str, int] = {}
        strong = 0.0
        for deployment, t_in, t_out in final.values():
            answered[deployment] = answered.get(deployment, 0) + 1
            strong += cost_of(strongest, t_in, t_out, None) or 0.0
        return cls(len(final), sum(paid.values()), strong, answered)

