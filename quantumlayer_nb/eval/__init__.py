"""Evaluation: run generated code in a sandbox, score suites with pass@k, report.

Generated code never runs in the kernel: :class:`Sandbox` runs it in a child process with
resource limits, a scrubbed environment, its own temporary folder, and no network where
the OS allows it. :func:`evaluate` generates samples per task and model through the router,
runs them, repairs failures on request, and returns an :class:`EvalReport`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quantumlayer_nb.eval._cascade import TaskCheck, task_check
    from quantumlayer_nb.eval._namespaces import sandbox_capabilities
    from quantumlayer_nb.eval._store import pass_rates, samples_relation
    from quantumlayer_nb.eval.passk import mean_pass_at_k, pass_at_k
    from quantumlayer_nb.eval.report import EvalReport
    from quantumlayer_nb.eval.runner import (
        GenerateFn,
        GenerationLike,
        ProgressCallback,
        SampleResult,
        aevaluate,
        evaluate,
    )
    from quantumlayer_nb.eval.sandbox import Outcome, Sandbox, SandboxLimits, SandboxResult
    from quantumlayer_nb.eval.suites import Suite, Task, humaneval, load_suite, recipes_suite

# The names load on first use (PEP 562): ``quantumlayer_nb.eval.passk`` alone, as the server
# extension imports it, must not pay for the runner and the sandbox (0.27 s).
_WHERE: dict[str, str] = {
    "EvalReport": "quantumlayer_nb.eval.report",
    "GenerateFn": "quantumlayer_nb.eval.runner",
    "GenerationLike": "quantumlayer_nb.eval.runner",
    "Outcome": "quantumlayer_nb.eval.sandbox",
    "ProgressCallback": "quantumlayer_nb.eval.runner",
    "SampleResult": "quantumlayer_nb.eval.runner",
    "Sandbox": "quantumlayer_nb.eval.sandbox",
    "SandboxLimits": "quantumlayer_nb.eval.sandbox",
    "SandboxResult": "quantumlayer_nb.eval.sandbox",
    "Suite": "quantumlayer_nb.eval.suites",
    "Task": "quantumlayer_nb.eval.suites",
    "TaskCheck": "quantumlayer_nb.eval._cascade",
    "aevaluate": "quantumlayer_nb.eval.runner",
    "evaluate": "quantumlayer_nb.eval.runner",
    "humaneval": "quantumlayer_nb.eval.suites",
    "load_suite": "quantumlayer_nb.eval.suites",
    "mean_pass_at_k": "quantumlayer_nb.eval.passk",
    "pass_at_k": "quantumlayer_nb.eval.passk",
    "pass_rates": "quantumlayer_nb.eval._store",
    "recipes_suite": "quantumlayer_nb.eval.suites",
    "samples_relation": "quantumlayer_nb.eval._store",
    "sandbox_capabilities": "quantumlayer_nb.eval._namespaces",
    "task_check": "quantumlayer_nb.eval._cascade",
}

__all__ = [
    "EvalReport",
    "GenerateFn",
    "GenerationLike",
    "Outcome",
    "ProgressCallback",
    "SampleResult",
    "Sandbox",
    "SandboxLimits",
    "SandboxResult",
    "Suite",
    "Task",
    "TaskCheck",
    "aevaluate",
    "evaluate",
    "humaneval",
    "load_suite",
    "mean_pass_at_k",
    "pass_at_k",
    "pass_rates",
    "recipes_suite",
    "samples_relation",
    "sandbox_capabilities",
    "task_check",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
