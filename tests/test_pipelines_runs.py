"""Notebook runs through papermill: run and cell on every event, failing cells, parameters,
replay with zero provider requests, restart after failure, and `qlayer runs`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from quantumlayer_nb.config import reset_configuration
from quantumlayer_nb.errors import RequestError, RunFailed
from quantumlayer_nb.ledger.query import events
from quantumlayer_nb.pipelines.runs import list_runs, run_notebook, show_run
from quantumlayer_nb.testing import LoopbackServer

pytestmark = pytest.mark.slow

QLAYER = [sys.executable, "-c", "from quantumlayer_nb.cli import main; main()"]


def write_notebook(path: Path, parameters: str, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3"}
    first = nbformat.v4.new_code_cell(parameters)
    first.metadata["tags"] = ["parameters"]
    nb.cells = [first, *(nbformat.v4.new_code_cell(c) for c in cells)]
    nbformat.write(nb, str(path))
    return path


def asking_notebook(project: Path) -> Path:
    return write_notebook(
        project / "ask.ipynb",
        "topic = 'dates'\nfail = False",
        "import quantumlayer_nb as qlayer\n"
        "g = qlayer.generate(f'parse the {topic} column', model='loop', format='text',\n"
        "                    temperature=0)\n"
        "print(g.text)",
        "qlayer.record('chars', len(g.text))",
        "assert not fail, 'asked to fail'",
        "g2 = qlayer.generate(f'now sort by {topic}', model='loop', format='text',\n"
        "                     temperature=0)\n"
        "print(g2.text)",
    )


def run_cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QLAYER_")}
    return subprocess.run([*QLAYER, *args], cwd=project, capture_output=True, text=True,
                          env=env, timeout=240, check=False)


def call_events(project: Path, run_id: str) -> list[dict[str, object]]:
    relation = events(project / ".qlayer")
    rows = relation.filter(f"run_id = '{run_id}' AND kind IN ('call', 'cache_hit')")
    columns = rows.columns
    return [dict(zip(columns, row, strict=True)) for row in rows.order("ts").fetchall()]


def test_every_call_of_a_run_carries_the_run_id_notebook_and_cell(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    notebook = asking_notebook(loop_project)
    result = run_notebook(notebook)
    calls = call_events(loop_project, result.run_id)
    assert [c["cell"] for c in calls] == ["1", "4"]  # indexes in the executed notebook
    assert all(c["notebook"] == str(notebook.resolve()) for c in calls)
    assert result.recorded["chars"] > 0
    saved = nbformat.read(str(result.output), as_version=4)
    assert "papermill" in saved.metadata
    assert loopback_server.request_count == 2


def test_failing_cell_exits_non_zero_names_the_cell_and_keeps_the_notebook(
    loop_project: Path,
) -> None:
    asking_notebook(loop_project)
    done = run_cli(loop_project, "run", "ask.ipynb", "-p", "fail", "True")
    assert done.returncode == 1
    assert "cell 5" in done.stderr
    assert "assert not fail" in done.stderr
    assert "AssertionError: asked to fail" in done.stderr
    saved = Path(done.stderr.split("saved at ")[1].strip().rstrip("."))
    cells = nbformat.read(str(saved), as_version=4).cells
    errors = [o for c in cells if c.cell_type == "code" for o in c.outputs
              if o.get("output_type") == "error"]
    assert [e["ename"] for e in errors] == ["AssertionError"]


def test_unknown_parameter_is_an_error_that_lists_the_parameters(loop_project: Path) -> None:
    asking_notebook(loop_project)
    done = run_cli(loop_project, "run", "ask.ipynb", "-p", "topik", "x")
    assert done.returncode == 2
    assert "no parameter 'topik'" in done.stderr
    assert "topic (default 'dates')" in done.stderr
    assert "fail (default False)" in done.stderr


def test_replay_answers_from_the_store_with_zero_provider_requests(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    notebook = asking_notebook(loop_project)
    recorded = run_notebook(notebook)
    before = loopback_server.request_count
    replayed = run_notebook(notebook, replay=True)
    assert loopback_server.request_count == before
    first = nbformat.read(str(recorded.output), as_version=4)
    second = nbformat.read(str(replayed.output), as_version=4)
    assert [c.outputs for c in first.cells[2:] if c.cell_type == "code"] == [
        c.outputs for c in second.cells[2:] if c.cell_type == "code"]


def test_replay_survives_a_changed_route(loop_project: Path, loopback_server: LoopbackServer
                                         ) -> None:
    notebook = asking_notebook(loop_project)
    run_notebook(notebook)
    config = loop_project / "qlayer.toml"
    config.write_text(config.read_text().replace(loopback_server.url, "http://127.0.0.1:9"))
    reset_configuration()
    before = loopback_server.request_count
    run_notebook(notebook, replay=True)
    assert loopback_server.request_count == before


def test_replay_miss_fails_its_cell_naming_the_request(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    notebook = asking_notebook(loop_project)
    run_notebook(notebook)
    before = loopback_server.request_count
    with pytest.raises(RunFailed) as caught:
        run_notebook(notebook, {"topic": "prices"}, replay=True)
    message = str(caught.value)
    assert "cell 3" in message
    assert "ReplayMiss" in message
    assert "prices" in message  # the prompt that was not recorded
    assert "nearest stored request is" in message
    assert "parse the dates column" in message
    assert loopback_server.request_count == before


def test_a_run_restarted_after_a_failure_pays_only_for_unanswered_calls(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    notebook = asking_notebook(loop_project)
    with pytest.raises(RunFailed):
        run_notebook(notebook, {"fail": True})
    assert loopback_server.request_count == 1
    run_notebook(notebook)
    assert loopback_server.request_count == 2  # only the call after the failing cell


def test_runs_lists_runs_and_show_gives_one_with_its_calls(loop_project: Path) -> None:
    notebook = asking_notebook(loop_project)
    ok = run_notebook(notebook)
    with pytest.raises(RunFailed):
        run_notebook(notebook, {"fail": True})
    runs = list_runs(loop_project / ".qlayer")
    assert [r["status"] for r in runs] == ["failed", "ok"]
    assert runs[0]["parameters"] == {"fail": True}
    assert runs[0]["failed_cell"]["index"] == 4
    assert runs[1]["calls"] == 2
    shown = show_run(ok.run_id[:10], loop_project / ".qlayer")
    assert [c["cell"] for c in shown["call_list"]] == ["1", "4"]
    listed = run_cli(loop_project, "runs", "--json")
    assert listed.returncode == 0
    assert {r["run_id"] for r in json.loads(listed.stdout)} == {r["run_id"] for r in runs}


def test_missing_notebook_is_a_clear_error(project: Path) -> None:
    with pytest.raises(RequestError, match="Notebook not found"):
        run_notebook(project / "nope.ipynb")
