"""The notebooks in notebooks/: each runs offline with papermill (`qlayer run`) and passes
nbval (`--nbval-lax`: the cells marked NBVAL_CHECK_OUTPUT must reproduce their saved output,
with times, costs, ids and paths sanitised)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ["quickstart", "routing", "evaluation", "cost_report", "sweep", "new_notebook"]


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("QLAYER_") and not k.endswith("_API_KEY")}
    env.pop("OPENAI_BASE_URL", None)
    return env


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of notebooks/ to run in, so runs write nothing into the source tree."""
    copy = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, copy)
    return copy


def test_every_notebook_has_a_parameters_cell_and_saved_outputs() -> None:
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)
    for name in NAMES:
        nb = nbformat.read(str(NOTEBOOKS / f"{name}.ipynb"), as_version=4)
        tags = [c.metadata.get("tags", []) for c in nb.cells]
        assert ["parameters"] in tags, name
        checked = [c for c in nb.cells if "NBVAL_CHECK_OUTPUT" in c.source]
        assert checked, name
        assert all(c.outputs for c in checked), f"{name}: run it to save the checked outputs"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_with_papermill_and_passes_nbval(name: str, folder: Path) -> None:
    env = _environment()
    run = subprocess.run(
        [sys.executable, "-c", "from quantumlayer_nb.cli import main; main()", "run",
         f"{name}.ipynb", "--out", str(folder / "executed")],
        cwd=folder, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    check = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
         "--nbval-sanitize-with", "nbval_sanitize.cfg", f"{name}.ipynb"],
        cwd=folder, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert check.returncode == 0, check.stdout[-4000:]
