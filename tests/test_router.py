"""Routes and policies: which deployment serves, in what order, and the trace of attempts."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

import quantumlayer_nb as qlayer
from quantumlayer_nb.config import get_settings
from quantumlayer_nb.errors import AuthenticationError, ProviderUnavailable
from quantumlayer_nb.eval._store import record_sample
from quantumlayer_nb.ledger import events
from quantumlayer_nb.routing import router
from quantumlayer_nb.routing.resilience import reset_states, state_for
from quantumlayer_nb.testing import LoopbackServer

PRICES = {"cheap": 1e-7, "mid": 1e-6, "strong": 1e-5}


def write_project(project: Path, url: str, routes: str, extra: str = "") -> None:
    deployments = "".join(
        f'[deployments.{name}]\nmodel = "openai/{name}"\napi_base = "{url}"\n'
        f"input_cost_per_token = {price}\noutput_cost_per_token = {price}\n"
        f"context_window = {1000 * (i + 1)}\n"
        for i, (name, price) in enumerate(PRICES.items())
    )
    (project / "qlayer.toml").write_text(
        f'project = "test"\nuser = "tester"\n{extra}\n{deployments}{routes}'
    )
    reset_states()


@pytest.fixture
def routed(project: Path, loopback_server: LoopbackServer) -> LoopbackServer:
    write_project(project, loopback_server.url, "")
    return loopback_server


def use_route(project: Path, srv: LoopbackServer, body: str) -> None:
    write_project(project, srv.url, f"[routes.coder]\n{body}\n")


def call_rows(project: Path) -> list[dict[str, Any]]:
    relation = events(project / ".qlayer").filter("kind = 'call'").order("ts")
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def test_model_may_name_a_route(project: Path, routed: LoopbackServer) -> None:
    use_route(project, routed, 'deployments = ["mid", "strong"]')
    result = qlayer.generate("print a greeting", model="coder", cache=False)
    assert result.model == "coder"
    assert result.deployment == "mid"
    assert result.route_trace[0].reason == "priority 1"


def test_priority_falls_back_when_first_fails(project: Path, routed: LoopbackServer) -> None:
    use_route(project, routed, 'deployments = ["mid", "strong"]\nretries = 0')
    routed.fail("server_error", times=1, model="mid")
    result = qlayer.generate("print a greeting", model="coder", cache=False)
    assert result.deployment == "strong"
    assert [a.outcome for a in result.route_trace] == ["ProviderUnavailable", "ok"]
    assert result.route_trace[1].cost_usd == result.cost_usd


def test_every_attempt_is_on_the_ledger(project: Path, routed: LoopbackServer) -> None:
    use_route(project, routed, 'deployments = ["mid", "strong"]\nretries = 0')
    routed.fail("server_error", times=1, model="mid")
    result = qlayer.generate("print a greeting", model="coder", cache=False)
    rows = call_rows(project)
    assert [(r["deployment"], r["outcome"], r["attempt"]) for r in rows] == [
        ("mid", "error", 0), ("strong", "ok", 1)]
    assert {r["call_id"] for r in rows} == {result.call_id}


def test_auth_error_is_raised_without_fallback(project: Path, routed: LoopbackServer) -> None:
    use_route(project, routed, 'deployments = ["mid", "strong"]')
    routed.fail("auth", times=1, model="mid")
    with pytest.raises(AuthenticationError):
        qlayer.generate("print a greeting", model="coder", cache=False)
    assert routed.request_count == 1


def test_all_deployments_failing_says_what_to_do(project: Path, routed: LoopbackServer) -> None:
    use_route(project, routed, 'deployments = ["mid", "strong"]\nretries = 0')
    routed.fail("server_error", times=2)
    with pytest.raises(ProviderUnavailable, match="add a fallback deployment"):
        qlayer.generate("print a greeting", model="coder", cache=False)


def test_cheapest_policy_picks_lowest_price(project: Path, routed: LoopbackServer) -> None:
    use_route(project, routed, 'policy = "cheapest"\ndeployments = ["strong", "mid", "cheap"]')
    result = qlayer.generate("print a greeting", model="coder", cache=False)
    assert result.deployment == "cheap"
    assert result.route_trace[0].reason == "cheapest"


def test_weighted_policy_follows_weights(project: Path, routed: LoopbackServer) -> None:
    use_route(project, routed, 'policy = "weighted"\ndeployments = ["mid", "strong"]\n'
              "weights = {mid = 9, strong = 1}")
    random.seed(7)
    firsts = [router.plan("coder", get_settings()).candidates[0].target.name
              for _ in range(400)]
    assert 0.8 < firsts.count("mid") / len(firsts) < 0.97


def test_fastest_policy_prefers_lower_average_latency(
    project: Path, routed: LoopbackServer
) -> None:
    use_route(project, routed, 'policy = "fastest"\ndeployments = ["mid", "strong"]')
    settings = get_settings()
    state_for("mid", settings.deployments["mid"]).record_latency(300.0)
    state_for("strong", settings.deployments["strong"]).record_latency(40.0)
    result = qlayer.generate("print a greeting", model="coder", cache=False)
    assert result.deployment == "strong"
    assert result.route_trace[0].reason.startswith("fastest")


def test_quality_without_data_falls_back_to_priority(
    project: Path, routed: LoopbackServer
) -> None:
    use_route(project, routed, 'policy = "quality"\nquality_target = 0.8\n'
              'deployments = ["strong", "cheap"]')
    result = qlayer.generate("print a greeting", model="coder", cache=False)
    assert result.deployment == "strong"
    assert "no pass rate" in result.route_trace[0].reason


def test_quality_picks_cheapest_meeting_the_target(
    project: Path, routed: LoopbackServer
) -> None:
    use_route(project, routed, 'policy = "quality"\nquality_target = 0.8\n'
              'deployments = ["strong", "mid", "cheap"]')
    rates = {"cheap": [True, False], "mid": [True, True], "strong": [True, True]}
    for model, outcomes in rates.items():
        for i, passed in enumerate(outcomes):
            record_sample(project / ".qlayer", {
                "suite": "s", "task_id": f"t{i}", "model": model, "sample": 0, "round": 0,
                "final": True, "passed": passed, "tags": ["sql"]})
    router._rates.clear()
    result = qlayer.generate("print a greeting", model="coder", tag="sql", cache=False)
    assert result.deployment == "mid"
    assert "pass rate 1.00" in result.route_trace[0].reason


def test_context_window_error_moves_to_larger_window(
    project: Path, routed: LoopbackServer
) -> None:
    use_route(project, routed, 'deployments = ["cheap", "mid", "strong"]\nretries = 0')
    routed.fail("context_length", times=1, model="cheap")
    result = qlayer.generate("print a greeting", model="coder", cache=False)
    assert result.deployment == "mid"
    assert result.route_trace[0].outcome == "ContextWindowError"


def test_prompt_too_long_for_small_window_skips_it(
    project: Path, routed: LoopbackServer
) -> None:
    use_route(project, routed, 'deployments = ["cheap", "strong"]')
    result = qlayer.generate("describe " + "x " * 1500, model="coder", cache=False)
    assert result.deployment == "strong"
    assert routed.request_count == 1


def test_content_policy_rule_next_tries_next(project: Path, routed: LoopbackServer) -> None:
    use_route(project, routed, 'deployments = ["mid", "strong"]\non_content_policy = "next"')
    routed.fail("content_policy", times=1, model="mid")
    result = qlayer.generate("print a greeting", model="coder", cache=False)
    assert result.deployment == "strong"


def test_cache_hit_is_free_and_on_the_ledger(project: Path, routed: LoopbackServer) -> None:
    first = qlayer.generate("print a greeting", model="mid")
    again = qlayer.generate("print a greeting", model="mid")
    assert again.cached is True
    assert again.cost_usd == 0
    assert routed.request_count == 1
    hits = events(project / ".qlayer").filter("kind = 'cache_hit'").project(
        "outcome, cost_usd, saved_usd").fetchall()
    assert hits == [("cache_hit", 0.0, pytest.approx(first.cost_usd))]


def test_eval_samples_at_temperature_do_not_share_an_answer(
    project: Path, routed: LoopbackServer
) -> None:
    for sample in (0, 1, 1):
        qlayer.generate("print a greeting", model="mid", temperature=0.8,
                        metadata={"eval_sample": sample})
    assert routed.request_count == 2


def test_transport_budget_leaves_room_within_the_total_timeout(
        project: Path, routed: LoopbackServer) -> None:
    write_project(project, routed.url, "", extra="")
    (project / "qlayer.toml").write_text(
        (project / "qlayer.toml").read_text().replace(
            'model = "openai/mid"', 'model = "openai/mid"\ntimeout = 1.0'))
    target = router.plan("mid", get_settings()).candidates[0].target
    params = router.transport_params({}, target)
    assert params["total_timeout"] == 1.0
    assert 0.5 <= params["timeout"] == params["attempt_budget"] < 1.0
