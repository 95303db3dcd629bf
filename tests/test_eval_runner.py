"""The runner: generate -> sandbox -> repair -> ledger -> report, and scoring samples files."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from quantumlayer_nb.eval import EvalReport, Suite, evaluate, humaneval, pass_rates
from quantumlayer_nb.eval.cli import eval_command

WRONG = "def {name}(*args, **kwargs):\n    return None\n"


@dataclass
class FakeGeneration:
    text: str
    code: str | None
    model_served: str | None = "scripted"
    tokens_in: int | None = 10
    tokens_out: int | None = 5
    cost_usd: float | None = 0.001
    latency_ms: float | None = 1.0
    call_id: str | None = None


def even_right_odd_wrong(suite: Suite) -> Any:
    calls: list[str] = []

    async def generate(prompt: str, *, model: str, **_: Any) -> FakeGeneration:
        calls.append(prompt)
        task = next(t for t in suite if prompt.startswith(t.prompt.rstrip()))
        number = int(task.id.split("/")[1])
        code = (task.prompt + (task.canonical_solution or "") if number % 2 == 0
                else WRONG.format(name=task.entry_point))
        return FakeGeneration(text=f"```python\n{code}```", code=code)

    generate.calls = calls  # type: ignore[attr-defined]
    return generate


@pytest.fixture
def small_humaneval() -> Suite:
    return humaneval().subset([f"HumanEval/{i}" for i in range(10)])


def test_even_right_odd_wrong_scores_one_half(small_humaneval: Suite, tmp_path: Path) -> None:
    report = evaluate(small_humaneval, ["scripted"], generate=even_right_odd_wrong(small_humaneval),
                      data_dir=tmp_path, concurrency=2)
    assert report.pass_at_k("scripted", 1) == 0.5
    assert report.summary.loc[0, "pass@1"] == 0.5
    assert set(report.samples["outcome"]) == {"passed", "failed", "error"} or \
        set(report.samples["outcome"]) <= {"passed", "failed", "error"}


def test_every_sample_is_a_typed_row(small_humaneval: Suite, tmp_path: Path) -> None:
    report = evaluate(small_humaneval, ["scripted"], generate=even_right_odd_wrong(small_humaneval),
                      data_dir=tmp_path, concurrency=2)
    row = report.samples.iloc[0]
    assert {"task_id", "model", "sample", "round", "passed", "outcome", "duration_ms",
            "tokens_in", "tokens_out", "cost_usd", "tags", "run_id"} <= set(report.samples)
    assert row["tokens_in"] == 10
    assert report.summary.loc[0, "cost_usd"] == pytest.approx(0.01)


def test_rerun_skips_finished_samples(small_humaneval: Suite, tmp_path: Path) -> None:
    evaluate(small_humaneval, ["scripted"], generate=even_right_odd_wrong(small_humaneval),
             data_dir=tmp_path, concurrency=2)
    again = even_right_odd_wrong(small_humaneval)
    report = evaluate(small_humaneval, ["scripted"], generate=again, data_dir=tmp_path)
    assert again.calls == []
    assert len(report.samples) == 10


def test_repair_feeds_back_the_failure_and_records_rounds(tmp_path: Path) -> None:
    suite = Suite("repair")
    suite.add("Write inc(x) returning x + 1.", "assert inc(1) == 2", id="inc")
    prompts: list[str] = []

    async def generate(prompt: str, **_: Any) -> FakeGeneration:
        prompts.append(prompt)
        body = "x + 1" if "failed its tests" in prompt else "x"
        code = f"def inc(x):\n    return {body}\n"
        return FakeGeneration(text=code, code=code)

    report = evaluate(suite, ["m"], repair_rounds=2, generate=generate, data_dir=tmp_path)
    assert report.samples["round"].tolist() == [0, 1]
    assert "assert inc(1) == 2" in prompts[1]
    assert report.pass_at_k("m", 1) == 1.0
    assert report.pass_at_k("m", 1, first_round=True) == 0.0
    assert report.summary.loc[0, "repair rounds"] == 1


def test_budget_stops_generation(small_humaneval: Suite, tmp_path: Path) -> None:
    generate = even_right_odd_wrong(small_humaneval)
    report = evaluate(small_humaneval, ["scripted"], generate=generate, data_dir=tmp_path,
                      budget=0.0025, concurrency=1)
    assert report.stopped_for_budget
    assert len(generate.calls) < 10


def test_pass_at_k_with_several_samples(tmp_path: Path) -> None:
    suite = Suite("flaky")
    suite.add("Write one() returning 1.", "assert one() == 1", id="one")
    answers = iter(["1", "0", "1", "0"])

    async def generate(prompt: str, **_: Any) -> FakeGeneration:
        code = f"def one():\n    return {next(answers)}\n"
        return FakeGeneration(text=code, code=code)

    report = evaluate(suite, ["m"], n=4, k=[1, 2], generate=generate, data_dir=tmp_path,
                      concurrency=1)
    assert report.pass_at_k("m", 1) == pytest.approx(0.5)
    assert report.pass_at_k("m", 2) == pytest.approx(1 - 1 / 6)


def test_samples_file_is_scored_without_a_model(small_humaneval: Suite, tmp_path: Path) -> None:
    path = tmp_path / "samples.jsonl"
    with path.open("w") as handle:
        for task in small_humaneval:
            handle.write(json.dumps({"task_id": task.id,
                                     "completion": task.canonical_solution}) + "\n")
    report = evaluate(small_humaneval, samples=path, data_dir=tmp_path)
    assert report.pass_at_k("samples:samples.jsonl", 1) == 1.0


def test_pass_rates_by_model_and_tag(small_humaneval: Suite, tmp_path: Path) -> None:
    evaluate(small_humaneval, ["scripted"], generate=even_right_odd_wrong(small_humaneval),
             data_dir=tmp_path, concurrency=2)
    assert pass_rates(tmp_path) == {("scripted", "humaneval"): 0.5}
    assert pass_rates(tmp_path, by=("model",)) == {("scripted",): 0.5}


def test_report_exports_markdown_and_html(small_humaneval: Suite, tmp_path: Path) -> None:
    evaluate(small_humaneval, ["scripted"], generate=even_right_odd_wrong(small_humaneval),
             data_dir=tmp_path, concurrency=2)
    report = EvalReport.load(tmp_path, "humaneval")
    assert re.search(r"\| scripted \| 10 \| 10 \| 0\.500 \|", report.to_markdown())
    page = report.to_html(tmp_path / "report.html")
    assert page.count("data:image/png;base64,") == 2
    assert (tmp_path / "report.html").exists()


def test_cli_scores_a_samples_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "samples.jsonl"
    problem = humaneval()["HumanEval/0"]
    path.write_text(json.dumps({"task_id": problem.id,
                                "completion": problem.canonical_solution}) + "\n")
    code = eval_command("humaneval", [], 1, [1], path, 0, True, data_dir=tmp_path)
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary[0]["pass@1"] == 1.0


def test_cli_without_models_or_samples_says_what_to_do(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert eval_command("humaneval", [], 1, [1], None, 0, False, data_dir=tmp_path) == 2
    assert "models=" in capsys.readouterr().err


def test_scripted_model_on_loopback_scores_one_half_end_to_end(
        small_humaneval: Suite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        loopback_server: Any) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback")
    monkeypatch.setenv("OPENAI_BASE_URL", loopback_server.url)
    loopback_server.set_default_reply("I cannot help with that.")
    for task in small_humaneval:
        number = int(task.id.split("/")[1])
        code = (task.prompt + (task.canonical_solution or "") if number % 2 == 0
                else WRONG.format(name=task.entry_point))
        loopback_server.add_rule(re.escape(f"def {task.entry_point}("),
                                 f"```python\n{code}```")
    report = evaluate(small_humaneval, ["openai/scripted"], data_dir=tmp_path / "data",
                      concurrency=2)
    assert report.pass_at_k("openai/scripted", 1) == 0.5
    assert len(report.samples) == 10
    assert "| openai/scripted | 10 | 10 | 0.500 |" in report.to_markdown()
