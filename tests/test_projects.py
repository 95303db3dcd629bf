"""Projects: allowed models, the project's own keys, quotas across processes, isolation."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import quantumlayer_nb as qlayer
from quantumlayer_nb.cli import app
from quantumlayer_nb.config import get_settings, reset_configuration
from quantumlayer_nb.errors import BudgetExceeded, MissingCredentials, PolicyViolation
from quantumlayer_nb.ledger import events
from quantumlayer_nb.routing import budget, projects
from quantumlayer_nb.routing.models import ProjectConfig
from quantumlayer_nb.routing.projects import QuotaExceeded
from quantumlayer_nb.testing import LoopbackServer

SALES_KEY = "sk-sales-0123456789abcdef"
GLOBAL_KEY = "sk-global-9876543210fedcba"


def write_project(folder: Path, url: str, projects_toml: str = "", *, name: str = "sales",
                  user: str | None = "ana") -> None:
    who = f'user = "{user}"\n' if user else ""
    (folder / "qlayer.toml").write_text(
        f'project = "{name}"\n{who}default_route = "loop"\n'
        '[aliases]\nfast = "loop"\n'
        '[cache]\nsemantic = false\n'
        f'[deployments.loop]\nmodel = "openai/gpt-4o-mini"\napi_base = "{url}"\n'
        f'[deployments.other]\nmodel = "openai/other-model"\napi_base = "{url}"\n'
        f'[deployments.keyed]\nmodel = "openai/gpt-4o-mini"\napi_base = "{url}"\n'
        'api_key_env = "OPENAI_API_KEY"\n'
        f'[deployments.priced]\nmodel = "openai/priced"\napi_base = "{url}"\n'
        "input_cost_per_token = 1e-3\noutput_cost_per_token = 1e-3\n"
        '[routes.coder]\ndeployments = ["loop", "other"]\nretries = 0\n'
        '[routes.safe]\ndeployments = ["loop"]\nretries = 0\n'
        f"{projects_toml}"
    )
    reset_configuration()


def ledger_rows(folder: Path) -> list[dict[str, Any]]:
    relation = events(folder / ".qlayer").filter("kind = 'call'").order("ts")
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def ledger_text(folder: Path) -> str:
    return "".join(p.read_text() for p in (folder / ".qlayer").rglob("*.jsonl"))


# -- allowed models ----------------------------------------------------------------------


def test_no_projects_table_means_no_restrictions(project: Path,
                                                 loopback_server: LoopbackServer) -> None:
    write_project(project, loopback_server.url)
    assert projects.config_for(get_settings()) is None
    assert qlayer.generate("print hi", model="other", cache=False).text


def test_disallowed_model_is_refused_before_any_request(project: Path,
                                                        loopback_server: LoopbackServer) -> None:
    write_project(project, loopback_server.url, '[projects.sales]\nallowed_models = ["loop"]\n')
    with pytest.raises(PolicyViolation) as info:
        qlayer.generate("print hi", model="other")
    assert info.value.category == "model_not_allowed"
    message = str(info.value)
    assert "'sales'" in message
    assert "'other'" in message
    assert "allowed models are loop" in message
    assert "[projects.sales]" in message
    assert loopback_server.request_count == 0


def test_refusal_is_a_ledger_event(project: Path, loopback_server: LoopbackServer) -> None:
    write_project(project, loopback_server.url, '[projects.sales]\nallowed_models = ["loop"]\n')
    with pytest.raises(PolicyViolation):
        qlayer.generate("print hi", model="other")
    (row,) = ledger_rows(project)
    assert row["outcome"] == "refused"
    assert row["error_class"] == "PolicyViolation"
    assert row["project"] == "sales"


def test_alias_of_an_allowed_deployment_is_allowed(project: Path,
                                                   loopback_server: LoopbackServer) -> None:
    write_project(project, loopback_server.url, '[projects.sales]\nallowed_models = ["loop"]\n')
    assert qlayer.generate("print hi", model="fast").deployment == "loop"


def test_pattern_matches_litellm_ids(project: Path, loopback_server: LoopbackServer) -> None:
    write_project(project, loopback_server.url,
                  '[projects.sales]\nallowed_models = ["openai/gpt-4o*"]\n')
    assert qlayer.generate("print hi", model="loop").text
    with pytest.raises(PolicyViolation):
        qlayer.generate("print hi", model="other")


def test_route_with_a_disallowed_deployment_is_refused(project: Path,
                                                       loopback_server: LoopbackServer) -> None:
    write_project(project, loopback_server.url,
                  '[projects.sales]\nallowed_models = ["coder", "loop"]\n')
    with pytest.raises(PolicyViolation, match="deployment 'other'"):
        qlayer.generate("print hi", model="coder")
    assert loopback_server.request_count == 0


def test_route_must_itself_be_allowed(project: Path, loopback_server: LoopbackServer) -> None:
    write_project(project, loopback_server.url, '[projects.sales]\nallowed_models = ["loop"]\n')
    with pytest.raises(PolicyViolation, match="route 'safe'"):
        qlayer.generate("print hi", model="safe")
    write_project(project, loopback_server.url,
                  '[projects.sales]\nallowed_models = ["safe", "loop"]\n')
    assert qlayer.generate("print hi", model="safe").deployment == "loop"


def test_another_projects_table_does_not_apply(project: Path,
                                               loopback_server: LoopbackServer) -> None:
    write_project(project, loopback_server.url,
                  '[projects.marketing]\nallowed_models = ["loop"]\n')
    assert qlayer.generate("print hi", model="other").text


# -- own keys ------------------------------------------------------------------------------

KEYS = '[projects.sales]\nkeys = {OPENAI_API_KEY = "SALES_OPENAI_KEY"}\n'


def test_project_key_is_sent_instead_of_the_provider_key(
        project: Path, loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", GLOBAL_KEY)
    monkeypatch.setenv("SALES_OPENAI_KEY", SALES_KEY)
    write_project(project, loopback_server.url, KEYS)
    qlayer.generate("print hi", model="keyed")
    assert loopback_server.requests[-1]["headers"]["authorization"] == f"Bearer {SALES_KEY}"


def test_project_key_is_never_on_the_ledger(
        project: Path, loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALES_OPENAI_KEY", SALES_KEY)
    write_project(project, loopback_server.url, KEYS)
    qlayer.generate("print hi", model="keyed")
    assert SALES_KEY not in ledger_text(project)


def test_project_key_is_used_for_a_provider_model_id(
        project: Path, loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", GLOBAL_KEY)
    monkeypatch.setenv("OPENAI_API_BASE", loopback_server.url)
    monkeypatch.setenv("SALES_OPENAI_KEY", SALES_KEY)
    write_project(project, loopback_server.url, KEYS)
    qlayer.generate("print hi", model="openai/gpt-4o-mini")
    assert loopback_server.requests[-1]["headers"]["authorization"] == f"Bearer {SALES_KEY}"


def test_without_a_keys_entry_the_provider_key_is_sent(
        project: Path, loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", GLOBAL_KEY)
    monkeypatch.setenv("SALES_OPENAI_KEY", SALES_KEY)
    write_project(project, loopback_server.url,
                  '[projects.sales]\nkeys = {ANTHROPIC_API_KEY = "SALES_ANTHROPIC_KEY"}\n')
    qlayer.generate("print hi", model="keyed")
    assert loopback_server.requests[-1]["headers"]["authorization"] == f"Bearer {GLOBAL_KEY}"


def test_missing_project_key_variable_is_named(
        project: Path, loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", GLOBAL_KEY)
    monkeypatch.delenv("SALES_OPENAI_KEY", raising=False)
    write_project(project, loopback_server.url, KEYS)
    with pytest.raises(MissingCredentials) as info:
        qlayer.generate("print hi", model="keyed")
    assert info.value.env_vars == ["SALES_OPENAI_KEY"]
    assert "[projects.sales]" in str(info.value)
    assert GLOBAL_KEY not in str(info.value)
    assert loopback_server.request_count == 0


# -- quotas --------------------------------------------------------------------------------


def test_rpm_refuses_the_request_over_the_quota(project: Path,
                                               loopback_server: LoopbackServer) -> None:
    write_project(project, loopback_server.url, "[projects.sales]\nrpm = 2\n")
    for i in range(2):
        qlayer.generate(f"print {i}", cache=False)
    with pytest.raises(QuotaExceeded) as info:
        qlayer.generate("print 3", cache=False)
    assert info.value.quota == "rpm"
    assert "2 requests per minute" in str(info.value)
    assert "rpm under [projects.sales]" in str(info.value)
    assert loopback_server.request_count == 2
    assert ledger_rows(project)[-1]["error_class"] == "QuotaExceeded"


def test_cache_hits_do_not_count_against_rpm(project: Path,
                                             loopback_server: LoopbackServer) -> None:
    write_project(project, loopback_server.url, "[projects.sales]\nrpm = 1\n")
    qlayer.generate("print hi")
    assert qlayer.generate("print hi").cached


def test_tokens_per_day_refuses_once_the_day_is_used_up(project: Path,
                                                       loopback_server: LoopbackServer) -> None:
    write_project(project, loopback_server.url, "[projects.sales]\ntokens_per_day = 1\n")
    qlayer.generate("print hi", cache=False)
    with pytest.raises(QuotaExceeded) as info:
        qlayer.generate("print again", cache=False)
    assert info.value.quota == "tokens_per_day"
    assert "00:00 UTC" in str(info.value)
    assert loopback_server.request_count == 1


def test_tokens_per_day_counts_prompt_and_completion(project: Path,
                                                     loopback_server: LoopbackServer) -> None:
    write_project(project, loopback_server.url, "[projects.sales]\ntokens_per_day = 100000\n")
    first = qlayer.generate("print hi", cache=False)
    assert first.tokens_in is not None
    assert first.tokens_out is not None
    write_project(project, loopback_server.url,
                  f"[projects.sales]\ntokens_per_day = {first.tokens_in + first.tokens_out}\n")
    with pytest.raises(QuotaExceeded, match="tokens today"):
        qlayer.generate("print again", cache=False)


def test_usd_per_month_is_a_hard_project_budget(project: Path,
                                                loopback_server: LoopbackServer) -> None:
    write_project(project, loopback_server.url, "[projects.sales]\nusd_per_month = 0.5\n")
    calls, refused = 0, None
    while refused is None and calls < 50:
        try:
            qlayer.generate(f"print {calls}", model="priced", max_tokens=5, cache=False)
            calls += 1
        except BudgetExceeded as exc:
            refused = exc
    assert refused is not None
    spent = sum(r["cost_usd"] or 0.0 for r in ledger_rows(project) if r["outcome"] == "ok")
    assert calls > 0
    assert spent <= 0.5


def test_spent_month_is_refused_with_when_it_resets(project: Path,
                                                   loopback_server: LoopbackServer) -> None:
    write_project(project, loopback_server.url, "[projects.sales]\nusd_per_month = 5\n")
    settings = projects.with_project_budget(get_settings(), ProjectConfig(usd_per_month=5))
    budget.commit(budget.reserve(settings, None, 1.5), 1.5)
    write_project(project, loopback_server.url, "[projects.sales]\nusd_per_month = 1\n")
    with pytest.raises(QuotaExceeded) as info:
        qlayer.generate("print hi", cache=False)
    assert info.value.quota == "usd_per_month"
    assert "spent $1.50 of its $1.00 per month" in str(info.value)
    assert info.value.resets
    assert loopback_server.request_count == 0


RPM_WORKER = textwrap.dedent("""
    import os, sys
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    os.chdir(sys.argv[1])
    import quantumlayer_nb as qlayer
    from quantumlayer_nb.routing.projects import QuotaExceeded
    ok = 0
    for i in range(5):
        try:
            qlayer.generate(f"task {os.getpid()} {i}", cache=False)
            ok += 1
        except QuotaExceeded:
            pass
    print(ok)
""")


@pytest.fixture
def spawned() -> Iterator[LoopbackServer]:
    with LoopbackServer.spawn(latency_ms=5) as srv:
        yield srv  # type: ignore[misc]


@pytest.mark.slow
def test_rpm_holds_across_two_processes(project: Path, spawned: LoopbackServer) -> None:
    write_project(project, spawned.url, "[projects.sales]\nrpm = 5\n")
    script = project / "worker.py"
    script.write_text(RPM_WORKER)
    procs = [subprocess.Popen([sys.executable, str(script), str(project)],
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    counts = [int(p.communicate(timeout=120)[0].strip()) for p in procs]
    assert sum(counts) == 5
    assert spawned.request_count == 5


# -- isolation -----------------------------------------------------------------------------


def test_cache_entries_of_one_project_are_not_hits_for_another(
        project: Path, loopback_server: LoopbackServer) -> None:
    write_project(project, loopback_server.url, name="alpha")
    qlayer.generate("print the shared prompt")
    write_project(project, loopback_server.url, name="beta")
    assert not qlayer.generate("print the shared prompt").cached
    assert loopback_server.request_count == 2
    write_project(project, loopback_server.url, name="alpha")
    assert qlayer.generate("print the shared prompt").cached


def calls_in_usage() -> int:
    relation = qlayer.usage()
    return sum(row[relation.columns.index("calls")] for row in relation.fetchall())


def test_usage_of_one_project_does_not_show_another(project: Path,
                                                    loopback_server: LoopbackServer) -> None:
    write_project(project, loopback_server.url, name="alpha")
    qlayer.generate("print hi", cache=False)
    write_project(project, loopback_server.url, name="beta")
    assert calls_in_usage() == 0
    result = CliRunner().invoke(app, ["usage", "--json"])
    assert result.exit_code == 0, result.output
    assert sum(row["calls"] for row in json.loads(result.output)) == 0
    write_project(project, loopback_server.url, name="alpha")
    assert calls_in_usage() == 1


def test_jupyterhub_user_is_the_ledger_user(
        project: Path, loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_USER", "hub-ana")
    write_project(project, loopback_server.url, user=None)
    qlayer.generate("print hi", cache=False)
    assert ledger_rows(project)[-1]["user"] == "hub-ana"
