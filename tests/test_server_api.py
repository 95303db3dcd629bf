"""The server extension's REST API, through a real Jupyter server (pytest-jupyter's jp_fetch)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import tornado.web
from _server_helpers import REPO, SERVER_CONFIG, Api, at, call_event, write_events
from tornado.httpclient import HTTPClientError

from quantumlayer_nb.jupyter.server.handlers import ServerState, handlers
from quantumlayer_nb.jupyter.server.openapi import openapi_text
from quantumlayer_nb.jupyter.server.readers import LedgerReader
from quantumlayer_nb.testing import LoopbackServer

pytest_plugins = ["pytest_jupyter.jupyter_server"]

ENDPOINTS = ["summary", "calls", "jobs", "models", "evaluations", "openapi.json"]
TOML = ('project = "test"\nuser = "tester"\ndefault_route = "loop"\n'
        '[deployments.loop]\nmodel = "openai/gpt-4o-mini"\napi_base = "http://127.0.0.1:9"\n')


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return SERVER_CONFIG


@pytest.fixture
def jp_root_dir(project: Path) -> Path:
    """The server's root_dir is the project folder (its qlayer.toml names the project)."""
    (project / "qlayer.toml").write_text(TOML)
    return project


@pytest.fixture
def data_dir(jp_root_dir: Path) -> Path:
    return jp_root_dir / ".qlayer"


@pytest.fixture
def api(jp_fetch: Any, jp_asyncio_loop: Any) -> Api:
    return Api(jp_fetch, jp_asyncio_loop)


# --- authentication ------------------------------------------------------------------------

@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_every_endpoint_refuses_a_request_without_a_token(api: Api,
                                                                 endpoint: str) -> None:
    code, _ = api.status(endpoint, headers={"Authorization": ""})
    assert code == 403


def test_cancel_refuses_a_request_without_a_token(api: Api) -> None:
    code, _ = api.status("jobs/abc/cancel", method="POST", body=b"",
                              headers={"Authorization": ""})
    assert code == 403


def test_a_wrong_token_is_refused(api: Api) -> None:
    code, _ = api.status("summary", headers={"Authorization": "token nope"})
    assert code == 403


def test_every_handler_method_is_authenticated(tmp_path: Path) -> None:
    """Fails if any HTTP method of any handler under /qlayer/api/ lacks @authenticated."""
    wrapper_code = tornado.web.authenticated(lambda self: None).__code__  # type: ignore[arg-type]
    methods = ("get", "post", "put", "patch", "delete", "head", "options")
    checked = 0
    for _, handler, _ in handlers("/", ServerState(tmp_path)):
        for name in methods:
            method = handler.__dict__.get(name)
            if method is None:
                continue
            checked += 1
            assert method.__code__ is wrapper_code, f"{handler.__name__}.{name}: not authenticated"
            assert callable(method.__wrapped__)
    assert checked >= 8


# --- bad parameters ------------------------------------------------------------------------

@pytest.mark.parametrize(("endpoint", "params", "says"), [
    ("calls", {"limit": "0"}, "between 1 and 500"),
    ("calls", {"limit": "abc"}, "whole number"),
    ("calls", {"limit": "1e9"}, "whole number"),
    ("calls", {"offset": "-1"}, "between 0"),
    ("calls", {"since": "yesterday"}, "ISO 8601"),
    ("calls", {"until": "nan"}, "unix seconds"),
    ("calls", {"colour": "red"}, "accepted: limit, offset, model"),
    ("models", {"window_s": "0"}, "between 1 and"),
    ("models", {"window_s": "inf"}, "out of range"),
    ("evaluations", {"limit": "1001"}, "between 1 and 1000"),
    ("summary", {"x": "1"}, "accepted: none"),
    ("jobs", {"limit": "1"}, "accepted: none"),
])
def test_a_bad_query_parameter_is_a_400_saying_what_is_accepted(
        api: Api, endpoint: str, params: dict[str, str], says: str) -> None:
    code, body = api.status(endpoint, params=params)
    assert code == 400
    assert says in body["error"]


def test_a_repeated_parameter_is_a_400(api: Api, jp_base_url: str, http_server_client: Any,
                                       jp_auth_header: dict[str, str]) -> None:
    async def fetch() -> Any:
        return await http_server_client.fetch(
            f"{jp_base_url}qlayer/api/calls?limit=1&limit=2", headers=jp_auth_header)

    with pytest.raises(HTTPClientError) as caught:
        api.loop.run_until_complete(fetch())
    assert caught.value.code == 400
    assert b"at most once" in caught.value.response.body


def test_prompt_search_without_store_prompts_is_a_400(api: Api) -> None:
    code, body = api.status("calls", params={"q": "sort"})
    assert code == 400
    assert "store_prompts" in body["error"]


def test_empty_values_mean_not_given(api: Api, data_dir: Path) -> None:
    write_events(data_dir, [call_event(i) for i in range(3)])
    body = api.get("calls", limit="50", offset="0", model="", outcome="",
                     notebook="", run="", since="", until="", q="")
    assert body["total"] == 3


def test_an_unknown_endpoint_is_a_json_404(api: Api) -> None:
    code, body = api.status("nothing-here")
    assert code == 404
    assert "summary, calls, jobs" in body["error"]


# --- calls: paging and filters -------------------------------------------------------------

def test_calls_page_newest_first(api: Api, data_dir: Path) -> None:
    write_events(data_dir, [call_event(i, ts=at(100 - i)) for i in range(25)])
    body = api.get("calls", limit="10", offset="10")
    assert body["total"] == 25
    assert [c["call_id"] for c in body["calls"]] == [f"call-{i:06d}" for i in range(14, 4, -1)]
    last = api.get("calls", limit="10", offset="20")
    assert [c["call_id"] for c in last["calls"]] == [f"call-{i:06d}" for i in range(4, -1, -1)]


def test_calls_filter_by_model_outcome_notebook_run_and_time(api: Api,
                                                                   data_dir: Path) -> None:
    write_events(data_dir, [
        call_event(1, ts=at(50), notebook="work/a.ipynb", run_id="r1"),
        call_event(2, ts=at(40), notebook="work/b.ipynb", model_served="claude-3-haiku",
                   deployment="other", model_requested="other"),
        call_event(3, ts=at(30), outcome="error", error_class="ProviderTimeout",
                   error_message="timed out", cost_usd=0.0, notebook="work/a.ipynb"),
        call_event(4, ts=at(10), run_id="r1"),
    ])

    def ids(**params: str) -> list[str]:
        body = api.get("calls", **params)
        assert body["total"] == len(body["calls"])
        return [c["call_id"][-1] for c in body["calls"]]

    assert ids(model="other") == ["2"]
    assert ids(model="gpt-4o-mini") == ["4", "3", "1"]
    assert ids(outcome="error") == ["3"]
    assert ids(notebook="a.ipynb") == ["3", "1"]
    assert ids(notebook="work/b.ipynb") == ["2"]
    assert ids(run="r1") == ["4", "1"]
    assert ids(since=at(35), until=at(5)) == ["4", "3"]
    assert ids(run="r1", since=at(20)) == ["4"]


def test_a_call_shows_its_route_trace_tokens_cost_and_error(api: Api,
                                                                 data_dir: Path) -> None:
    write_events(data_dir, [
        call_event(7, attempt=0, deployment="primary", outcome="error", cost_usd=0.0,
                   error_class="RateLimitError", error_message="429 slow down",
                   latency_ms=12.0, data={"reason": "priority 1"}),
        call_event(7, attempt=1, deployment="backup", latency_ms=230.0, cost_usd=0.002,
                   tokens_estimated=True, notebook="n.ipynb",
                   data={"reason": "priority 2", "metadata": {"cell": 4}}),
    ])
    (call,) = (api.get("calls"))["calls"]
    assert call["deployment"] == "backup"
    assert call["outcome"] == "ok"
    assert call["tokens_estimated"] is True
    assert call["cost_usd"] == pytest.approx(0.002)
    assert call["cell"] == "4"
    assert [(t["deployment"], t["reason"], t["outcome"]) for t in call["route_trace"]] == [
        ("primary", "priority 1", "error"), ("backup", "priority 2", "ok")]


def test_a_semantic_cache_hit_shows_what_it_was_similar_to(api: Api,
                                                                data_dir: Path) -> None:
    write_events(data_dir, [call_event(
        9, kind="cache_hit", outcome="cache_hit", deployment=None, cost_usd=0.0,
        saved_usd=0.004, data={"cache_kind": "semantic", "similar_to": "sort a list"})])
    (call,) = (api.get("calls"))["calls"]
    assert (call["cached"], call["cache_kind"], call["similar_to"]) == (
        True, "semantic", "sort a list")
    summary = api.get("summary")
    assert summary["cache_hits_today"] == 1
    assert summary["cache_saved_usd_today"] == pytest.approx(0.004)


# --- summary, models, evaluations ----------------------------------------------------------

def test_summary_adds_up_spend_and_reads_budgets_from_the_store(
        api: Api, jp_root_dir: Path, data_dir: Path) -> None:
    (jp_root_dir / "qlayer.toml").write_text(
        TOML + '[[budgets]]\nscope = "project"\nlimit_usd = 1.0\nperiod = "month"\n'
        '[[budgets]]\nscope = "user"\nlimit_usd = 0.5\nperiod = "day"\nkind = "soft"\n')
    from quantumlayer_nb.config import load_settings
    from quantumlayer_nb.routing import budget

    settings = load_settings(jp_root_dir)
    held = budget.reserve(settings, None, 0.25)
    budget.commit(held, 0.2)
    budget.reserve(settings, None, 0.05)
    write_events(data_dir, [call_event(i) for i in range(4)] + [
        call_event(99, ts="2020-01-01T00:00:00+00:00", cost_usd=5.0)])
    summary = api.get("summary")
    assert (summary["project"], summary["user"]) == ("test", "tester")
    assert summary["spend"]["today_usd"] == pytest.approx(0.004)
    assert summary["calls_today"] == 4
    by_scope = {b["scope"]: b for b in summary["budgets"]}
    assert by_scope["project"]["spent_usd"] == pytest.approx(0.2)
    assert by_scope["project"]["reserved_usd"] == pytest.approx(0.05)
    assert by_scope["project"]["fraction"] == pytest.approx(0.25)
    assert by_scope["project"]["hard"] is True
    assert by_scope["user"]["soft_limit_usd"] == 0.5
    assert by_scope["user"]["hard"] is False
    assert [(m["model"], m["calls"]) for m in summary["cost_by_model"]] == [("gpt-4o-mini", 4)]


def test_models_show_latency_errors_rate_limits_and_a_hint(api: Api,
                                                                data_dir: Path) -> None:
    events = [call_event(i, latency_ms=float(100 * (i + 1))) for i in range(10)]
    events += [call_event(20 + i, outcome="error", error_class="RateLimitError",
                          error_message="429 Too Many Requests", cost_usd=0.0)
               for i in range(2)]
    events.append(call_event(40, ts=at(600), outcome="error", error_class="ProviderTimeout"))
    write_events(data_dir, events)
    (loop,) = [m for m in (api.get("models"))["models"] if m["deployment"] == "loop"]
    assert loop["model"] == "openai/gpt-4o-mini"
    assert loop["calls"] == 12
    assert loop["p50_ms"] == pytest.approx(550.0)
    assert loop["p90_ms"] == pytest.approx(910.0)
    assert loop["error_rate"] == pytest.approx(2 / 12, abs=1e-6)
    assert loop["rate_limited"] == 2
    assert loop["last_error"] == "429 Too Many Requests"
    assert "rate limiting" in loop["last_error_hint"]
    assert loop["circuit"] == "closed"
    wide = api.get("models", window_s="86400")
    assert [m["calls"] for m in wide["models"] if m["deployment"] == "loop"] == [13]


def test_evaluations_show_pass_at_k_and_cost_per_model(api: Api,
                                                            data_dir: Path) -> None:
    def sample(model: str, task: str, index: int, passed: bool) -> dict[str, Any]:
        return {"kind": "eval_sample", "run_id": "run1", "model_requested": model,
                "cost_usd": 0.01, "outcome": "passed" if passed else "failed",
                "data": {"suite": "demo", "task_id": task, "sample": index, "final": True,
                         "passed": passed}}

    write_events(data_dir, [sample("a", "t1", 0, True), sample("a", "t1", 1, False),
                            sample("a", "t2", 0, False), sample("a", "t2", 1, False),
                            sample("b", "t1", 0, True), sample("b", "t1", 1, True)])
    (run,) = (api.get("evaluations"))["evaluations"]
    assert (run["eval_id"], run["suite"]) == ("run1", "demo")
    by_model = {m["model"]: m for m in run["models"]}
    assert by_model["a"]["pass_at"] == {"1": 0.25, "2": 0.5}
    assert by_model["b"]["pass_at"] == {"1": 1.0, "2": 1.0}
    assert by_model["a"]["cost_usd"] == pytest.approx(0.04)
    assert by_model["a"]["samples"] == 4


def test_the_served_openapi_document_is_the_one_in_docs(api: Api) -> None:
    served = api.get("openapi.json")
    assert served["openapi"].startswith("3.")
    assert set(served["paths"]) == {f"/qlayer/api/{e}" for e in ENDPOINTS} | {
        "/qlayer/api/jobs/{id}/cancel"}
    assert (REPO / "docs" / "openapi.json").read_text() == openapi_text()


# --- reading incrementally, while other processes write ------------------------------------

def test_the_reader_parses_only_new_complete_lines(tmp_path: Path) -> None:
    write_events(tmp_path, [call_event(i) for i in range(5)])
    reader = LedgerReader(tmp_path, min_interval_s=0)
    assert reader.refresh() == 7  # segment_open, 5 calls, segment_close
    assert reader.refresh() == 0
    segment = next((tmp_path / "ledger").glob("*.jsonl"))
    line = json.dumps({**call_event(50), "ts": at(0)})
    other = segment.with_name("20990101T000000-otherhost-1-abcdef.jsonl")
    other.write_text(line + "\n" + line[:40])  # a second line still being written
    assert reader.refresh() == 1
    with other.open("a") as handle:
        handle.write(line[40:] + "\n")
    assert reader.refresh() == 1
    assert reader.events_read == 9


def test_a_closed_segment_is_not_read_again(tmp_path: Path) -> None:
    write_events(tmp_path, [call_event(1)])
    reader = LedgerReader(tmp_path, min_interval_s=0)
    reader.refresh()
    segment = next((tmp_path / "ledger").glob("*.jsonl"))
    with segment.open("a") as handle:  # nothing legitimate writes after segment_close
        handle.write(json.dumps(call_event(2)) + "\n")
    assert reader.refresh() == 0


def test_two_processes_writing_while_the_server_reads(
        api: Api, jp_root_dir: Path, loopback_server: LoopbackServer) -> None:
    (jp_root_dir / "qlayer.toml").write_text(TOML.replace("http://127.0.0.1:9",
                                                          loopback_server.url))
    loopback_server.configure(latency_ms=20)
    script = ("import sys, quantumlayer_nb as q\n"
              "for i in range(15):\n"
              "    q.generate(f'process {sys.argv[1]} prompt {i}', cache=False)\n")
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    writers = [subprocess.Popen([sys.executable, "-c", script, str(n)], cwd=jp_root_dir,
                                env=env) for n in range(2)]
    seen: list[int] = []
    deadline = time.monotonic() + 120
    while any(w.poll() is None for w in writers) and time.monotonic() < deadline:
        seen.append((api.get("summary"))["calls_today"])
        time.sleep(0.3)
    assert [w.wait(timeout=60) for w in writers] == [0, 0]
    final = api.get("summary")
    assert final["calls_today"] == 30
    assert seen == sorted(seen)  # counts only grow, read as they were written
    calls = api.get("calls", limit="500")
    assert calls["total"] == 30
    assert {c["outcome"] for c in calls["calls"]} == {"ok"}


# --- loading -------------------------------------------------------------------------------

def test_import_quantumlayer_nb_stays_light_and_names_the_extension() -> None:
    code = ("import sys, quantumlayer_nb as q\n"
            "points = q._jupyter_server_extension_points()\n"
            "heavy = [m for m in ('jupyter_server', 'tornado', 'litellm', 'duckdb') "
            "if m in sys.modules]\n"
            "print(points, heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[{'module': 'quantumlayer_nb.jupyter.server'}] []"


def test_loading_the_extension_imports_no_litellm_duckdb_or_models() -> None:
    code = ("import sys\n"
            "import quantumlayer_nb.jupyter.server.handlers\n"
            "print([m for m in ('litellm', 'duckdb', 'qdrant_client', 'wordllama') "
            "if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_the_config_file_enables_the_extension_and_it_validates(tmp_path: Path) -> None:
    # Installed, the file lands in a jupyter_server_config.d/ folder (wheel shared-data);
    # here that folder is the user's config dir, one of those `extension list` shows.
    installed = tmp_path / "config" / "jupyter_server_config.d"
    installed.mkdir(parents=True)
    source = REPO / "jupyter-config" / "server-config" / "quantumlayer_nb.json"
    (installed / "quantumlayer_nb.json").write_text(source.read_text())
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(installed.parent)}
    result = subprocess.run([sys.executable, "-m", "jupyter_server", "extension", "list"],
                            capture_output=True, text=True, env=env, check=True)
    listing = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    assert "quantumlayer_nb enabled" in listing
    assert re.search(r"quantumlayer_nb \S* ?OK", listing), listing
