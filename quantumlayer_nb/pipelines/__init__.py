"""Notebooks as pipelines: runs on papermill, replay, sweeps, and notebooks from a description.

``run_notebook`` executes a notebook as one run on the ledger; ``sweep`` runs it over a
parameter grid; ``new_notebook`` plans, generates, executes and repairs a notebook;
``record`` keeps a value a notebook computed. Nothing heavy loads until a name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["NewNotebook", "RunResult", "SweepResult", "new_notebook", "record",
           "run_notebook", "sweep"]

_LAZY = {
    "NewNotebook": "quantumlayer_nb.pipelines.new",
    "RunResult": "quantumlayer_nb.pipelines.runs",
    "SweepResult": "quantumlayer_nb.pipelines.sweeps",
    "new_notebook": "quantumlayer_nb.pipelines.new",
    "record": "quantumlayer_nb.pipelines.recorded",
    "run_notebook": "quantumlayer_nb.pipelines.runs",
    "sweep": "quantumlayer_nb.pipelines.sweeps",
}

if TYPE_CHECKING:
    from quantumlayer_nb.pipelines.new import NewNotebook, new_notebook
    from quantumlayer_nb.pipelines.recorded import record
    from quantumlayer_nb.pipelines.runs import RunResult, run_notebook
    from quantumlayer_nb.pipelines.sweeps import SweepResult, sweep


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'quantumlayer_nb.pipelines' has no attribute {name!r}"
                             ) from None
    return getattr(importlib.import_module(module), name)
