"""User suites with a prose prompt and an entry point pass with a correct answer, while
HumanEval's code prompts keep working in both completion formats."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from quantumlayer_nb.eval import Sandbox, Suite, Task, evaluate, humaneval

HALF = "def half(x):\n    return x // 2\n"


@dataclass
class Answer:
    text: str
    code: str | None
    model_served: str | None = "scripted"
    tokens_in: int | None = 1
    tokens_out: int | None = 1
    cost_usd: float | None = 0.0
    latency_ms: float | None = 1.0
    call_id: str | None = None


def answering(code: str) -> Any:
    async def generate(prompt: str, **_: Any) -> Answer:
        return Answer(text=f"```python\n{code}```", code=code)

    return generate


def test_prose_prompt_is_not_part_of_the_program() -> None:
    task = Task(id="t", prompt="Write half(x) returning x halved.", tests="",
                entry_point="half")
    assert task.program(HALF) == HALF


def test_user_suite_with_entry_point_passes_a_correct_answer(tmp_path: Path) -> None:
    suite = Suite("mine")
    suite.add("Write half(x) that returns x // 2.", "assert candidate(4) == 2",
              entry_point="half")
    report = evaluate(suite, ["m"], generate=answering(HALF), data_dir=tmp_path)
    assert report.pass_at_k("m", 1) == 1.0


def test_user_suite_with_entry_point_fails_a_wrong_answer(tmp_path: Path) -> None:
    suite = Suite("mine")
    suite.add("Write half(x) that returns x // 2.", "assert half(4) == 2", entry_point="half")
    report = evaluate(suite, ["m"], generate=answering("def half(x):\n    return x\n"),
                      data_dir=tmp_path)
    assert report.pass_at_k("m", 1) == 0.0
    assert report.samples["outcome"].tolist() == ["failed"]


def test_missing_entry_point_is_named() -> None:
    with Sandbox() as box:
        result = box.run("def twice(x):\n    return 2 * x\n", "assert candidate(4) == 2",
                         entry_point="half")
    assert result.outcome == "error"
    assert "does not define 'half'" in result.message


@pytest.mark.parametrize("task_id", ["HumanEval/0", "HumanEval/2", "HumanEval/32"])
def test_humaneval_code_prompt_works_as_body_and_as_full_function(task_id: str) -> None:
    task = humaneval()[task_id]
    assert task.canonical_solution is not None
    full = task.prompt + task.canonical_solution
    with Sandbox() as box:
        as_body = box.run(task.program(task.canonical_solution), task.tests,
                          entry_point=task.entry_point)
        as_function = box.run(task.program(full), task.tests, entry_point=task.entry_point)
    assert as_body.passed, as_body.message
    assert as_function.passed, as_function.message
