"""Sweeps (local processes and a Dask LocalCluster, resumable) and `qlayer new` (plan with a
malformed outline asked for again, a failing cell repaired, an executed notebook delivered)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import nbformat
import pytest

from quantumlayer_nb.errors import RequestError
from quantumlayer_nb.pipelines.new import new_notebook, split_description
from quantumlayer_nb.pipelines.sweeps import sweep
from quantumlayer_nb.testing import LoopbackServer

pytestmark = pytest.mark.slow


def counting_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3"}
    params = nbformat.v4.new_code_cell("a = 1\nb = 'x'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "import os, quantumlayer_nb as qlayer\n"
        "qlayer.record('product', a * len(b))\nqlayer.record('pid', os.getpid())")]
    path = folder / "count.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_local_sweep_runs_every_combination_in_its_own_process_and_collects_a_table(
    project: Path,
) -> None:
    notebook = counting_notebook(project)
    (project / "grid.yaml").write_text("a: [1, 2]\nb: [x, yy]\n")
    result = sweep(notebook, project / "grid.yaml", workers=2)
    assert result.ran == 4
    assert result.failed == 0
    table = duckdb.sql(f"SELECT a, b, product, pid FROM '{result.table_path}' ORDER BY a, b")
    rows = table.fetchall()
    assert [(a, b, p) for a, b, p, _ in rows] == [(1, "x", 1), (1, "yy", 2), (2, "x", 2),
                                                  (2, "yy", 4)]
    assert len({pid for *_, pid in rows}) == 4  # no two runs shared a process
    assert "product" in result.table_text()


def test_a_sweep_started_again_skips_the_runs_that_finished(project: Path) -> None:
    notebook = counting_notebook(project)
    (project / "grid.yaml").write_text("a: [1, 2, 3]\n")
    first = sweep(notebook, project / "grid.yaml", workers=2)
    manifest = first.folder / "manifest.jsonl"
    lines = manifest.read_text().splitlines()
    manifest.write_text("\n".join(lines[:2]) + "\n")  # as if stopped after two runs
    again = sweep(notebook, project / "grid.yaml", workers=2)
    assert (again.ran, again.skipped) == (1, 2)
    assert len(again.rows) == 3


def test_a_grid_naming_an_unknown_parameter_is_refused(project: Path) -> None:
    notebook = counting_notebook(project)
    (project / "grid.yaml").write_text("c: [1]\n")
    with pytest.raises(RequestError, match="does not take"):
        sweep(notebook, project / "grid.yaml")


@pytest.mark.usefixtures("event_loop_for_dask")
def test_dask_sweep_runs_on_a_local_cluster(project: Path) -> None:
    notebook = counting_notebook(project)
    result = sweep(notebook, {"a": [2, 3]}, executor="dask", workers=2)
    assert result.failed == 0
    assert sorted(r["recorded"]["product"] for r in result.rows) == [2, 3]
    again = sweep(notebook, {"a": [2, 3]}, executor="dask", workers=2,
                  out=project / "second")
    assert again.ran == 2  # a new folder: the same tasks really run again


def test_sweep_cli_prints_the_table(project: Path) -> None:
    counting_notebook(project)
    (project / "grid.yaml").write_text("a: [4]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("QLAYER_")}
    done = subprocess.run(
        [sys.executable, "-c", "from quantumlayer_nb.cli import main; main()", "sweep",
         "count.ipynb", "--grid", "grid.yaml", "--workers", "1"],
        cwd=project, capture_output=True, text=True, env=env, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    assert "product" in done.stdout
    assert "1 runs: 1 ran" in done.stdout


def test_description_is_split_into_steps() -> None:
    steps = split_description("analyse sales.csv: monthly revenue trend and top products")
    assert steps == ["monthly revenue trend", "top products"]


def test_new_asks_again_for_a_malformed_outline_and_repairs_a_failing_cell(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    (loop_project / "sales.csv").write_text(
        "region,product,revenue\nnorth,apple,10\nsouth,pear,12\nnorth,plum,7\n")
    outline = {"title": "Sales", "steps": [
        {"title": "Revenue by region", "request": "sum revenue by region", "expects": "table"},
        {"title": "Top products", "request": "the two best products", "expects": "table"}]}
    loopback_server.queue(
        "Here is the plan: {steps: [oops",
        json.dumps(outline),
        "```python\nby_region = salez.groupby('region')['revenue'].sum()\n```",
        "```python\nby_region = sales.groupby('region', as_index=False)['revenue'].sum()\n```",
        "```python\ntop = sales.nlargest(2, 'revenue')\n```",
    )
    result = new_notebook("analyse sales.csv: revenue by region and top products",
                          loop_project / "analysis.ipynb", data=[loop_project / "sales.csv"],
                          model="loop", repair_rounds=2)
    assert result.plan_attempts == 2
    assert [s.status for s in result.steps] == ["repaired", "ok"]
    assert result.ok
    assert result.run_id
    saved = nbformat.read(str(result.path), as_version=4)
    code = [c for c in saved.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)  # every cell ran
    generated = [c for c in code if "quantumlayer" in c.metadata]
    assert len(generated) == 2
    assert len(generated[0].metadata["quantumlayer"]["repairs"]) == 1
    assert "salez" not in generated[0].source
    assert loopback_server.request_count == 5


def test_new_offline_says_which_steps_it_could_not_do(project: Path) -> None:
    result = new_notebook("compose a sonnet about revenue and load the moon.csv file",
                          project / "poem.ipynb")
    assert any(s.status == "not done" for s in result.steps)
    assert "Not done" in result.summary()
    assert result.path.exists()
