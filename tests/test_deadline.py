"""``timeout`` is a deadline for the whole call: retries, fallbacks, backoff and streaming."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

import quantumlayer_nb as qlayer
from quantumlayer_nb.config import reset_configuration
from quantumlayer_nb.errors import ProviderTimeout, RateLimitError
from quantumlayer_nb.routing.resilience import backoff_delay, reset_states
from quantumlayer_nb.testing import LoopbackServer, Reply

SLACK_S = 0.6  # what a call may overrun its timeout by on a busy machine


@pytest.fixture(autouse=True)
def _transport_loaded() -> None:
    """Load litellm and the HAP model first: one-off imports are not what is measured."""
    from quantumlayer_nb.llm._lazy import litellm_module
    from quantumlayer_nb.safety.hap import assess_hap

    litellm_module()
    assess_hap("print a greeting")


def write_project(project: Path, url: str, route: str, mid_extra: str = "") -> None:
    (project / "qlayer.toml").write_text(
        'project = "test"\nuser = "tester"\n'
        f'[deployments.mid]\nmodel = "openai/mid"\napi_base = "{url}"\n{mid_extra}\n'
        f'[deployments.strong]\nmodel = "openai/strong"\napi_base = "{url}"\n'
        f"[routes.coder]\n{route}\n"
    )
    reset_configuration()
    reset_states()


def test_retries_and_fallbacks_all_hanging_end_at_the_timeout(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url,
                  'deployments = ["mid", "strong"]\nretries = 2\nbackoff_base_s = 0.05')
    loopback_server.fail("hang", times=20, hang_seconds=10)
    started = time.perf_counter()
    with pytest.raises(ProviderTimeout, match=r"used up its 1\.5 s timeout") as caught:
        qlayer.generate("print a greeting", model="coder", timeout=1.5, cache=False)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.5 + SLACK_S
    assert "retries, fallbacks, backoff and streaming" in str(caught.value)


def test_async_retries_all_hanging_end_at_the_timeout(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url,
                  'deployments = ["mid", "strong"]\nretries = 2\nbackoff_base_s = 0.05')
    loopback_server.fail("hang", times=20, hang_seconds=10)
    started = time.perf_counter()
    with pytest.raises(ProviderTimeout):
        asyncio.run(qlayer.agenerate("print a greeting", model="coder", timeout=1.5,
                                     cache=False))
    assert time.perf_counter() - started < 1.5 + SLACK_S


def test_a_fallback_answers_in_what_is_left_of_the_timeout(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url, 'deployments = ["mid", "strong"]\nretries = 0',
                  mid_extra="timeout = 0.6")
    loopback_server.fail("hang", times=1, model="mid", hang_seconds=10)
    started = time.perf_counter()
    result = qlayer.generate("print a greeting", model="coder", timeout=2.5, cache=False)
    assert time.perf_counter() - started < 2.5
    assert result.deployment == "strong"
    assert [a.outcome for a in result.route_trace] == ["ProviderTimeout", "ok"]


def test_stream_with_slow_gaps_ends_at_the_timeout(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url, 'deployments = ["mid"]')
    loopback_server.queue(Reply(content="one two three four five six", chunk_delay_ms=600))
    started = time.perf_counter()
    stream = qlayer.generate("count", model="coder", stream=True, timeout=1.5, format="text",
                             cache=False)
    with pytest.raises(ProviderTimeout, match="timeout"):
        stream.result()
    assert time.perf_counter() - started < 1.5 + SLACK_S


def test_async_stream_with_slow_gaps_ends_at_the_timeout(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url, 'deployments = ["mid"]')
    loopback_server.queue(Reply(content="one two three four five six", chunk_delay_ms=600))

    async def read() -> None:
        stream = await qlayer.agenerate("count", model="coder", stream=True, timeout=1.5,
                                        format="text", cache=False)
        await stream.result()

    started = time.perf_counter()
    with pytest.raises(ProviderTimeout):
        asyncio.run(read())
    assert time.perf_counter() - started < 1.5 + SLACK_S


def test_stream_that_ends_in_time_is_unaffected(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url, 'deployments = ["mid"]')
    loopback_server.queue(Reply(content="one two three", chunk_delay_ms=50))
    stream = qlayer.generate("count", model="coder", stream=True, timeout=3, format="text",
                             cache=False)
    assert "".join(stream) == "one two three"


def test_retry_after_beyond_the_deadline_fails_at_once_saying_when_to_retry(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url, 'deployments = ["mid"]\nretries = 2')
    loopback_server.fail("rate_limit", times=3, retry_after_s=30)
    started = time.perf_counter()
    with pytest.raises(RateLimitError, match="retry after 30 s") as caught:
        qlayer.generate("print a greeting", model="coder", timeout=2, cache=False)
    assert time.perf_counter() - started < 1.0
    assert caught.value.retry_after == 30
    assert "2 s timeout" in str(caught.value)
    assert loopback_server.request_count == 1


def test_async_retry_after_beyond_the_deadline_fails_at_once(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url, 'deployments = ["mid"]\nretries = 2')
    loopback_server.fail("rate_limit", times=3, retry_after_s=30)
    started = time.perf_counter()
    with pytest.raises(RateLimitError, match="retry after 30 s"):
        asyncio.run(qlayer.agenerate("print a greeting", model="coder", timeout=2,
                                     cache=False))
    assert time.perf_counter() - started < 1.0


def test_retry_after_beyond_the_deadline_moves_on_to_a_fallback(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url, 'deployments = ["mid", "strong"]\nretries = 2')
    loopback_server.fail("rate_limit", times=1, model="mid", retry_after_s=30)
    result = qlayer.generate("print a greeting", model="coder", timeout=2, cache=False)
    assert result.deployment == "strong"
    assert loopback_server.request_count == 2


def test_retry_after_is_never_cut_to_backoff_max() -> None:
    assert all(backoff_delay(0, 0.1, 0.2, retry_after=1.0) >= 1.0 for _ in range(50))


def test_retry_after_longer_than_backoff_max_is_waited_for(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url,
                  'deployments = ["mid"]\nretries = 1\nbackoff_base_s = 0.01\nbackoff_max_s = 0.05')
    loopback_server.fail("rate_limit", times=1, retry_after_s=0.6)
    started = time.perf_counter()
    result = qlayer.generate("print a greeting", model="coder", timeout=5, cache=False)
    assert time.perf_counter() - started >= 0.6
    assert [a.outcome for a in result.route_trace] == ["RateLimitError", "ok"]


def test_an_attempt_gets_what_is_left_of_the_deadline_in_steady_values(project: Path) -> None:
    from quantumlayer_nb.config import get_settings
    from quantumlayer_nb.routing.resolve import resolve
    from quantumlayer_nb.routing.router import transport_params

    write_project(project, "http://127.0.0.1:9", 'deployments = ["mid"]')
    target = resolve("mid", get_settings())
    fresh = transport_params({"timeout": 120}, target, remaining_s=119.9993)
    assert (fresh["total_timeout"], fresh["deadline_bound"]) == (120, False)  # one HTTP client
    late = transport_params({"timeout": 120}, target, remaining_s=3.0471)
    assert (late["total_timeout"], late["deadline_bound"]) == (3.0, True)
