"""What a failing sample prints is host data: it is redacted before it reaches a repair
prompt or the ledger, whatever the project's own ``safety.secrets`` setting."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from quantumlayer_nb.eval import Suite, evaluate, samples_relation
from quantumlayer_nb.testing import LoopbackServer

KEY = "sk-proj-" + secrets.token_hex(24)
# The model's first answer assembles the key at run time, so the code sent back in the
# repair prompt holds only fragments; the sample's output holds the whole key.
LEAKING = (
    "def answer():\n"
    f"    key = {KEY[:12]!r} + {KEY[12:]!r}\n"
    "    print('OPENAI_API_KEY=' + key)\n"
    "    assert key == 'x', 'bad key ' + key\n"
    "    return 0\n"
)
FIXED = "def answer():\n    return 1\n"


def _suite() -> Suite:
    suite = Suite("leaky")
    suite.add("Write answer() returning 1.", "assert answer() == 1", id="leaky/answer")
    return suite


def _project_with_secrets_off(loop_project: Path) -> None:
    # With secrets = "off" the project's own prompts go out as written, so only the
    # sandbox-output redaction stands between the sample's output and the provider.
    config = loop_project / "qlayer.toml"
    config.write_text(config.read_text() + '\n[safety]\nsecrets = "off"\n')


def test_repair_prompt_carries_no_secret_the_sample_printed(
        loop_project: Path, loopback_server: LoopbackServer) -> None:
    _project_with_secrets_off(loop_project)
    loopback_server.queue(f"```python\n{LEAKING}```", f"```python\n{FIXED}```")
    report = evaluate(_suite(), ["loop"], repair_rounds=1, data_dir=loop_project / ".qlayer",
                      concurrency=1)
    sent = loopback_server.requests
    assert len(sent) == 2
    repair = json.dumps(sent[1]["json"])
    assert "failed its tests" in repair
    assert "OPENAI_API_KEY=[REDACTED" in repair  # the output went, with the key replaced
    assert KEY not in repair
    assert report.pass_at_k("loop", 1) == 1.0


def test_ledger_message_of_a_failing_sample_is_redacted(
        loop_project: Path, loopback_server: LoopbackServer) -> None:
    loopback_server.queue(f"```python\n{LEAKING}```")
    evaluate(_suite(), ["loop"], data_dir=loop_project / ".qlayer", concurrency=1)
    messages = samples_relation(loop_project / ".qlayer").fetchall()
    assert messages
    assert KEY not in json.dumps([list(map(str, row)) for row in messages])
