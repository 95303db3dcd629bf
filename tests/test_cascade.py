"""Cascade routes: cheapest first, a check on each answer, escalation on failure."""

from __future__ import annotations

from pathlib import Path

import pytest

import quantumlayer_nb as qlayer
from quantumlayer_nb.config import get_settings
from quantumlayer_nb.generation import Generation
from quantumlayer_nb.routing.cascade import CascadeReport, register_check
from quantumlayer_nb.routing.resilience import reset_states
from quantumlayer_nb.routing.resolve import resolve
from quantumlayer_nb.testing import LoopbackServer

PRICES = {"cheap": 1e-7, "mid": 1e-6, "strong": 1e-5}


@pytest.fixture
def cascade_project(project: Path, loopback_server: LoopbackServer) -> LoopbackServer:
    deployments = "".join(
        f'[deployments.{name}]\nmodel = "openai/{name}"\napi_base = "{loopback_server.url}"\n'
        f"input_cost_per_token = {price}\noutput_cost_per_token = {price}\n"
        for name, price in PRICES.items()
    )
    (project / "qlayer.toml").write_text(
        f'project = "test"\nuser = "tester"\n{deployments}'
        '[routes.coder]\npolicy = "cascade"\ndeployments = ["cheap", "mid", "strong"]\n'
        '[routes.named]\npolicy = "cascade"\ncheck = "says_good"\n'
        'deployments = ["cheap", "strong"]\n'
    )
    reset_states()
    return loopback_server


def says_good(generation: Generation) -> bool:
    return "GOOD" in generation.text


def test_cascade_stops_at_first_passing_stage(cascade_project: LoopbackServer) -> None:
    cascade_project.queue("GOOD answer", model="cheap")
    result = qlayer.generate("print a greeting", model="coder", check=says_good, cache=False)
    assert result.deployment == "cheap"
    assert [r["model"] for r in cascade_project.requests] == ["cheap"]


def test_cascade_escalates_on_failed_check(cascade_project: LoopbackServer) -> None:
    cascade_project.queue("bad answer", model="cheap")
    cascade_project.queue("still bad", model="mid")
    cascade_project.queue("GOOD answer", model="strong")
    result = qlayer.generate("print a greeting", model="coder", check=says_good, cache=False)
    assert result.deployment == "strong"
    assert [a.outcome for a in result.route_trace] == ["check_failed", "check_failed", "ok"]
    stage_costs = [a.cost_usd or 0.0 for a in result.route_trace]
    assert stage_costs[0] < stage_costs[1] < stage_costs[2]
    assert result.cost_usd == pytest.approx(sum(stage_costs))


def test_registered_check_is_named_by_the_route(cascade_project: LoopbackServer) -> None:
    register_check("says_good", says_good)
    cascade_project.queue("nope", model="cheap")
    cascade_project.queue("GOOD", model="strong")
    result = qlayer.generate("print a greeting", model="named", cache=False)
    assert result.deployment == "strong"


def test_report_compares_cost_with_strongest(cascade_project: LoopbackServer,
                                             project: Path) -> None:
    results = []
    for i in range(3):
        results.append(qlayer.generate(f"task {i}", model="coder", check=lambda g: True,
                                       cache=False))
    strongest = resolve("strong", get_settings())
    report = CascadeReport.from_generations(results, strongest)
    assert report.requests == 3
    assert report.answered_by == {"cheap": 3}
    assert report.saved_usd > 0
    from_ledger = CascadeReport.from_ledger(project / ".qlayer", "coder", strongest)
    assert from_ledger.requests == 3
    assert from_ledger.cost_usd == pytest.approx(report.cost_usd)
