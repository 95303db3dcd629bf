"""litellm's success logging: skipped only when no litellm callback would read it.

A user who configured a litellm callback (a logger of their own, an observability
integration) still gets every call through ``qlayer.generate``, blocking and async; with
none configured the call, its cost and its ledger line are the same.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import quantumlayer_nb as qlayer
from quantumlayer_nb.ledger import events
from quantumlayer_nb.llm._lazy import litellm_module


class _Recorder:
    """A litellm CustomLogger that counts the successes it is told about."""

    def __init__(self) -> None:
        from litellm.integrations.custom_logger import CustomLogger

        recorder = self

        class Logger(CustomLogger):  # type: ignore[misc]
            def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                                  end_time: Any) -> None:
                recorder.seen.append(response_obj)

            async def async_log_success_event(self, kwargs: Any, response_obj: Any,
                                              start_time: Any, end_time: Any) -> None:
                recorder.seen.append(response_obj)

        self.seen: list[Any] = []
        self.logger = Logger()


def _wait_for(condition: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()  # type: ignore[no-any-return]


@pytest.fixture
def user_callback() -> Any:
    litellm = litellm_module()
    recorder = _Recorder()
    litellm.callbacks = [recorder.logger]
    try:
        yield recorder
    finally:
        litellm.callbacks = []


def test_a_users_litellm_callback_sees_every_blocking_call(loop_project: Path,
                                                           user_callback: Any) -> None:
    for i in range(3):
        qlayer.generate(f"print the number {i}", model="loop", cache=False)
    assert _wait_for(lambda: len(user_callback.seen) >= 3), user_callback.seen


ASYNC_SCRIPT = """
import asyncio, os
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
import quantumlayer_nb as qlayer
from quantumlayer_nb.llm._lazy import litellm_module
from litellm.integrations.custom_logger import CustomLogger
seen = []
class Logger(CustomLogger):
    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        seen.append(response_obj)
litellm_module().callbacks = [Logger()]
async def main():
    for i in range(3):
        await qlayer.agenerate(f"print the square of {i}", model="loop", cache=False)
    for _ in range(200):
        if len(seen) >= 3:
            break
        await asyncio.sleep(0.05)
asyncio.run(main())
print(len(seen))
"""


def test_a_users_litellm_callback_sees_every_async_call(loop_project: Path) -> None:
    """In a process of its own, as a notebook's kernel runs one event loop throughout."""
    done = subprocess.run([sys.executable, "-c", ASYNC_SCRIPT], cwd=loop_project,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "3", done.stdout


def test_without_callbacks_the_call_its_cost_and_its_ledger_line_are_whole(
        loop_project: Path) -> None:
    from litellm._internal_context import is_internal_call

    result = qlayer.generate("print a greeting", model="loop", cache=False)
    assert result.cost_usd is not None
    assert result.cost_usd > 0
    assert result.tokens_in
    assert is_internal_call.get() is False  # the switch is set for the call only
    rows = events(loop_project / ".qlayer").filter("kind = 'call'").fetchall()
    assert len(rows) == 1
