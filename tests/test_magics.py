"""The %qlayer / %%qlayer magics through IPython's InteractiveShell, against the loopback server."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from quantumlayer_nb.jupyter._parser import MagicUsageError
from quantumlayer_nb.jupyter.magics import MagicError
from quantumlayer_nb.testing import LoopbackServer

FIXED = "```python\nvalue = 1 + 1\nprint(value)\n```\nThe name was undefined; it is defined now."


@pytest.fixture
def shell(loop_project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    """The IPython shell with the extension loaded; set_next_input is captured in .inserted."""
    ip = InteractiveShell.instance()
    inserted: list[str] = []
    monkeypatch.setattr(ip, "set_next_input",
                        lambda text, replace=False: inserted.append(text))
    ip.inserted = inserted  # type: ignore[attr-defined]
    monkeypatch.setenv("QUANTUMLAYER_PROGRESS", "text")
    ip.run_line_magic("load_ext", "quantumlayer_nb")
    yield ip
    ip.run_line_magic("unload_ext", "quantumlayer_nb")
    ip.user_ns.pop("_qlayer", None)


def test_cell_magic_inserts_code_with_provenance_comment(shell: InteractiveShell) -> None:
    generation = shell.run_cell_magic("qlayer", "-m loop", "print hello")
    inserted: list[str] = shell.inserted  # type: ignore[attr-defined]
    assert len(inserted) == 1
    assert inserted[0].startswith(f"# qlayer: call {generation.call_id[:12]} · ")
    assert "def solution" in inserted[0]
    assert shell.user_ns["_qlayer"] is generation


def test_cell_magic_prints_footer_and_output_metadata(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[tuple[Any, Any]] = []
    monkeypatch.setattr(shell.display_pub, "publish",
                        lambda data, metadata=None, **kw: shown.append((data, metadata)))
    generation = shell.run_cell_magic("qlayer", "", "print hello")
    footer_data, metadata = shown[-1]
    assert footer_data["text/plain"] == generation.footer()
    assert metadata["quantumlayer"] == {"call_id": generation.call_id,
                                        "model": generation.model_served,
                                        "cost_usd": generation.cost_usd,
                                        "prompt_hash": generation.prompt_hash}


def test_variables_are_filled_and_unknown_left(
    shell: InteractiveShell, loopback_server: LoopbackServer
) -> None:
    shell.user_ns["n_rows"] = 42
    shell.run_cell_magic("qlayer", "", "show {n_rows} rows of {missing}")
    sent = loopback_server.requests[-1]["json"]["messages"][-1]["content"]
    assert "show 42 rows of {missing}" in sent


def test_secret_named_variables_are_not_filled(
    shell: InteractiveShell, loopback_server: LoopbackServer
) -> None:
    shell.user_ns["api_token"] = "tok-very-private-value"
    shell.run_cell_magic("qlayer", "", "use {api_token}")
    sent = str(loopback_server.requests[-1]["json"])
    assert "tok-very-private-value" not in sent


def test_context_describes_variables_but_redacts_secrets(
    shell: InteractiveShell, loopback_server: LoopbackServer
) -> None:
    shell.user_ns["sales"] = {"north": 10, "south": 12}
    shell.user_ns["db_password"] = "hunter2-secret"
    shell.run_cell_magic("qlayer", "--context sales,db_password", "sum the sales")
    sent = str(loopback_server.requests[-1]["json"])
    assert "sales" in sent
    assert "north" in sent
    assert "hunter2-secret" not in sent


def test_no_insert_leaves_next_cell_alone(shell: InteractiveShell) -> None:
    shell.run_cell_magic("qlayer", "--no-insert", "print hello")
    assert shell.inserted == []  # type: ignore[attr-defined]


def test_stream_prints_deltas_then_returns_generation(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    generation = shell.run_cell_magic("qlayer", "--stream", "print hello")
    assert "def solution" in capsys.readouterr().out
    assert generation.code is not None


def test_markdown_format_renders_and_does_not_insert(
    shell: InteractiveShell, loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    loopback_server.queue("# Title\n\nSome *text*.")
    shown: list[Any] = []
    monkeypatch.setattr(shell.display_pub, "publish",
                        lambda data, metadata=None, **kw: shown.append(data))
    shell.run_cell_magic("qlayer", "-f markdown", "describe the data")
    assert any("text/markdown" in data for data in shown)
    assert shell.inserted == []  # type: ignore[attr-defined]


def test_tags_and_system_are_sent(
    shell: InteractiveShell, loopback_server: LoopbackServer
) -> None:
    generation = shell.run_cell_magic("qlayer", "--tag eda --tag q3 --system 'Be terse.'",
                                      "print hello")
    assert generation.metadata == {"tags": ["eda", "q3"]}
    assert loopback_server.requests[-1]["json"]["messages"][0]["content"] == "Be terse."


def test_unknown_option_gives_usage_not_traceback(shell: InteractiveShell) -> None:
    with pytest.raises(MagicError) as info:
        shell.run_cell_magic("qlayer", "--bogus", "print hello")
    lines = info.value._render_traceback_()
    assert any("usage: %%qlayer" in line for line in lines)
    assert isinstance(info.value.error, MagicUsageError)


def test_bad_format_value_gives_usage(shell: InteractiveShell) -> None:
    with pytest.raises(MagicError, match="usage: %%qlayer"):
        shell.run_cell_magic("qlayer", "-f yaml", "print hello")


def test_provider_error_fails_cell_with_short_paragraph(
    shell: InteractiveShell, loopback_server: LoopbackServer
) -> None:
    loopback_server.fail("auth", times=5)
    result = shell.run_cell("%%qlayer\nprint hello\n")
    assert isinstance(result.error_in_exec, MagicError)
    rendered = result.error_in_exec._render_traceback_()
    assert rendered[0].startswith("AuthenticationError")
    assert not any("Traceback" in line for line in rendered)


def test_fix_sends_failing_cell_and_error_and_inserts_fix(
    shell: InteractiveShell, loopback_server: LoopbackServer
) -> None:
    shell.run_cell("value = undefined_name + 1", store_history=True)
    loopback_server.queue(FIXED)
    shell.run_cell("%qlayer fix", store_history=True)
    prompt = loopback_server.requests[-1]["json"]["messages"][-1]["content"]
    assert "undefined_name + 1" in prompt
    assert "NameError" in prompt
    assert "value = 1 + 1" in shell.inserted[-1]  # type: ignore[attr-defined]


def test_fix_without_error_is_a_usage_error(shell: InteractiveShell,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(sys, "last_value", raising=False)
    with pytest.raises(MagicError, match="No error to fix"):
        shell.run_line_magic("qlayer", "fix")


def test_explain_numbered_cell_asks_for_markdown(
    shell: InteractiveShell, loopback_server: LoopbackServer
) -> None:
    shell.run_cell("total = 3 * 7", store_history=True)
    count = shell.execution_count - 1
    generation = shell.run_line_magic("qlayer", f"explain {count}")
    assert generation.format == "markdown"
    assert "total = 3 * 7" in loopback_server.requests[-1]["json"]["messages"][-1]["content"]


def test_models_lists_deployments_and_aliases(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_line_magic("qlayer", "models")
    out = capsys.readouterr().out
    assert "default: loop" in out
    assert "alias fast -> loop" in out


def test_usage_shows_cost_per_model(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_cell_magic("qlayer", "", "print hello")
    capsys.readouterr()
    shell.run_line_magic("qlayer", "usage")
    assert "gpt-4o-mini" in capsys.readouterr().out


def test_config_sets_nested_value(shell: InteractiveShell) -> None:
    import quantumlayer_nb as qlayer

    shell.run_line_magic("qlayer", "config timeout=7.5 safety.max_prompt_chars=5000")
    settings = qlayer.get_settings()
    assert settings.timeout == 7.5


def test_config_without_equals_is_usage_error(shell: InteractiveShell) -> None:
    with pytest.raises(MagicError, match="KEY=VALUE"):
        shell.run_line_magic("qlayer", "config timeout")


def test_budget_without_budgets_says_how_to_add_one(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_line_magic("qlayer", "budget")
    assert "[[budgets]]" in capsys.readouterr().out


def test_unknown_command_gives_usage(shell: InteractiveShell) -> None:
    with pytest.raises(MagicError, match="usage: %qlayer"):
        shell.run_line_magic("qlayer", "frobnicate")


def test_help_lists_every_command(shell: InteractiveShell,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    shell.run_line_magic("qlayer", "help")
    out = capsys.readouterr().out
    for command in ("fix", "explain", "models", "usage", "budget", "config", "eval"):
        assert f"%qlayer {command}" in out


def test_eval_bad_number_gives_usage(shell: InteractiveShell) -> None:
    with pytest.raises(MagicError, match="usage: %qlayer"):
        shell.run_line_magic("qlayer", "eval recipes --n zero")


def test_extension_loads_through_ipython_extensions_config(loop_project: Path) -> None:
    import subprocess

    check = "print(sorted(get_ipython().magics_manager.magics['cell']))"
    done = subprocess.run(
        [sys.executable, "-m", "IPython", "--no-banner", "--quick",
         "--InteractiveShellApp.extensions=['quantumlayer_nb']", "-c", check],
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert "'qlayer'" in done.stdout


EVAL_TASKS = {"add_one": ("x + 1", 4), "double": ("x * 2", 6), "negate": ("-x", -3),
              "square": ("x * x", 9)}


@pytest.fixture
def eval_suite(loop_project: Path, loopback_server: LoopbackServer) -> str:
    """A four-task JSONL suite; the server answers add_one and double right, the rest wrong."""
    import json
    import re

    with (loop_project / "qlayer.toml").open("a") as toml:
        toml.write('[cache]\nmode = "off"\n')
    lines = [json.dumps({"task_id": name, "prompt": f"Write {name}(x).",
                         "test": f"assert {name}(3) == {expected}"})
             for name, (_, expected) in EVAL_TASKS.items()]
    (loop_project / "tasks.jsonl").write_text("\n".join(lines) + "\n")
    for name, (body, _) in EVAL_TASKS.items():
        answer = body if name in ("add_one", "double") else "None"
        loopback_server.add_rule(re.escape(f"Write {name}("),
                                 f"```python\ndef {name}(x):\n    return {answer}\n```")
    return "tasks.jsonl"


def _displayed(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    import IPython.display

    shown: list[Any] = []
    monkeypatch.setenv("QUANTUMLAYER_PROGRESS", "widget")
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.extend(objs))
    return shown


def test_eval_text_progress_reaches_total_and_report_is_cell_value(
    shell: InteractiveShell, eval_suite: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from quantumlayer_nb.eval import EvalReport

    outcome = shell.run_cell(f"%qlayer eval {eval_suite} --models loop")
    assert isinstance(outcome.result, EvalReport)
    assert outcome.result.pass_at_k("loop", 1) == 0.5
    assert "eval tasks.jsonl 4/4 · 2 ok · 2 failed" in capsys.readouterr().err


def test_eval_widget_counts_passed_failed_and_cost(
    shell: InteractiveShell, eval_suite: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from quantumlayer_nb.jupyter.widgets import ProgressWidget

    shown = _displayed(monkeypatch)
    report = shell.run_line_magic("qlayer", f"eval {eval_suite} --models loop")
    widget = next(obj for obj in shown if isinstance(obj, ProgressWidget))
    assert (widget.done, widget.total, widget.passed, widget.failed) == (4, 4, 2, 2)
    assert widget.status == "done"
    assert widget.cost_usd == pytest.approx(float(report.summary.loc[0, "cost_usd"]))
    assert widget.cost_usd > 0


def test_eval_widget_cancel_stops_after_samples_in_flight(
    shell: InteractiveShell, eval_suite: str, monkeypatch: pytest.MonkeyPatch,
    loopback_server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from quantumlayer_nb.jupyter.widgets import ProgressWidget

    shown = _displayed(monkeypatch)
    original = ProgressWidget.__init__

    def init(self: ProgressWidget, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)

        def cancel_at_two(state: Any) -> None:  # the Cancel button, pressed after 2 samples
            if state.done == 2 and not self.cancelled:
                self.cancel()
        self.progress.subscribe(cancel_at_two)

    monkeypatch.setattr(ProgressWidget, "__init__", init)
    monkeypatch.setattr("quantumlayer_nb.eval.runner._cpu_count", lambda: 1)
    report = shell.run_line_magic("qlayer", f"eval {eval_suite} --models loop")
    widget = next(obj for obj in shown if isinstance(obj, ProgressWidget))
    assert report.cancelled
    assert widget.status == "cancelled"
    assert len(report.samples) == widget.done < 4
    assert loopback_server.request_count == widget.done
    assert "Run the same %qlayer eval again" in capsys.readouterr().out


def test_eval_repair_rounds_sends_failures_back(
    shell: InteractiveShell, eval_suite: str, loopback_server: LoopbackServer
) -> None:
    report = shell.run_line_magic("qlayer", f"eval {eval_suite} --models loop --repair-rounds 1")
    repaired = report.samples[report.samples["round"] == 1]
    assert sorted(repaired["task_id"]) == ["negate", "square"]
    assert loopback_server.request_count == 6


def test_eval_bad_repair_rounds_gives_usage(shell: InteractiveShell) -> None:
    with pytest.raises(MagicError, match="--repair-rounds"):
        shell.run_line_magic("qlayer", "eval recipes --repair-rounds two")
