"""Test-verified cascades in evaluate(): each stage checked on the visible tests, scored on
the full tests; and the loopback server's scripted-solve mode that simulates models."""

from __future__ import annotations

from pathlib import Path

import pytest

import quantumlayer_nb as qlayer
from quantumlayer_nb.eval import Suite, evaluate, humaneval, task_check
from quantumlayer_nb.eval._visible import visible_tests
from quantumlayer_nb.routing.resilience import reset_states
from quantumlayer_nb.testing import LoopbackServer

PRICES = {"cheap": 1e-7, "strong": 2e-6}
WRONG = "```python\ndef half(x):\n    return None\n```"
RIGHT = "```python\ndef half(x):\n    return x // 2\n```"
# Right on the visible example (half(4) == 2) but wrong on the hidden test (odd numbers).
LUCKY = "```python\ndef half(x):\n    return 2\n```"


@pytest.fixture
def cascade_project(project: Path, loopback_server: LoopbackServer) -> LoopbackServer:
    deployments = "".join(
        f'[deployments.{name}]\nmodel = "openai/{name}"\napi_base = "{loopback_server.url}"\n'
        f"input_cost_per_token = {price}\noutput_cost_per_token = {price}\n"
        for name, price in PRICES.items()
    )
    (project / "qlayer.toml").write_text(
        f'project = "test"\nuser = "tester"\n{deployments}'
        '[routes.coder]\npolicy = "cascade"\ndeployments = ["cheap", "strong"]\n'
    )
    reset_states()
    return loopback_server


def _suite() -> Suite:
    suite = Suite("halves")
    suite.add("Write half(x): x halved, rounded down.", "assert half(7) == 3\nassert half(4) == 2",
              id="halves/0", entry_point="half", check="assert half(4) == 2")
    return suite


def test_cheap_wrong_answer_escalates_to_the_next_stage(cascade_project: LoopbackServer,
                                                        project: Path) -> None:
    cascade_project.queue(WRONG, model="cheap")
    cascade_project.queue(RIGHT, model="strong")
    report = evaluate(_suite(), models=["coder"], data_dir=project / ".qlayer",
                      isolation="process", concurrency=1)
    row = report.samples.iloc[0]
    assert (row["deployment"], row["stages"], bool(row["passed"])) == ("strong", 2, True)
    assert [r["model"] for r in cascade_project.requests] == ["cheap", "strong"]
    assert report.cascade.iloc[0]["escalated"] == 1.0


def test_cheap_right_answer_is_served_without_escalating(cascade_project: LoopbackServer,
                                                          project: Path) -> None:
    cascade_project.queue(RIGHT, model="cheap")
    report = evaluate(_suite(), models=["coder"], data_dir=project / ".qlayer",
                      isolation="process", concurrency=1)
    row = report.samples.iloc[0]
    assert (row["deployment"], row["stages"], bool(row["passed"])) == ("cheap", 1, True)
    assert [r["model"] for r in cascade_project.requests] == ["cheap"]
    assert report.cascade.iloc[0]["served by cheap"] == 1


def test_pass_at_k_is_scored_on_the_full_tests_not_the_visible_ones(
        cascade_project: LoopbackServer, project: Path) -> None:
    cascade_project.queue(LUCKY, model="cheap")  # passes half(4) == 2, fails half(7) == 3
    report = evaluate(_suite(), models=["coder"], data_dir=project / ".qlayer",
                      isolation="process", concurrency=1)
    row = report.samples.iloc[0]
    assert (row["deployment"], bool(row["check_passed"]), bool(row["passed"])) == (
        "cheap", True, False)
    assert report.pass_at_k("coder") == 0.0
    assert report.cascade.iloc[0]["visible tests passed"] == 1.0


def test_both_stages_wrong_counts_two_stages_and_fails(cascade_project: LoopbackServer,
                                                       project: Path) -> None:
    cascade_project.queue(WRONG, model="cheap")
    cascade_project.queue(WRONG, model="strong")
    report = evaluate(_suite(), models=["coder"], data_dir=project / ".qlayer",
                      isolation="process", concurrency=1)
    row = report.samples.iloc[0]
    assert (row["deployment"], row["stages"], bool(row["passed"])) == ("strong", 2, False)


def test_a_task_without_visible_tests_escalates_unverified(cascade_project: LoopbackServer,
                                                           project: Path) -> None:
    suite = Suite("halves")
    suite.add("Write half(x).", "assert half(4) == 2", id="halves/0", entry_point="half",
              check="")
    cascade_project.queue(RIGHT, model="cheap")
    cascade_project.queue(RIGHT, model="strong")
    report = evaluate(suite, models=["coder"], data_dir=project / ".qlayer",
                      isolation="process", concurrency=1)
    row = report.samples.iloc[0]
    assert (row["deployment"], bool(row["check_passed"]), bool(row["passed"])) == (
        "strong", False, True)


def test_generate_with_a_task_check_escalates_on_the_visible_tests(
        cascade_project: LoopbackServer) -> None:
    cascade_project.queue(WRONG, model="cheap")
    cascade_project.queue(RIGHT, model="strong")
    task = _suite()["halves/0"]
    with task_check(task) as check:
        result = qlayer.generate(task.prompt, model="coder", check=check, cache=False)
    assert result.deployment == "strong"
    assert [r.outcome for r in check.results] == ["failed", "passed"]


def test_humaneval_visible_tests_are_the_docstring_examples() -> None:
    task = humaneval()["HumanEval/0"]
    assert task.visible_tests != task.tests
    assert ("assert _qlayer_same(has_close_elements([1.0, 2.0, 3.0], 0.5), False)"
            in task.visible_tests)


def test_examples_written_as_arrows_and_for_clauses_become_asserts() -> None:
    prompt = ('def f(x):\n    """Examples:\n    f(1) ➞ 2\n    f(2) ==> 3\n'
              '    For x = 3 the output should be 4\n    f(y) => 9\n    """\n')
    tests = visible_tests(prompt, "f")
    assert [line.split(", ")[0] for line in tests.splitlines() if line.startswith("assert")] \
        == ["assert _qlayer_same(f(1)", "assert _qlayer_same(f(2)", "assert _qlayer_same(f(3)"]


def test_scripted_solve_answers_a_share_of_humaneval_tasks_per_model(
        loopback_server: LoopbackServer) -> None:
    import litellm

    loopback_server.solve(0.5, model="cheap", seed=3)
    tasks = humaneval().tasks[:40]
    answers = []
    for task in tasks:
        reply = litellm.completion(model="openai/cheap", api_base=loopback_server.url,
                                   api_key="sk-loopback",
                                   messages=[{"role": "user", "content": task.prompt}])
        answers.append(reply.choices[0].message.content)
    right = [t.canonical_solution is not None and t.canonical_solution.strip() in a
             for t, a in zip(tasks, answers, strict=True)]
    assert 10 <= sum(right) <= 30
    assert all("return None" in a for a, ok in zip(answers, right, strict=True) if not ok)
    again = litellm.completion(model="openai/cheap", api_base=loopback_server.url,
                               api_key="sk-loopback",
                               messages=[{"role": "user", "content": tasks[0].prompt}])
    assert again.choices[0].message.content == answers[0]  # the same task, the same answer


class _AwaitedOnly:
    """A check whose sync call fails: only an awaited ``acheck`` can pass it."""

    def __init__(self) -> None:
        self.awaited = 0

    def __call__(self, generation: object) -> bool:
        return False

    async def acheck(self, generation: object) -> bool:
        self.awaited += 1
        return True


def test_async_cascade_awaits_a_checks_acheck(cascade_project: LoopbackServer) -> None:
    import asyncio

    cascade_project.queue(RIGHT, model="cheap")
    check = _AwaitedOnly()
    result = asyncio.run(qlayer.agenerate("Write half(x).", model="coder", check=check,
                                          cache=False))
    assert (result.deployment, check.awaited) == ("cheap", 1)
