"""Replay needs nothing a provider call needs: no key, no network, no litellm.

A notebook recorded once is re-run elsewhere (a colleague's laptop, CI) with cache mode
``replay``: every answer comes from the store, so the run must not ask for the provider's key
or load litellm (seconds per kernel) just to resolve names it will never call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from quantumlayer_nb.config import reset_configuration
from quantumlayer_nb.testing import LoopbackServer

REPLAY = """
import json, sys
import quantumlayer_nb as qlayer
out = {
    "loop": qlayer.generate("print the answer", model="loop", temperature=0).code,
    "keyed": qlayer.generate("print the question", model="keyed", temperature=0).code,
    "default": qlayer.generate("print the default", temperature=0).code,
    "raw": qlayer.generate("print the raw", model="openai/gpt-4o-mini", temperature=0).code,
    "streamed": qlayer.generate("print the answer", model="loop", temperature=0,
                                stream=True).result().code,
    "litellm_loaded": "litellm" in sys.modules,
}
print(json.dumps(out))
"""


@pytest.fixture
def recorded(project: Path, loopback_server: LoopbackServer,
             monkeypatch: pytest.MonkeyPatch) -> Path:
    """Answers recorded through two deployments (one on a server of its own, one that reads
    the provider's key from the environment) and a bare litellm id; the key and the base URL
    are set only while recording."""
    (project / "qlayer.toml").write_text(
        'project = "test"\nuser = "tester"\ndefault_route = "loop"\n'
        f'[deployments.loop]\nmodel = "openai/gpt-4o-mini"\napi_base = "{loopback_server.url}"\n'
        '[deployments.keyed]\nmodel = "openai/gpt-4o"\n'
    )
    monkeypatch.setenv("OPENAI_API_KEY", "sk-recording-only")
    monkeypatch.setenv("OPENAI_BASE_URL", loopback_server.url)
    monkeypatch.setenv("OPENAI_API_BASE", loopback_server.url)
    reset_configuration()
    import quantumlayer_nb as qlayer

    loopback_server.set_default_reply("```python\nprint(42)\n```")
    qlayer.generate("print the answer", model="loop", temperature=0)
    qlayer.generate("print the question", model="keyed", temperature=0)
    qlayer.generate("print the default", temperature=0)
    qlayer.generate("print the raw", model="openai/gpt-4o-mini", temperature=0)
    return project


def test_a_replayed_run_needs_no_key_and_loads_no_litellm(
        recorded: Path, loopback_server: LoopbackServer) -> None:
    before = loopback_server.request_count
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "QLAYER_", "LITELLM_"))}
    done = subprocess.run([sys.executable, "-c", REPLAY], cwd=recorded,
                          env={**env, "QLAYER_CACHE__MODE": "replay"},
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.splitlines()[-1])
    answers = {out[name] for name in ("loop", "keyed", "default", "raw", "streamed")}
    assert answers == {"print(42)\n"}
    assert out["litellm_loaded"] is False
    assert loopback_server.request_count == before


def test_a_replay_miss_still_says_what_to_do_without_a_key(recorded: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "QLAYER_"))}
    done = subprocess.run(
        [sys.executable, "-c",
         "import quantumlayer_nb as q; q.generate('never recorded', model='keyed')"],
        cwd=recorded, env={**env, "QLAYER_CACHE__MODE": "replay"},
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0
    assert "ReplayMiss" in done.stderr
    assert "MissingCredentials" not in done.stderr
