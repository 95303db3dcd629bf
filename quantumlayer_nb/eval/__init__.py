"""Evaluation: run generated code in a sandbox, score suites with pass@k, report.

Generated code never runs in the kernel: :class:`Sandbox` runs it in a child process with
resource limits, a scrubbed environment, its own temporary folder, and no network where
the OS allows it. :func:`evaluate` generates samples per task and model through the router,
runs them, repairs failures on request, and returns an :class:`EvalReport`.
"""

from __future__ import annotations

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
