"""Planted fake secrets appear nowhere: not sent, not on the ledger, not cached, not saved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import quantumlayer_nb as qlayer
from quantumlayer_nb.testing import LoopbackServer

# Built at run time so no credential-shaped string is stored in the repository.
OPENAI_KEY = "sk-proj-" + "Zq7Xw3Lm9Rt2" * 4
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCY" + "9Qz8Lm3NvX"  # 40 characters
PLANTED = (OPENAI_KEY, AWS_SECRET)


def _everything_written(folder: Path) -> str:
    return "\n".join(
        path.read_bytes().decode("utf-8", "replace") for path in folder.rglob("*") if path.is_file()
    )


def _assert_nowhere(text: str) -> None:
    for secret in PLANTED:
        assert secret not in text


def test_secrets_in_prompt_and_context_are_not_sent_stored_or_cached(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    prompt = f"call the API with key {OPENAI_KEY} and aws_secret_access_key={AWS_SECRET}"
    result = qlayer.generate(prompt, context={"api_token": OPENAI_KEY, "note": AWS_SECRET})
    assert result.text
    (request,) = loopback_server.requests
    _assert_nowhere(json.dumps(request))
    assert "[REDACTED:" in json.dumps(request["json"])
    _assert_nowhere(_everything_written(loop_project / ".qlayer"))


def test_secret_in_a_response_is_redacted_before_it_is_returned_or_stored(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    loopback_server.set_default_reply(f"```python\nclient = Client(api_key='{OPENAI_KEY}')\n```")
    result = qlayer.generate("make a client")
    _assert_nowhere(result.text)
    assert result.code is not None
    _assert_nowhere(result.code)
    _assert_nowhere(_everything_written(loop_project / ".qlayer"))


def test_value_of_a_configured_key_variable_is_never_sent(
    loop_project: Path, loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    own_key = "loopback-" + "k9" * 12  # matches no pattern: only the variable's value gives it away
    monkeypatch.setenv("OPENAI_API_KEY", own_key)
    qlayer.generate(f"why does {own_key} not work?")
    (request,) = loopback_server.requests
    assert own_key not in json.dumps(request["json"])
    assert own_key not in _everything_written(loop_project / ".qlayer")


def test_saved_notebook_holds_no_secret(
    loop_project: Path, loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("PLANTED_SECRET", OPENAI_KEY)
    loopback_server.set_default_reply(f"Use the key `{OPENAI_KEY}` like this.")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext quantumlayer_nb"),
        nbformat.v4.new_code_cell("import os\ntoken = os.environ['PLANTED_SECRET']"),
        nbformat.v4.new_code_cell("%%qlayer -f text --context token\nwhy is {token} rejected?"),
    ]
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": loop_project}}
    )
    client.execute()
    saved = loop_project / "saved.ipynb"
    nbformat.write(notebook, saved)
    text = saved.read_text()
    assert "quantumlayer" in text  # the call ran and left its provenance
    _assert_nowhere(text)
    _assert_nowhere(json.dumps(loopback_server.requests))
    _assert_nowhere(_everything_written(loop_project / ".qlayer"))
