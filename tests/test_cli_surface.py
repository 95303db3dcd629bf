"""The ``qlayer`` command as a user meets it: ``--version``, clean ``--help`` pages,
``generate --estimate`` that sends nothing, and key hints that name the right server.

Each test runs the installed command as a subprocess, in a project whose deployments point
at the loopback server.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from quantumlayer_nb import __version__
from quantumlayer_nb.testing import LoopbackServer

QLAYER = [sys.executable, "-c", "from quantumlayer_nb.cli import main; main()"]
KEY_ENV = "DOCS_VLLM_KEY"


def qlayer(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "COLUMNS": "100"}
    return subprocess.run([*QLAYER, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.fixture
def keyed_project(loop_project: Path, loopback_server: LoopbackServer) -> Path:
    """loop_project plus 'vllm', a custom server whose key is named by api_key_env."""
    with (loop_project / "qlayer.toml").open("a") as toml:
        toml.write(f'[deployments.vllm]\nmodel = "openai/qwen-coder"\n'
                   f'api_base = "{loopback_server.url}"\napi_key_env = "{KEY_ENV}"\n')
    return loop_project


def test_version_prints_the_package_version(project: Path) -> None:
    done = qlayer("--version", cwd=project)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"qlayer {__version__}"


def _command_paths() -> list[list[str]]:
    from quantumlayer_nb.cli import _register_optional_commands, app

    _register_optional_commands()
    root = typer.main.get_command(app)
    paths: list[list[str]] = [[]]

    def walk(command: Any, path: list[str]) -> None:
        # typer's groups carry their sub-commands in `.commands` (typer vendors click)
        for name, sub in getattr(command, "commands", {}).items():
            paths.append([*path, name])
            walk(sub, [*path, name])

    walk(root, [])
    return paths


def test_no_help_page_shows_a_type_after_a_flag(project: Path) -> None:
    paths = _command_paths()
    for expected in (["generate"], ["budget", "show"], ["audit", "verify"]):
        assert expected in paths
    noisy = {}
    for path in paths:
        done = qlayer(*path, "--help", cwd=project)
        assert done.returncode == 0, (path, done.stderr)
        flags = re.findall(r"(--[\w-]+)\s+<bool>", done.stdout)
        if flags:
            noisy[" ".join(path) or "qlayer"] = flags
    assert noisy == {}


def test_generate_estimate_counts_tokens_and_sends_nothing(
        loop_project: Path, loopback_server: LoopbackServer) -> None:
    done = qlayer("generate", "--estimate", "-m", "loop", "write a function that adds two numbers",
                  cwd=loop_project)
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert re.fullmatch(r"estimate for loop: <?\$\S+–<?\$\S+ \(\d+ prompt tokens, up to "
                        r"[\d,]+ out\) · not sent", line), line
    assert loopback_server.request_count == 0


def test_generate_estimate_json_has_the_range_per_deployment(
        loop_project: Path, loopback_server: LoopbackServer) -> None:
    done = qlayer("generate", "--estimate", "--json", "-m", "fast", "sum revenue by region",
                  cwd=loop_project)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["requested"] == "fast"
    [deployment] = data["deployments"]
    assert deployment["deployment"] == "loop"
    assert deployment["tokens_in"] > 0
    assert 0 < data["low_usd"] < data["high_usd"]
    assert loopback_server.request_count == 0


def test_generate_estimate_of_the_offline_model_is_free(project: Path) -> None:
    done = qlayer("generate", "--estimate", "-m", "qlayer/recipes", "plot y by x", cwd=project)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("estimate for qlayer/recipes: $0 ")


def test_missing_key_of_a_custom_server_names_its_api_base_and_variable(
        keyed_project: Path, loopback_server: LoopbackServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    done = qlayer("generate", "-m", "vllm", "add two numbers", cwd=keyed_project)
    assert done.returncode == 1
    assert f"${KEY_ENV}" in done.stderr
    assert loopback_server.url in done.stderr
    assert "platform.openai.com" not in done.stderr
    assert loopback_server.request_count == 0


def test_rejected_key_at_a_custom_server_names_it_not_platform_openai(
        keyed_project: Path, loopback_server: LoopbackServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "not-the-right-key-1234")
    loopback_server.fail("auth", times=5)
    done = qlayer("generate", "-m", "vllm", "add two numbers", cwd=keyed_project)
    assert done.returncode == 1
    assert "AuthenticationError" in done.stderr
    assert "platform.openai.com" not in done.stderr
    assert loopback_server.url in done.stderr
    assert f"${KEY_ENV}" in done.stderr


def test_eval_without_models_runs_on_the_default_model(
        loop_project: Path, loopback_server: LoopbackServer) -> None:
    (loop_project / "double_tasks.jsonl").write_text(json.dumps({
        "task_id": "t/double", "prompt": "Write double(x) returning 2 * x.",
        "test": "assert candidate(3) == 6", "entry_point": "double"}) + "\n")
    loopback_server.add_rule(r"Write double", "```python\ndef double(x):\n    return 2 * x\n```")
    done = qlayer("eval", "double_tasks.jsonl", "--n", "1", "--k", "1", "--json",
                  cwd=loop_project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "evaluate needs models" not in done.stdout + done.stderr
    assert loopback_server.request_count == 1
    assert '"loop"' in done.stdout
