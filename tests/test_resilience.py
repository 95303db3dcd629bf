"""Retries with backoff, circuit breakers, timeouts, rate limits and concurrency caps."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

import quantumlayer_nb as qlayer
from quantumlayer_nb.config import get_settings
from quantumlayer_nb.errors import BadRequestError
from quantumlayer_nb.routing.resilience import (
    CircuitBreaker,
    TokenBucket,
    backoff_delay,
    reset_states,
    state_for,
)
from quantumlayer_nb.testing import LoopbackServer


def write_project(project: Path, url: str, route: str, mid_extra: str = "") -> None:
    (project / "qlayer.toml").write_text(
        'project = "test"\nuser = "tester"\n'
        f'[deployments.mid]\nmodel = "openai/mid"\napi_base = "{url}"\n{mid_extra}\n'
        f'[deployments.strong]\nmodel = "openai/strong"\napi_base = "{url}"\n'
        f"[routes.coder]\n{route}\n"
    )
    reset_states()


def test_backoff_stays_within_full_jitter_bounds() -> None:
    delays = [backoff_delay(3, 0.5, 20.0) for _ in range(500)]
    assert all(0 <= d <= 4.0 for d in delays)
    assert max(delays) > 2.0  # full jitter spreads over the whole range


def test_backoff_never_undercuts_retry_after() -> None:
    assert all(backoff_delay(0, 0.1, 20.0, retry_after=1.5) >= 1.5 for _ in range(100))


def test_rate_limit_is_retried_after_retry_after(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url, 'deployments = ["mid"]\nretries = 1\n'
                  "backoff_base_s = 0.01")
    loopback_server.fail("rate_limit", times=1, retry_after_s=0.4)
    started = time.perf_counter()
    result = qlayer.generate("print a greeting", model="coder", cache=False)
    assert time.perf_counter() - started >= 0.4
    assert [a.outcome for a in result.route_trace] == ["RateLimitError", "ok"]
    assert result.route_trace[1].reason.endswith("retry 1")


def test_bad_request_is_never_retried(project: Path, loopback_server: LoopbackServer) -> None:
    write_project(project, loopback_server.url, 'deployments = ["mid", "strong"]\nretries = 3')
    loopback_server.fail("bad_request", times=1)
    with pytest.raises(BadRequestError):
        qlayer.generate("print a greeting", model="coder", cache=False)
    assert loopback_server.request_count == 1


def test_circuit_opens_on_failure_rate() -> None:
    breaker = CircuitBreaker(window=10, min_calls=4, threshold=0.5, cooldown_s=60)
    for _ in range(2):
        breaker.record_success()
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state == "open"
    assert breaker.allow() is False


def test_half_open_lets_one_probe_through() -> None:
    breaker = CircuitBreaker(min_calls=1, threshold=0.5, cooldown_s=0.05)
    breaker.record_failure()
    time.sleep(0.06)
    assert [breaker.allow(), breaker.allow()] == [True, False]
    breaker.record_success()
    assert breaker.state == "closed"


def test_open_circuit_is_skipped_without_a_request(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url, 'deployments = ["mid", "strong"]\nretries = 0')
    settings = get_settings()
    breaker = state_for("mid", settings.deployments["mid"]).breaker
    for _ in range(breaker.min_calls):
        breaker.record_failure()
    result = qlayer.generate("print a greeting", model="coder", cache=False)
    assert result.deployment == "strong"
    assert [r["model"] for r in loopback_server.requests] == ["strong"]


def test_hanging_deployment_times_out_and_falls_back(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url, 'deployments = ["mid", "strong"]\nretries = 0',
                  "timeout = 0.5")
    loopback_server.fail("hang", times=1, model="mid", hang_seconds=3)
    started = time.perf_counter()
    result = qlayer.generate("print a greeting", model="coder", cache=False)
    assert time.perf_counter() - started < 2.0
    assert [a.outcome for a in result.route_trace] == ["ProviderTimeout", "ok"]


def test_blocking_attempt_ends_within_its_total_timeout(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url, 'deployments = ["mid", "strong"]\nretries = 0',
                  "timeout = 0.5")
    loopback_server.fail("hang", times=1, model="mid", hang_seconds=3)
    result = qlayer.generate("print a greeting", model="coder", cache=False)
    assert result.route_trace[0].outcome == "ProviderTimeout"
    assert result.route_trace[0].latency_ms <= 500


def test_async_attempt_ends_within_its_total_timeout(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url, 'deployments = ["mid", "strong"]\nretries = 0',
                  "timeout = 0.5")
    loopback_server.fail("hang", times=1, model="mid", hang_seconds=3)
    result = asyncio.run(qlayer.agenerate("print a greeting", model="coder", cache=False))
    assert result.route_trace[0].outcome == "ProviderTimeout"
    assert result.route_trace[0].latency_ms <= 500


def test_forked_child_does_not_inherit_a_held_routing_lock() -> None:
    import os
    import threading

    from quantumlayer_nb.routing import resilience

    held, release = threading.Event(), threading.Event()

    def hold() -> None:  # another thread is inside the routing state when the fork happens
        with resilience._states_lock:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    try:
        pid = os.fork()
        if pid == 0:  # the child: a batch worker would take this lock first thing
            os._exit(0 if resilience._states_lock.acquire(timeout=2) else 1)
        _, status = os.waitpid(pid, 0)
    finally:
        release.set()
        holder.join()
    assert os.waitstatus_to_exitcode(status) == 0


def test_token_bucket_makes_callers_wait() -> None:
    bucket = TokenBucket(per_minute=120)  # 2 per second, burst 120
    for _ in range(120):
        assert bucket.try_take() == 0
    assert bucket.try_take() == pytest.approx(0.5, abs=0.05)


def test_rpm_limit_spaces_calls(project: Path, loopback_server: LoopbackServer) -> None:
    write_project(project, loopback_server.url, 'deployments = ["mid"]', "rpm = 120")
    state = state_for("mid", get_settings().deployments["mid"])
    assert state.requests is not None
    state.requests.try_take(120)  # drain the burst: the next calls get 2 per second
    started = time.perf_counter()
    for _ in range(2):
        qlayer.generate("print a greeting", model="coder", cache=False)
    assert time.perf_counter() - started >= 0.9


def test_max_concurrent_caps_calls_in_flight(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url, 'deployments = ["mid"]', "max_concurrent = 1")
    loopback_server.configure(latency_ms=150)

    async def four() -> None:
        await asyncio.gather(*(qlayer.agenerate(f"task {i}", model="coder", cache=False)
                               for i in range(4)))

    started = time.perf_counter()
    asyncio.run(four())
    assert time.perf_counter() - started >= 0.6


def test_stream_falls_back_before_its_first_token(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url, 'deployments = ["mid", "strong"]')
    loopback_server.fail("server_error", times=1, model="mid")
    stream = qlayer.generate("count to three", model="coder", stream=True, cache=False)
    result = stream.result()
    assert result.deployment == "strong"
    assert [a.outcome for a in result.route_trace] == ["ProviderUnavailable", "ok"]


def test_connect_and_first_token_timeouts_reach_the_transport(
    project: Path, loopback_server: LoopbackServer
) -> None:
    from quantumlayer_nb.routing.router import transport_params

    write_project(project, loopback_server.url, 'deployments = ["mid"]',
                  "timeout = 5\nconnect_timeout = 0.5\nfirst_token_timeout = 0.4")
    target = qlayer.generate("print a greeting", model="coder", cache=False)
    assert target.deployment == "mid"
    from quantumlayer_nb.routing.resolve import resolve

    params = transport_params({"timeout": 60}, resolve("mid", get_settings()), streaming=True)
    assert (params["timeout"].connect, params["timeout"].read) == (0.5, 0.4)
    assert params["total_timeout"] == 5


def test_first_token_timeout_bounds_a_hanging_stream(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url, 'deployments = ["mid", "strong"]',
                  "first_token_timeout = 0.5")
    loopback_server.fail("hang", times=1, model="mid", hang_seconds=3)
    started = time.perf_counter()
    result = qlayer.generate("count", model="coder", stream=True, cache=False).result()
    assert time.perf_counter() - started < 2.0
    assert result.deployment == "strong"
