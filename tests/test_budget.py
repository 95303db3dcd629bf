"""Budgets: reserve before a call, commit after, release on failure, across processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import quantumlayer_nb as qlayer
from quantumlayer_nb.config import get_settings
from quantumlayer_nb.errors import BudgetExceeded, ProviderUnavailable
from quantumlayer_nb.ledger import events
from quantumlayer_nb.routing import budget
from quantumlayer_nb.routing.cli import register, set_budget
from quantumlayer_nb.testing import LoopbackServer

PRICE = 1e-5  # per token, in and out


def write_project(project: Path, url: str, budgets: str) -> None:
    (project / "qlayer.toml").write_text(
        'project = "sales"\nuser = "ana"\n'
        f'[deployments.loop]\nmodel = "openai/loop"\napi_base = "{url}"\n'
        f"input_cost_per_token = {PRICE}\noutput_cost_per_token = {PRICE}\n"
        f"[deployments.free]\nmodel = \"openai/free\"\napi_base = \"{url}\"\n"
        f"[routes.coder]\ndeployments = [\"loop\"]\nretries = 0\n{budgets}"
    )


def spent(project: Path) -> float:
    rows = events(project / ".qlayer").filter("kind = 'call' AND outcome = 'ok'").project(
        "cost_usd").fetchall()
    return sum(r[0] or 0.0 for r in rows)


def test_hard_budget_refuses_with_spent_limit_and_how_to_raise(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url,
                  '[[budgets]]\nscope = "project"\nlimit_usd = 0.0001\n')
    with pytest.raises(BudgetExceeded) as caught:
        qlayer.generate("print a greeting", model="loop", max_tokens=100, cache=False)
    message = str(caught.value)
    assert "Budget 'project sales' exhausted: spent $0.00 of $0.00 this month." in message
    assert "qlayer budget set project sales" in message
    assert "or wait until" in message
    assert loopback_server.request_count == 0


def test_commit_replaces_estimate_with_actual_cost(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url, '[[budgets]]\nscope = "user"\nlimit_usd = 5\n')
    result = qlayer.generate("print a greeting", model="loop", max_tokens=100, cache=False)
    (row,) = budget.status(get_settings())
    assert row.spent_usd == pytest.approx(result.cost_usd)
    assert row.reserved_usd == 0


def test_failed_call_releases_its_reservation(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url,
                  '[[budgets]]\nscope = "route"\nname = "coder"\nlimit_usd = 5\n')
    loopback_server.fail("server_error", times=1)
    with pytest.raises(ProviderUnavailable):
        qlayer.generate("print a greeting", model="coder", cache=False)
    (row,) = budget.status(get_settings())
    assert (row.spent_usd, row.reserved_usd) == (0, 0)


def test_soft_budget_warns_and_goes_on(project: Path, loopback_server: LoopbackServer) -> None:
    write_project(project, loopback_server.url,
                  '[[budgets]]\nscope = "project"\nlimit_usd = 0.0001\nkind = "soft"\n')
    with pytest.warns(budget.BudgetWarning, match="exhausted"):
        result = qlayer.generate("print a greeting", model="loop", max_tokens=100, cache=False)
    assert result.text


def test_unknown_price_counts_as_zero_with_a_warning(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url, '[[budgets]]\nscope = "project"\nlimit_usd = 1\n')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        qlayer.generate("print a greeting", model="free", cache=False)
    assert any(issubclass(w.category, budget.BudgetWarning) for w in caught)
    assert budget.status(get_settings())[0].spent_usd == 0


def test_budget_set_writes_qlayer_toml(project: Path, loopback_server: LoopbackServer) -> None:
    write_project(project, loopback_server.url, "")
    path = set_budget("user", "ana", 3.5, period="day")
    text = path.read_text()
    assert "[[budgets]]" in text
    assert 'scope = "user"' in text
    assert "limit_usd = 3.5" in text
    assert get_settings().budgets[0].limit_usd == 3.5


def test_cli_budget_show_and_set(project: Path, loopback_server: LoopbackServer) -> None:
    app = typer.Typer()
    register(app)
    write_project(project, loopback_server.url, "")
    runner = CliRunner()
    set_out = runner.invoke(app, ["budget", "set", "project", "10"])
    assert set_out.exit_code == 0, set_out.output
    assert "qlayer.toml" in set_out.output
    show_out = runner.invoke(app, ["budget", "show"])
    assert "project sales" in show_out.output
    assert "$10.00 per month" in show_out.output


HAMMER = textwrap.dedent("""
    import os, sys
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    os.chdir(sys.argv[1])
    import quantumlayer_nb as qlayer
    from quantumlayer_nb.errors import BudgetExceeded
    calls = 0
    while True:
        try:
            qlayer.generate(f"task {os.getpid()} {calls}", model="loop", max_tokens=40,
                            cache=False)
        except BudgetExceeded:
            break
        calls += 1
    print(calls)
""")


@pytest.fixture
def spawned() -> Iterator[LoopbackServer]:
    with LoopbackServer.spawn(latency_ms=5) as srv:
        yield srv  # type: ignore[misc]


@pytest.mark.slow
def test_two_processes_never_overshoot_a_hard_limit(project: Path, spawned: LoopbackServer
                                                    ) -> None:
    limit = 0.02
    write_project(project, spawned.url,
                  f'[[budgets]]\nscope = "project"\nlimit_usd = {limit}\n')
    script = project / "hammer.py"
    script.write_text(HAMMER)
    procs = [subprocess.Popen([sys.executable, str(script), str(project)],
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    counts = [int(p.communicate(timeout=120)[0].strip()) for p in procs]
    one_estimate = (200 + 40) * PRICE * 2  # generous bound on one call's estimate
    assert all(c > 0 for c in counts)
    assert spent(project) <= limit + one_estimate
    assert spent(project) > limit / 2


def test_budget_set_without_tomlkit_appends_a_table(
    project: Path, loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(project, loopback_server.url, "")
    monkeypatch.setitem(sys.modules, "tomlkit", None)
    set_budget("route", "coder", 2.0)
    assert get_settings().budgets[0].name == "coder"
    with pytest.raises(ValueError, match="pip install tomlkit"):
        set_budget("route", "coder", 4.0)


OPEN_AT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from quantumlayer_nb.routing import budget
    start = float(sys.argv[2])
    time.sleep(max(0.0, start - time.time() - 0.02))
    while time.time() < start:  # the last 20 ms spinning: all begin within a microsecond
        pass
    for folder in sys.argv[3:]:
        budget._connect(Path(sys.argv[1]) / folder)
    print("ok")
""")


def test_processes_opening_a_new_store_at_once_all_get_it(tmp_path: Path) -> None:
    import time

    folders = [f"project-{i}" for i in range(12)]  # each a new store, opened by all at once
    start = time.time() + 3.0  # after every interpreter has started
    procs = [subprocess.Popen([sys.executable, "-c", OPEN_AT, str(tmp_path), str(start),
                               *folders], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    outcomes = [p.communicate(timeout=120) for p in procs]
    assert [out.strip() for out, _ in outcomes] == ["ok"] * 4, [err for _, err in outcomes]
    for folder in folders:
        mode = budget._connect(tmp_path / folder).execute("PRAGMA journal_mode").fetchone()
        assert mode[0] == "wal"
