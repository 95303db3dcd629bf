"""``qlayer audit notebook FILE.ipynb``: a saved notebook's generated cells against the ledger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from quantumlayer_nb import Generation, generate
from quantumlayer_nb.testing import LoopbackServer

QLAYER = [sys.executable, "-c", "from quantumlayer_nb.cli import main; main()"]


def qlayer(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*QLAYER, *args], cwd=project, env=dict(os.environ),
                          capture_output=True, text=True, timeout=60, check=False)


def provenance(generation: Generation, **override: str) -> dict[str, object]:
    """Cell metadata as the lab extension writes it for a generated cell."""
    fields = {"call_id": generation.call_id, "model": generation.model_served,
              "prompt_hash": generation.prompt_hash, **override}
    return {"quantumlayer": fields}


def save(project: Path, *cells: nbformat.NotebookNode) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# Analysis"), *cells]
    path = project / "analysis.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def calls(loop_project: Path, loopback_server: LoopbackServer) -> list[Generation]:
    return [generate(f"add {i} and {i}", max_tokens=50) for i in range(3)]


def test_generated_cells_that_are_on_the_ledger_check_out(
    loop_project: Path, calls: list[Generation]
) -> None:
    first, second, _ = calls
    save(loop_project,
         nbformat.v4.new_code_cell("x = 1", metadata=provenance(first)),
         nbformat.v4.new_code_cell("print('hand written')"),
         nbformat.v4.new_code_cell(
             f"# qlayer: call {second.call_id[:12]} · {second.model_served}\ny = 2"))
    result = qlayer(loop_project, "audit", "notebook", "analysis.ipynb")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 generated cells, ok" in result.stdout
    assert f"cell 1 call {first.call_id}: found - prompt hash matches" in result.stdout
    assert f"cell 3 call {second.call_id[:12]}: found" in result.stdout


def test_cells_not_on_the_ledger_or_with_another_prompt_hash_fail(
    loop_project: Path, calls: list[Generation]
) -> None:
    first, second, third = calls
    save(loop_project,
         nbformat.v4.new_code_cell("a = 1", metadata=provenance(first)),
         nbformat.v4.new_code_cell("b = 2", metadata=provenance(second, call_id="0" * 32)),
         nbformat.v4.new_code_cell("c = 3", metadata=provenance(third, prompt_hash="f" * 64)),
         nbformat.v4.new_code_cell("# qlayer: call 123456789abc · m\nd = 4"))
    result = qlayer(loop_project, "audit", "notebook", "analysis.ipynb", "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert [(c["cell"], c["source"], c["status"]) for c in report["cells"]] == [
        (1, "metadata", "found"),
        (2, "metadata", "not_found"),
        (3, "metadata", "prompt_hash_mismatch"),
        (4, "comment", "not_found"),
    ]


def test_missing_notebook_is_a_clear_error(project: Path) -> None:
    result = qlayer(project, "audit", "notebook", "nowhere.ipynb")
    assert result.returncode == 1
    assert "Notebook not found" in result.stderr
    assert "Traceback" not in result.stderr
