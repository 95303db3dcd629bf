"""Nothing that prints, logs or stores carries a secret: config echoes, errors, metadata.

Through the entry points a user touches: the ``qlayer`` command line in its own process,
``generate`` and the ledger files it writes, and ``qlayer audit export``.
"""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
from pathlib import Path

import pytest

import quantumlayer_nb as qlayer
from quantumlayer_nb.config import get_settings, load_settings, redacted_view
from quantumlayer_nb.errors import ConfigError, RequestError

QLAYER = [sys.executable, "-c", "from quantumlayer_nb.cli import main; main()"]
_RNG = random.Random(11)
_ALNUM = string.ascii_letters + string.digits
# Built at run time: random, format-valid, never stored.
KEY = "sk-proj-" + "".join(_RNG.choice(_ALNUM) for _ in range(48)) + "7"
PASSWORD = "Tr0ub4dor&" + "".join(_RNG.choice(_ALNUM) for _ in range(6))
PLAIN = "".join(_RNG.choice(string.ascii_lowercase) for _ in range(12))  # no known shape


def qlayer_cli(project: Path, *args: str | bytes) -> subprocess.CompletedProcess[str]:
    """Run the ``qlayer`` command line in a separate process, in the project folder."""
    return subprocess.run(
        [*QLAYER, *args], cwd=project, env=dict(os.environ), capture_output=True, text=True,
        timeout=120, check=False,
    )


@pytest.fixture
def secret_config(project: Path) -> Path:
    """A qlayer.toml that holds a key in params and a password in an api_base."""
    (project / "qlayer.toml").write_text(
        '[deployments.vllm]\nmodel = "openai/llama3"\n'
        f'api_base = "https://ana:{PASSWORD}@llm.internal/v1"\n'
        f'params = {{api_key = "{KEY}", extra_headers = {{"X-Api-Token" = "{PLAIN}"}}}}\n'
        '[aliases]\nfast = "vllm"\n'
    )
    return project


def _assert_clean(text: str) -> None:
    assert KEY not in text
    assert PASSWORD not in text
    assert PLAIN not in text


def test_qlayer_models_prints_no_key_or_password(secret_config: Path) -> None:
    result = qlayer_cli(secret_config, "models")
    assert result.returncode == 0, result.stderr
    assert "deployment  vllm: openai/llama3 @ https://ana:[REDACTED:url_password:" in result.stdout
    _assert_clean(result.stdout + result.stderr)


def test_qlayer_models_json_prints_no_key_or_password(secret_config: Path) -> None:
    result = qlayer_cli(secret_config, "models", "--json")
    assert result.returncode == 0, result.stderr
    _assert_clean(result.stdout)
    deployment = json.loads(result.stdout)["deployments"]["vllm"]
    assert deployment["model"] == "openai/llama3"
    assert deployment["params"]["api_key"].startswith("[REDACTED:openai_api_key:")
    assert deployment["params"]["extra_headers"]["X-Api-Token"].startswith("[REDACTED:")
    assert "api_key_env" not in deployment  # unchanged: only keys set away from the default


def test_redacted_view_keeps_what_is_not_secret(secret_config: Path) -> None:
    view = redacted_view(get_settings())
    _assert_clean(json.dumps(view))
    assert view["aliases"] == {"fast": "vllm"}
    assert view["deployments"]["vllm"]["api_base"].endswith("@llm.internal/v1")
    assert view["safety"]["key_env_vars"] == get_settings().safety.key_env_vars


def test_redacted_view_redacts_the_values_of_key_variables(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_VLLM_KEY", "local-value-" + PLAIN)
    (project / "qlayer.toml").write_text(
        'project = "local-value-' + PLAIN + '"\n'
        '[deployments.v]\nmodel = "openai/x"\napi_key_env = "MY_VLLM_KEY"\n'
    )
    view = redacted_view(get_settings())
    assert PLAIN not in json.dumps(view)
    assert view["deployments"]["v"]["api_key_env"] == "MY_VLLM_KEY"  # a name, not a key


def test_unknown_model_error_does_not_echo_a_key_given_as_model(project: Path) -> None:
    result = qlayer_cli(project, "generate", "-m", KEY, "print a greeting")
    assert result.returncode == 1
    assert "ModelNotFound" in result.stderr
    assert "[REDACTED:openai_api_key:" in result.stderr
    assert KEY not in result.stdout + result.stderr


def test_request_error_does_not_echo_a_key_given_as_an_argument(project: Path) -> None:
    with pytest.raises(RequestError) as caught:
        qlayer.generate("make a plot", model="qlayer/recipes", format=KEY)  # type: ignore[arg-type]
    assert "format=" in str(caught.value)
    assert KEY not in str(caught.value)


def _ledger_text(project: Path) -> str:
    folder = get_settings().data_path / "ledger"
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files, f"no ledger files under {folder}"
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in files)


def test_metadata_is_redacted_before_it_reaches_the_ledger_and_the_export(
    project: Path,
) -> None:
    metadata = {"note": f"run with {KEY} please", "api_key": PLAIN, "tags": ["etl"]}
    generation = qlayer.generate(
        "group df by region and sum revenue", model="qlayer/recipes", metadata=metadata
    )
    ledger = _ledger_text(project)
    assert generation.call_id in ledger
    assert "[REDACTED:openai_api_key:" in ledger
    _assert_clean(ledger)

    out = project / "export.jsonl"
    result = qlayer_cli(project, "audit", "export", "--format", "jsonl", "--out", str(out))
    assert result.returncode == 0, result.stderr
    exported = out.read_text()
    assert generation.call_id in exported
    assert '"etl"' in exported
    _assert_clean(exported + result.stdout + result.stderr)


def test_a_non_utf8_command_line_argument_is_a_clear_request_error(project: Path) -> None:
    result = subprocess.run(
        [*QLAYER, "generate", "-m", "qlayer/recipes", b"plot the \xff column"],
        cwd=project, env=dict(os.environ), capture_output=True, timeout=120, check=False,
    )
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 1, stderr
    assert "RequestError" in stderr
    assert "not UTF-8" in stderr
    assert "Traceback" not in stderr


def test_confirm_above_usd_is_a_setting_with_no_default(project: Path) -> None:
    assert get_settings().confirm_above_usd is None
    (project / "qlayer.toml").write_text("confirm_above_usd = 0.25\n")
    assert load_settings(project, environ={}).confirm_above_usd == 0.25


@pytest.mark.parametrize("value", ["-1", "inf", '"a lot"'])
def test_confirm_above_usd_refuses_what_is_not_an_amount(project: Path, value: str) -> None:
    (project / "qlayer.toml").write_text(f"confirm_above_usd = {value}\n")
    with pytest.raises(ConfigError, match="confirm_above_usd"):
        load_settings(project, environ={})
