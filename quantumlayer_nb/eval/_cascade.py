"""Test-verified cascades: check each stage's answer against the task's visible tests.

A cascade route (``policy = "cascade"``) asks its cheapest deployment first; with a
:func:`task_check` as the route's check, each stage's code runs in the sandbox against the
task's *visible* tests (:attr:`Task.visible_tests`: HumanEval's docstring examples, a user
task's ``check``, else its tests), and a failure escalates to the next stage. The score is
then taken on the full tests, apart from the check::

    from quantumlayer_nb.eval import humaneval, task_check

    task = humaneval()["HumanEval/0"]
    generation = qlayer.generate(task.prompt, model="coder-cascade", check=task_check(task))

:func:`~quantumlayer_nb.eval.evaluate` does this by itself for every model that is a
cascade route.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quantumlayer_nb.eval.sandbox import Sandbox, SandboxLimits, SandboxResult
from quantumlayer_nb.eval.suites import Task

__all__ = ["TaskCheck", "cascade_routes", "stages_of", "task_check"]

RunFn = Callable[[str, str, str | None], SandboxResult]


class TaskCheck:
    """A cascade check that runs an answer against a task's visible tests in the sandbox.

    Called with a ``Generation`` it returns whether the answer's code passed; ``results``
    keeps every verdict, in order (one per stage checked). A task with no visible tests
    (an empty ``check``) cannot verify an answer: the check fails without running it, so
    the cascade escalates, and the last stage's answer is served unverified.

    Args:
        task: the task the answer is for.
        run: ``run(program, tests, entry_point) -> SandboxResult`` (default: a sandbox of
            this check's own, started on first use and closed with :meth:`close`).
    """

    def __init__(self, task: Task, run: RunFn | None = None,
                 limits: SandboxLimits | None = None) -> None:
        self.task = task
        self.results: list[SandboxResult] = []
        self._run = run
        self._limits = limits
        self._box: Sandbox | None = None

    def __call__(self, generation: Any) -> bool:
        if not self.task.visible_tests.strip():
            self.results.append(SandboxResult(
                outcome="failed", message="no visible tests: the answer cannot be verified"))
            return False
        code = generation.code if generation.code is not None else generation.text
        program = self.task.program(code)
        if self._run is None:
            box = self._box = Sandbox(self._limits)
            self._run = lambda prog, tests, entry: box.run(prog, tests, entry_point=entry)
        result = self._run(program, self.task.visible_tests, self.task.entry_point)
        self.results.append(result)
        return result.passed

    async def acheck(self, generation: Any) -> bool:
        """The same check without blocking the event loop (the sandbox run waits on a
        thread); the async cascade path awaits this."""
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(None, self, generation)

    def close(self) -> None:
        """Stop this check's own sandbox, if it started one."""
        if self._box is not None:
            self._box.close()
            self._box = None

    def __enter__(self) -> TaskCheck:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def task_check(task: Task, *, limits: SandboxLimits | None = None) -> TaskCheck:
    """The check for ``generate(task.prompt, model=<cascade route>, check=...)``.

    Each stage's code runs in a sandbox against ``task.visible_tests``; a failure
    escalates. Use it as a context manager (or call ``close()``) to stop its sandbox.
    """
    return TaskCheck(task, limits=limits)


def cascade_routes(models: list[str]) -> set[str]:
    """Which of ``models`` name a cascade route in the project's settings."""
    try:
        from quantumlayer_nb.config import get_settings

        routes = get_settings().routes
    except Exception:  # no readable configuration: no route, so no cascade
        return set()
    return {model for model in models
            if model in routes and routes[model].policy == "cascade"}


def stages_of(generation: Any) -> int:
    """How many stages a cascade's answer went through (1: the first stage served)."""
    trace = getattr(generation, "route_trace", None) or ()
    # One answered attempt per stage ("ok" or "check_failed"); retries show other outcomes.
    return max(1, sum(1 for attempt in trace if attempt.outcome in ("ok", "check_failed")))
