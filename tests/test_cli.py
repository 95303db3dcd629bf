"""The qlayer command line, in process through typer's runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quantumlayer_nb.cli import _register_optional_commands, app
from quantumlayer_nb.testing import LoopbackServer

_register_optional_commands()
runner = CliRunner()


def test_generate_prints_code_and_footer(loop_project: Path) -> None:
    result = runner.invoke(app, ["generate", "print a greeting"])
    assert result.exit_code == 0, result.output
    assert "def solution" in result.stdout
    assert "gpt-4o-mini" in result.stderr


def test_generate_json_has_tokens_cost_and_call_id(loop_project: Path) -> None:
    result = runner.invoke(app, ["generate", "-m", "fast", "--json", "print a greeting"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["model"] == "fast"
    assert data["tokens_in"] > 0
    assert data["cost_usd"] > 0
    assert len(data["call_id"]) == 32


def test_user_error_is_one_line_and_exit_code_1(loop_project: Path) -> None:
    result = runner.invoke(app, ["generate", "-m", "no-such-model", "print"])
    assert result.exit_code == 1
    assert "ModelNotFound" in result.stderr
    assert "Traceback" not in result.output


def test_provider_error_is_reported_without_traceback(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    loopback_server.fail("auth", times=5)
    result = runner.invoke(app, ["generate", "print a greeting"])
    assert result.exit_code == 1
    assert "AuthenticationError" in result.stderr
    assert "Traceback" not in result.output


def test_models_json_lists_aliases_and_deployments(loop_project: Path) -> None:
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["default"] == "loop"
    assert data["aliases"] == {"fast": "loop"}
    assert set(data["deployments"]) == {"loop", "local"}


def test_usage_json_counts_calls_by_model(loop_project: Path) -> None:
    for _ in range(2):
        assert runner.invoke(app, ["generate", "print a greeting"]).exit_code == 0
    result = runner.invoke(app, ["usage", "--by", "model", "--json"])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert row["calls"] == 2
    assert row["cost_usd"] > 0


def test_usage_with_bad_grouping_is_a_clear_error(loop_project: Path) -> None:
    result = runner.invoke(app, ["usage", "--by", "planet"])
    assert result.exit_code == 1
    assert "model" in result.stderr


def test_doctor_says_which_keys_are_set_but_never_their_values(
    loop_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-doctor-must-not-print-this")
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    assert "sk-doctor-must-not-print-this" not in result.output
    data = json.loads(result.stdout)
    assert data["keys"]["OPENAI_API_KEY"] == "set"
    assert data["keys"]["ANTHROPIC_API_KEY"] == "not set"
    assert data["default_route"] == "loop"
    assert "isolation" in data["sandbox"]


def test_offline_default_generates_without_any_key(project: Path) -> None:
    result = runner.invoke(app, ["generate", "--json", "group df by region and sum revenue"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["model_served"] == "qlayer/recipes"
    assert data["cost_usd"] == 0.0
    assert "groupby" in data["code"]


def _qlayer(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env = {k: v for k, v in env.items() if not k.startswith("QLAYER_")}
    return subprocess.run(
        [str(Path(sys.executable).with_name("qlayer")), *args],
        capture_output=True, text=True, cwd=project, env=env, timeout=120,
    )


def test_no_match_generate_exits_with_the_documented_code(project: Path) -> None:
    from quantumlayer_nb.cli import NO_CODE_EXIT

    result = _qlayer(project, "generate", "write a sonnet about autumn")
    assert result.returncode == NO_CODE_EXIT == 3, result.stderr
    assert result.stdout.startswith("No recipe matches")
    assert "Traceback" not in result.stderr


def test_no_match_in_text_format_also_exits_with_the_documented_code(project: Path) -> None:
    result = _qlayer(project, "generate", "-f", "text", "tell me a joke")
    assert result.returncode == 3, result.stderr


def test_generate_help_documents_the_exit_codes(project: Path) -> None:
    result = _qlayer(project, "generate", "--help")
    assert result.returncode == 0
    assert "3 when code was asked for and none came back" in " ".join(result.stdout.split())


def test_matching_generate_exits_zero(project: Path) -> None:
    result = _qlayer(project, "generate", "total revenue per region")
    assert result.returncode == 0, result.stderr
    assert "groupby" in result.stdout
