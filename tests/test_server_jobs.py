"""Job records and cancel: batches and evaluations seen (and stopped) from another process."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _server_helpers import SERVER_CONFIG, Api

import quantumlayer_nb as qlayer
from quantumlayer_nb.jobs import JobCancelFlag, JobRecord, effective_status, jobs_dir
from quantumlayer_nb.testing import LoopbackServer

pytest_plugins = ["pytest_jupyter.jupyter_server"]

BATCH_SCRIPT = """
import quantumlayer_nb as q
results = q.generate_many([f"item {i}" for i in range(40)], concurrency=2, cache=False)
print(sum(isinstance(r, q.Generation) for r in results), flush=True)
"""


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return SERVER_CONFIG


@pytest.fixture
def jp_root_dir(loop_project: Path) -> Path:
    return loop_project


@pytest.fixture
def api(jp_fetch: Any, jp_asyncio_loop: Any) -> Api:
    return Api(jp_fetch, jp_asyncio_loop)


@pytest.fixture
def data_dir(loop_project: Path) -> Path:
    return loop_project / ".qlayer"


def records(data_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(jobs_dir(data_dir).glob("*.json"))]


@pytest.fixture
def batch_process(loop_project: Path) -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def start_batch(loop_project: Path, started: list[subprocess.Popen[str]],
                script: str = BATCH_SCRIPT) -> subprocess.Popen[str]:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    process = subprocess.Popen([sys.executable, "-c", script], cwd=loop_project, env=env,
                               stdout=subprocess.PIPE, text=True)
    started.append(process)
    return process


def wait_for_running_job(api: Api, at_least: int, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for job in api.get("jobs")["jobs"]:
            if job["status"] == "running" and job["done"] >= at_least:
                return job
        time.sleep(0.1)
    raise AssertionError(f"no running job with {at_least} items done within {timeout} s")


# --- the record ----------------------------------------------------------------------------

def test_a_batch_writes_its_record_at_start_and_at_the_end(loop_project: Path,
                                                          data_dir: Path) -> None:
    results = qlayer.generate_many([f"print {i}" for i in range(5)], concurrency=2,
                                   cache=False)
    assert all(isinstance(r, qlayer.Generation) for r in results)
    (record,) = records(data_dir)
    assert record["kind"] == "batch"
    assert (record["done"], record["total"], record["passed"], record["failed"]) == (5, 5, 5, 0)
    assert record["status"] == "done"
    assert record["pid"] == os.getpid()
    assert record["cost_usd"] > 0
    assert record["eta_s"] is None
    assert record["updated"] >= record["started"]
    assert "batch of 5 prompts" in record["title"]


def test_an_async_batch_writes_one_record(loop_project: Path, data_dir: Path) -> None:
    import asyncio

    asyncio.run(qlayer.agenerate_many(["a", "b"], concurrency=2, cache=False))
    assert [(r["done"], r["status"]) for r in records(data_dir)] == [(2, "done")]


def test_a_caller_callback_still_sees_every_item(loop_project: Path) -> None:
    seen: list[tuple[int, int]] = []
    qlayer.generate_many(["a", "b", "c"], on_progress=lambda d, t, _: seen.append((d, t)),
                         cache=False)
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_a_running_record_is_rewritten_at_most_once_a_second(tmp_path: Path) -> None:
    job = JobRecord(tmp_path, "batch", "t", total=1000).start()
    first = job.path.stat().st_ino
    inodes = {first}
    started = time.monotonic()
    for _ in range(200):  # every os.replace gives the record a new inode
        job.update(passed=True, cost_usd=0.001)
        inodes.add(job.path.stat().st_ino)
    assert time.monotonic() - started < 0.9
    assert len(inodes) == 1
    time.sleep(1.0)
    job.update(passed=True)
    record = json.loads(job.path.read_text())
    assert record["done"] == job.done
    assert record["done"] == 201
    assert record["eta_s"] > 0


def test_the_cancel_flag_is_looked_for_at_most_every_0_2_seconds(tmp_path: Path) -> None:
    flag = JobCancelFlag(tmp_path / "x.cancel")
    assert not flag.is_set()
    (tmp_path / "x.cancel").touch()
    assert not flag.is_set()  # looked 0 s ago: not again yet
    time.sleep(0.21)
    assert flag.is_set()
    assert flag.by_flag


def test_the_cancel_flag_follows_the_callers_own_event(tmp_path: Path) -> None:
    import threading

    own = threading.Event()
    flag = JobCancelFlag(tmp_path / "x.cancel", linked=own)
    assert not flag.is_set()
    own.set()
    assert flag.is_set()


def test_a_running_record_whose_process_is_gone_is_stopped(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    record = {"id": "x", "status": "running", "pid": gone.pid}
    assert effective_status(record) == "stopped"
    assert effective_status({**record, "pid": os.getpid()}) == "running"
    assert effective_status({**record, "status": "done"}) == "done"


# --- through the server --------------------------------------------------------------------

def test_jobs_lists_a_stopped_job_for_a_killed_batch(api: Api, loop_project: Path,
                                                   loopback_server: LoopbackServer,
                                                   batch_process: list[Any]) -> None:
    loopback_server.configure(latency_ms=200)
    process = start_batch(loop_project, batch_process)
    job = wait_for_running_job(api, at_least=1)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    (shown,) = [j for j in api.get("jobs")["jobs"] if j["id"] == job["id"]]
    assert shown["status"] == "stopped"
    code, body = api.status(f"jobs/{job['id']}/cancel", method="POST", body=b"")
    assert code == 409
    assert "stopped" in body["error"]


def test_cancel_through_the_server_stops_a_batch_in_another_process_within_a_second(
        api: Api, loop_project: Path, loopback_server: LoopbackServer,
        batch_process: list[Any]) -> None:
    loopback_server.configure(latency_ms=300)
    process = start_batch(loop_project, batch_process)
    job = wait_for_running_job(api, at_least=2)
    code, body = api.status(f"jobs/{job['id']}/cancel", method="POST", body=b"")
    cancelled_at = time.time()
    assert (code, body) == (202, {"id": job["id"], "status": "cancelling"})
    out, _ = process.communicate(timeout=60)
    requests = loopback_server.requests
    late = [r for r in requests if r["timestamp"] > cancelled_at + 1.0]
    assert late == []
    assert len(requests) < 40
    assert int(out.strip()) == len(requests)  # calls in flight finished and were kept
    (shown,) = [j for j in api.get("jobs")["jobs"] if j["id"] == job["id"]]
    assert shown["status"] == "cancelled"
    assert shown["done"] == len(requests)
    assert not (jobs_dir(loop_project / ".qlayer") / f"{job['id']}.cancel").exists()


def test_cancel_through_the_server_stops_a_batch_spread_over_worker_processes(
        api: Api, loop_project: Path, loopback_server: LoopbackServer,
        batch_process: list[Any]) -> None:
    loopback_server.configure(latency_ms=300)
    script = BATCH_SCRIPT.replace("concurrency=2,", "concurrency=2, workers=2,")
    process = start_batch(loop_project, batch_process, script)
    job = wait_for_running_job(api, at_least=2)
    code, _ = api.status(f"jobs/{job['id']}/cancel", method="POST", body=b"")
    cancelled_at = time.time()
    assert code == 202
    out, _ = process.communicate(timeout=60)
    requests = loopback_server.requests
    assert [r for r in requests if r["timestamp"] > cancelled_at + 1.0] == []
    assert len(requests) < 40
    assert int(out.strip()) == len(requests)


def test_cancelling_an_unknown_job_is_a_404(api: Api) -> None:
    code, body = api.status("jobs/nosuchjob/cancel", method="POST", body=b"")
    assert code == 404
    assert "GET /qlayer/api/jobs" in body["error"]
    code, _ = api.status("jobs/..%2F..%2Fetc/cancel", method="POST", body=b"")
    assert code == 404


def test_cancelling_a_finished_job_is_a_409(api: Api, loop_project: Path) -> None:
    qlayer.generate_many(["x"], cache=False)
    (job,) = api.get("jobs")["jobs"]
    assert job["status"] == "done"
    code, body = api.status(f"jobs/{job['id']}/cancel", method="POST", body=b"")
    assert (code, body["status"]) == (409, "done")


# --- evaluations ---------------------------------------------------------------------------

def test_an_evaluation_writes_a_job_record_with_passed_and_failed(
        loop_project: Path, loopback_server: LoopbackServer) -> None:
    from quantumlayer_nb.eval import Suite, evaluate

    with (loop_project / "qlayer.toml").open("a") as toml:
        toml.write('[cache]\nmode = "off"\n')
    suite = Suite("jobs")
    for name, body, right in (("inc", "x + 1", True), ("dec", "x + 1", False)):
        suite.add(f"Write {name}(x).", f"assert {name}(3) == {4 if right else 2}", id=name)
        loopback_server.add_rule(re.escape(f"Write {name}("),
                                 f"```python\ndef {name}(x):\n    return {body}\n```")
    data_dir = loop_project / ".qlayer"
    report = evaluate(suite, models=["loop"], data_dir=data_dir)
    assert report is not None
    (record,) = records(data_dir)
    assert record["kind"] == "eval"
    assert (record["done"], record["total"], record["passed"], record["failed"]) == (2, 2, 1, 1)
    assert record["status"] == "done"
    assert record["title"].startswith("eval jobs")
