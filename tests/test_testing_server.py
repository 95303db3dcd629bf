"""Behaviour of the loopback OpenAI-compatible server (quantumlayer_nb.testing)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http.client
import json
import math
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from quantumlayer_nb.testing import (
    DEFAULT_REPLY,
    Fault,
    LoopbackServer,
    Reply,
    ScriptError,
    SpawnedLoopbackServer,
)

USER = [{"role": "user", "content": "write a function"}]


def chat(srv: LoopbackServer | SpawnedLoopbackServer, **body: Any) -> httpx.Response:
    body.setdefault("model", "loopback")
    body.setdefault("messages", USER)
    return httpx.post(f"{srv.url}/chat/completions", json=body, timeout=10)


def content(srv: LoopbackServer | SpawnedLoopbackServer, text: str = "hi", **body: Any) -> str:
    response = chat(srv, messages=[{"role": "user", "content": text}], **body)
    response.raise_for_status()
    answer: str = response.json()["choices"][0]["message"]["content"]
    return answer


def sse_events(response: httpx.Response) -> list[Any]:
    events: list[Any] = []
    for line in response.text.split("\n\n"):
        if line.startswith("data: "):
            data = line.removeprefix("data: ")
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


@pytest.fixture
def srv() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


# -- lifecycle and control API over HTTP ------------------------------------------------


def test_url_is_the_v1_api_base_on_a_free_loopback_port(srv: LoopbackServer) -> None:
    assert srv.port > 0
    assert srv.url == f"http://127.0.0.1:{srv.port}/v1"


def test_start_and_stop_without_context_manager() -> None:
    server = LoopbackServer().start()
    port = server.port
    assert httpx.get(f"http://127.0.0.1:{port}/_control/health").json()["ok"] is True
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/_control/health", timeout=2)


def test_control_queue_over_http_scripts_the_next_reply(srv: LoopbackServer) -> None:
    response = httpx.post(
        f"{srv.base_url}/_control/queue", json={"replies": ["from http"], "model": None}
    )
    assert response.status_code == 200
    assert content(srv) == "from http"


def test_control_fail_over_http_injects_a_fault(srv: LoopbackServer) -> None:
    httpx.post(f"{srv.base_url}/_control/fail", json={"fault": "unavailable", "times": 1})
    assert chat(srv).status_code == 503


def test_control_rules_and_default_reply_over_http(srv: LoopbackServer) -> None:
    httpx.post(f"{srv.base_url}/_control/default_reply", json={"text": "default"})
    httpx.post(f"{srv.base_url}/_control/rules", json={"pattern": "sort", "reply": "sorted"})
    assert content(srv, "please sort this") == "sorted"
    assert content(srv, "anything else") == "default"


def test_control_stats_and_requests_over_http(srv: LoopbackServer) -> None:
    chat(srv)
    stats = httpx.get(f"{srv.base_url}/_control/stats").json()
    logged = httpx.get(f"{srv.base_url}/_control/requests").json()["requests"]
    assert stats["request_count"] == 1
    assert logged[0]["path"] == "/v1/chat/completions"


def test_control_reset_over_http(srv: LoopbackServer) -> None:
    srv.queue("queued")
    httpx.post(f"{srv.base_url}/_control/reset", json={})
    assert content(srv) == DEFAULT_REPLY


def test_control_configure_over_http_changes_settings(srv: LoopbackServer) -> None:
    response = httpx.post(f"{srv.base_url}/_control/configure", json={"embedding_dim": 4})
    assert response.json()["settings"]["embedding_dim"] == 4


def test_unknown_control_action_is_a_400_naming_the_known_ones(srv: LoopbackServer) -> None:
    response = httpx.post(f"{srv.base_url}/_control/explode", json={})
    assert response.status_code == 400
    assert "/_control/queue" in response.json()["error"]["message"]


def test_invalid_reply_field_is_rejected(srv: LoopbackServer) -> None:
    with pytest.raises(ScriptError, match="Unknown reply field"):
        srv.queue(Reply.from_json({"contents": "typo"}))


def test_unknown_fault_name_is_rejected_with_the_known_names(srv: LoopbackServer) -> None:
    with pytest.raises(ScriptError, match="rate_limit"):
        srv.fail("explode")


def test_invalid_rule_regex_is_rejected(srv: LoopbackServer) -> None:
    with pytest.raises(ScriptError, match="not a valid regex"):
        srv.add_rule("(unclosed", "x")


# -- wire format ------------------------------------------------------------------------


def test_chat_completion_has_the_openai_shape(srv: LoopbackServer) -> None:
    body = chat(srv, model="my-model").json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert isinstance(body["created"], int)
    assert body["model"] == "my-model"
    choice = body["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": DEFAULT_REPLY, "refusal": None}
    assert choice["finish_reason"] == "stop"


def test_usage_counts_one_token_per_four_characters(srv: LoopbackServer) -> None:
    srv.queue("x" * 9)
    usage = chat(srv, messages=[{"role": "user", "content": "abcdefgh"}]).json()["usage"]
    assert usage == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}


def test_reply_overrides_token_counts_and_finish_reason(srv: LoopbackServer) -> None:
    srv.queue(Reply("x", prompt_tokens=100, completion_tokens=7, finish_reason="length"))
    body = chat(srv).json()
    assert body["usage"]["total_tokens"] == 107
    assert body["choices"][0]["finish_reason"] == "length"


def test_stream_sends_chunks_then_usage_then_done(srv: LoopbackServer) -> None:
    srv.queue("one two three")
    response = chat(srv, stream=True, stream_options={"include_usage": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "one two three"
    assert len([c for c in chunks if c["choices"]]) >= 4
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == math.ceil(len("one two three") / 4)


def test_stream_without_include_usage_sends_no_usage_chunk(srv: LoopbackServer) -> None:
    events = sse_events(chat(srv, stream=True))
    assert all("usage" not in e for e in events[:-1])
    assert events[-2]["choices"][0]["finish_reason"] == "stop"


def test_chunk_delay_spaces_streamed_chunks(srv: LoopbackServer) -> None:
    srv.queue(Reply("a b c d", chunk_delay_ms=50))
    started = time.perf_counter()
    events = sse_events(chat(srv, stream=True))
    elapsed = time.perf_counter() - started
    assert elapsed >= 0.05 * (len(events) - 1) * 0.9


def test_embeddings_are_deterministic_unit_vectors_of_dimension_16(srv: LoopbackServer) -> None:
    def embed() -> dict[str, Any]:
        body = {"model": "emb", "input": ["alpha", "beta"]}
        data: dict[str, Any] = httpx.post(f"{srv.url}/embeddings", json=body).json()
        return data

    first, second = embed(), embed()
    vectors = [item["embedding"] for item in first["data"]]
    assert vectors == [item["embedding"] for item in second["data"]]
    assert [len(v) for v in vectors] == [16, 16]
    assert vectors[0] != vectors[1]
    assert math.isclose(sum(x * x for x in vectors[0]), 1.0, rel_tol=1e-9)
    assert first["usage"]["prompt_tokens"] == 3  # ceil(5 / 4) + ceil(4 / 4)


def test_embeddings_honour_dimensions_and_base64_encoding(srv: LoopbackServer) -> None:
    body = {"model": "emb", "input": "alpha", "dimensions": 8, "encoding_format": "base64"}
    data = httpx.post(f"{srv.url}/embeddings", json=body).json()["data"][0]["embedding"]
    floats = struct.unpack("<8f", base64.b64decode(data))
    plain = {"model": "emb", "input": "alpha", "dimensions": 8}
    expected = httpx.post(f"{srv.url}/embeddings", json=plain).json()["data"][0]["embedding"]
    assert floats == pytest.approx(expected, rel=1e-6)


def test_models_endpoint_lists_the_configured_models() -> None:
    with LoopbackServer(models=["a", "b"]) as server:
        body = httpx.get(f"{server.url}/models").json()
    assert [m["id"] for m in body["data"]] == ["a", "b"]


def test_unknown_path_is_a_404_listing_the_endpoints(srv: LoopbackServer) -> None:
    response = httpx.post(f"{srv.url}/completions", json={})
    assert response.status_code == 404
    assert "/v1/chat/completions" in response.json()["error"]["message"]


def test_keep_alive_serves_several_requests_on_one_connection(srv: LoopbackServer) -> None:
    with socket.create_connection(("127.0.0.1", srv.port)) as sock:
        stream = sock.makefile("rb")
        for _ in range(3):
            sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
            assert stream.readline().startswith(b"HTTP/1.1 200")
            headers = {}
            while (line := stream.readline()) != b"\r\n":
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            assert json.loads(stream.read(int(headers["content-length"])))["object"] == "list"


# -- scripting --------------------------------------------------------------------------


def test_queued_replies_are_consumed_in_fifo_order_then_the_default(srv: LoopbackServer) -> None:
    srv.queue("first", Reply("second"))
    assert [content(srv) for _ in range(3)] == ["first", "second", DEFAULT_REPLY]


def test_a_models_queue_is_used_before_the_global_queue(srv: LoopbackServer) -> None:
    srv.queue("global")
    srv.queue("for-b", model="b")
    assert content(srv, model="a") == "global"
    assert content(srv, model="b") == "for-b"
    assert content(srv, model="b") == DEFAULT_REPLY


def test_rule_matches_the_last_user_message_and_is_not_consumed(srv: LoopbackServer) -> None:
    srv.add_rule(r"def (\w+)_sum", "summing")
    messages = [
        {"role": "user", "content": "def old_sum"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "something else"},
    ]
    assert chat(srv, messages=messages).json()["choices"][0]["message"]["content"] != "summing"
    assert content(srv, "def pair_sum(a, b):") == "summing"
    assert content(srv, "def pair_sum(a, b):") == "summing"


def test_first_matching_rule_wins(srv: LoopbackServer) -> None:
    srv.add_rule("task", "generic")
    srv.add_rule("task 7", "specific")
    assert content(srv, "task 7") == "generic"


def test_rule_for_another_model_is_ignored(srv: LoopbackServer) -> None:
    srv.add_rule("x", "for-b", model="b")
    assert content(srv, "x", model="a") == DEFAULT_REPLY
    assert content(srv, "x", model="b") == "for-b"


def test_queued_reply_takes_precedence_over_rules(srv: LoopbackServer) -> None:
    srv.add_rule("x", "rule")
    srv.queue("queued")
    assert [content(srv, "x"), content(srv, "x")] == ["queued", "rule"]


def test_rule_reply_can_carry_a_fault(srv: LoopbackServer) -> None:
    srv.add_rule("forbidden", Reply(fault=Fault.CONTENT_POLICY))
    assert chat(srv, messages=[{"role": "user", "content": "forbidden"}]).status_code == 400


def test_set_default_reply_changes_the_fallback_answer(srv: LoopbackServer) -> None:
    srv.set_default_reply("new default")
    assert content(srv) == "new default"


def test_fail_hits_the_next_n_requests_then_recovers(srv: LoopbackServer) -> None:
    srv.fail(Fault.SERVER_ERROR, times=2)
    assert [chat(srv).status_code for _ in range(3)] == [500, 500, 200]


def test_fail_for_a_model_leaves_other_models_alone(srv: LoopbackServer) -> None:
    srv.fail("server_error", times=1, model="b")
    assert chat(srv, model="a").status_code == 200
    assert chat(srv, model="b").status_code == 500


def test_fault_comes_before_a_queued_reply_which_is_kept(srv: LoopbackServer) -> None:
    srv.queue("kept")
    srv.fail("unavailable")
    assert chat(srv).status_code == 503
    assert content(srv) == "kept"


def test_fail_rate_fails_a_seeded_reproducible_fraction() -> None:
    def pattern() -> list[int]:
        with LoopbackServer() as server:
            server.fail_rate("server_error", rate=0.5, seed=3)
            return [chat(server).status_code for _ in range(40)]

    first, second = pattern(), pattern()
    assert first == second
    assert 10 <= first.count(500) <= 30


def test_faults_apply_to_embeddings_too(srv: LoopbackServer) -> None:
    srv.fail("rate_limit")
    response = httpx.post(f"{srv.url}/embeddings", json={"model": "e", "input": "x"})
    assert response.status_code == 429


def test_requests_log_keeps_path_method_headers_body_model_and_time(srv: LoopbackServer) -> None:
    before = time.time()
    chat(srv, model="m1", temperature=0.2)
    (entry,) = srv.requests
    assert entry["path"] == "/v1/chat/completions"
    assert entry["method"] == "POST"
    assert entry["headers"]["content-type"] == "application/json"
    assert entry["json"]["temperature"] == 0.2
    assert entry["model"] == "m1"
    assert entry["timestamp"] >= before
    assert srv.request_count == 1


def test_reset_clears_queues_rules_faults_and_counters(srv: LoopbackServer) -> None:
    srv.queue("q")
    srv.add_rule("x", "rule")
    srv.fail("server_error", times=5)
    srv.set_default_reply("changed")
    chat(srv)
    srv.reset()
    assert srv.request_count == 0
    assert srv.requests == []
    assert content(srv, "x") == DEFAULT_REPLY


def test_latency_delays_every_answer() -> None:
    with LoopbackServer(latency_ms=150) as server:
        started = time.perf_counter()
        chat(server)
        assert time.perf_counter() - started >= 0.15


def test_reply_latency_overrides_the_server_latency(srv: LoopbackServer) -> None:
    srv.queue(Reply("slow", latency_ms=200))
    started = time.perf_counter()
    assert content(srv) == "slow"
    assert time.perf_counter() - started >= 0.2


# -- faults on the wire -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("rate_limit", 429, "rate_limit_exceeded"),
        ("server_error", 500, None),
        ("unavailable", 503, "service_unavailable"),
        ("auth", 401, "invalid_api_key"),
        ("bad_request", 400, None),
        ("not_found", 404, "model_not_found"),
        ("content_policy", 400, "content_policy_violation"),
        ("context_length", 400, "context_length_exceeded"),
    ],
)
def test_error_fault_sends_status_and_openai_error_body(
    srv: LoopbackServer, fault: str, status: int, code: str | None
) -> None:
    srv.fail(fault)
    response = chat(srv)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]


def test_rate_limit_sends_retry_after_seconds(srv: LoopbackServer) -> None:
    srv.fail("rate_limit", retry_after_s=7)
    assert chat(srv).headers["retry-after"] == "7"


def test_context_length_uses_openais_message(srv: LoopbackServer) -> None:
    srv.fail("context_length")
    message = chat(srv).json()["error"]["message"]
    assert message.startswith("This model's maximum context length is")


def test_malformed_json_is_a_200_with_an_unparseable_body(srv: LoopbackServer) -> None:
    srv.fail("malformed_json")
    response = chat(srv)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_connection_reset_aborts_the_connection_without_response(srv: LoopbackServer) -> None:
    srv.fail("connection_reset")
    body = json.dumps({"model": "m", "messages": USER}).encode()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
            b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        with pytest.raises(ConnectionResetError):
            sock.recv(1024)


def test_hang_sleeps_before_answering(srv: LoopbackServer) -> None:
    srv.fail("hang", hang_seconds=0.3)
    started = time.perf_counter()
    assert chat(srv).status_code == 200
    assert time.perf_counter() - started >= 0.3


def test_hang_does_not_block_other_requests(srv: LoopbackServer) -> None:
    srv.fail("hang", hang_seconds=5)

    def hang() -> None:
        with contextlib.suppress(httpx.HTTPError):  # cut off when the server stops
            chat(srv)

    hung = threading.Thread(target=hang, daemon=True)
    hung.start()
    time.sleep(0.1)
    started = time.perf_counter()
    assert chat(srv).status_code == 200
    assert time.perf_counter() - started < 1


def test_stop_wakes_a_hanging_request_at_once() -> None:
    server = LoopbackServer(hang_seconds=30).start()
    server.fail("hang")
    outcome: list[str] = []

    def call() -> None:
        try:
            chat(server)
            outcome.append("answered")
        except httpx.HTTPError as exc:
            outcome.append(type(exc).__name__)

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.1)
    started = time.perf_counter()
    server.stop()
    caller.join(5)
    assert time.perf_counter() - started < 2
    assert outcome
    assert outcome[0] != "answered"


# -- separate process -------------------------------------------------------------------


def test_cli_prints_its_address_as_json_and_exits_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "quantumlayer_nb.testing", "--port", "0", "--latency-ms", "10"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        assert ready["url"] == f"http://127.0.0.1:{ready['port']}/v1"
        assert httpx.get(f"{ready['url']}/models").status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def spawned() -> Iterator[SpawnedLoopbackServer]:
    with LoopbackServer.spawn(latency_ms=200) as server:
        yield server


def test_spawned_server_is_scripted_over_http(spawned: SpawnedLoopbackServer) -> None:
    spawned.reset()
    spawned.queue("from the child", model="m")
    spawned.add_rule("hello", "rule answer")
    spawned.fail("unavailable", times=1, model="bad")
    assert content(spawned, model="m") == "from the child"
    assert content(spawned, "hello") == "rule answer"
    assert chat(spawned, model="bad").status_code == 503
    assert spawned.request_count == 3
    assert [r["model"] for r in spawned.requests] == ["m", "loopback", "bad"]


def test_spawned_server_runs_in_another_process(spawned: SpawnedLoopbackServer) -> None:
    assert spawned.pid is not None
    assert spawned.pid != os.getpid()


def test_spawned_server_rejects_bad_scripting_with_script_error(
    spawned: SpawnedLoopbackServer,
) -> None:
    with pytest.raises(ScriptError, match="positive integer"):
        spawned.fail("server_error", times=0)


def keep_alive_burst(port: int, clients: int, requests_each: int) -> tuple[float, set[int]]:
    """Send requests from ``clients`` threads, each on its own keep-alive connection.

    Threads with http.client rather than httpx.AsyncClient: httpcore's async pool spends
    O(connections) CPU per request, which makes the client, not the server, the bottleneck.
    """
    body = json.dumps({"model": "loopback", "messages": USER}).encode()
    statuses: set[int] = set()
    barrier = threading.Barrier(clients + 1)

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.connect()
        barrier.wait()
        for _ in range(requests_each):
            connection.request("POST", "/v1/chat/completions", body=body)
            response = connection.getresponse()
            response.read()
            statuses.add(response.status)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, statuses


def test_spawned_server_answers_100_concurrent_200ms_requests_in_well_under_1s(
    spawned: SpawnedLoopbackServer,
) -> None:
    spawned.reset()
    elapsed, statuses = keep_alive_burst(spawned.port, clients=100, requests_each=1)
    assert statuses == {200}
    assert 0.2 <= elapsed < 0.7
    assert spawned.request_count == 100


@pytest.mark.slow
def test_spawned_server_sustains_1000_requests_at_concurrency_100(
    spawned: SpawnedLoopbackServer,
) -> None:
    elapsed, statuses = keep_alive_burst(spawned.port, clients=100, requests_each=10)
    assert statuses == {200}
    # 10 waves of 200 ms: close to 2 s means the server adds little on top of the latency.
    assert elapsed < 3.0


def test_spawned_server_stop_ends_the_process() -> None:
    server = LoopbackServer.spawn()
    process_id, port = server.pid, server.port
    server.stop()
    assert process_id is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2)


def test_spawned_server_exits_when_the_process_that_spawned_it_dies() -> None:
    code = (
        "import os; from quantumlayer_nb.testing import LoopbackServer; "
        "print(LoopbackServer.spawn().port, flush=True); os._exit(0)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    port = int(run.stdout)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the orphaned server on port {port} still accepts connections")


# -- through litellm -------------------------------------------------------------------


@pytest.fixture(scope="module")
def litellm() -> Any:
    """litellm, imported once for this module (the import takes seconds)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm as module

    module.suppress_debug_info = True
    return module


def completion(litellm: Any, srv: LoopbackServer, **kwargs: Any) -> Any:
    kwargs.setdefault("model", "openai/loopback")
    kwargs.setdefault("messages", USER)
    return litellm.completion(
        api_base=srv.url, api_key="sk-loopback", num_retries=0, max_retries=0, **kwargs
    )


def test_litellm_completion_returns_content_and_usage(litellm: Any, srv: LoopbackServer) -> None:
    srv.queue("print('hi')")
    response = completion(litellm, srv)
    assert response.choices[0].message.content == "print('hi')"
    assert response.usage.completion_tokens == 3
    assert response.usage.prompt_tokens == math.ceil(len(USER[0]["content"]) / 4)


def test_litellm_sends_the_model_name_without_the_provider_prefix(
    litellm: Any, srv: LoopbackServer
) -> None:
    srv.queue("for coder", model="coder")
    assert completion(litellm, srv, model="openai/coder").choices[0].message.content == "for coder"
    assert srv.requests[0]["model"] == "coder"


def test_litellm_stream_yields_content_and_usage(litellm: Any, srv: LoopbackServer) -> None:
    srv.queue("def f():\n    return 1\n")
    chunks = list(completion(litellm, srv, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    usages = [c.usage for c in chunks if getattr(c, "usage", None)]
    assert text == "def f():\n    return 1\n"
    assert usages[-1].completion_tokens == 6


def test_litellm_embedding_and_aembedding_return_the_same_vectors(
    litellm: Any, srv: LoopbackServer
) -> None:
    kwargs = {"model": "openai/emb", "input": ["a", "b"], "api_base": srv.url}
    sync = litellm.embedding(api_key="sk-loopback", **kwargs)
    asynchronous = asyncio.run(litellm.aembedding(api_key="sk-loopback", **kwargs))
    assert len(sync.data) == 2
    assert len(sync.data[0]["embedding"]) == 16
    assert sync.data[0]["embedding"] == pytest.approx(asynchronous.data[0]["embedding"])
    assert sync.usage.prompt_tokens == 2


def test_litellm_completion_does_not_retry_with_max_retries_0(
    litellm: Any, srv: LoopbackServer
) -> None:
    srv.fail("server_error", times=5)
    with pytest.raises(litellm.InternalServerError):
        completion(litellm, srv)
    assert srv.request_count == 1


def test_litellm_embedding_retries_unless_default_max_retries_is_0(
    litellm: Any, srv: LoopbackServer
) -> None:
    # litellm's openai embedding path reads ``max_retries or DEFAULT_MAX_RETRIES``,
    # so max_retries=0 means 2 SDK retries; only litellm.DEFAULT_MAX_RETRIES = 0 stops them.
    kwargs = {"model": "openai/emb", "input": "a", "api_base": srv.url, "api_key": "sk-x"}
    srv.fail("server_error", times=10)
    with pytest.raises(litellm.InternalServerError):
        litellm.embedding(num_retries=0, max_retries=0, **kwargs)
    assert srv.request_count == 3
    srv.reset()
    srv.fail("server_error", times=10)
    saved = litellm.DEFAULT_MAX_RETRIES
    litellm.DEFAULT_MAX_RETRIES = 0
    try:
        with pytest.raises(litellm.InternalServerError):
            litellm.embedding(num_retries=0, max_retries=0, **kwargs)
    finally:
        litellm.DEFAULT_MAX_RETRIES = saved
    assert srv.request_count == 1


FAULT_TO_LITELLM = [
    ("rate_limit", "RateLimitError", 429),
    ("server_error", "InternalServerError", 500),
    ("unavailable", "ServiceUnavailableError", 503),
    ("auth", "AuthenticationError", 401),
    ("bad_request", "BadRequestError", 400),
    ("not_found", "NotFoundError", 404),
    ("hang", "Timeout", 408),
    ("malformed_json", "InternalServerError", 500),
    ("connection_reset", "InternalServerError", 500),
    ("content_policy", "ContentPolicyViolationError", 400),
    ("context_length", "ContextWindowExceededError", 400),
]


@pytest.mark.parametrize(("fault", "exception", "status"), FAULT_TO_LITELLM)
def test_litellm_raises_the_documented_exception_for_each_fault(
    litellm: Any, srv: LoopbackServer, fault: str, exception: str, status: int
) -> None:
    srv.fail(fault, hang_seconds=3)
    with pytest.raises(getattr(litellm, exception)) as caught:
        completion(litellm, srv, timeout=0.5)
    assert type(caught.value).__name__ == exception
    assert caught.value.status_code == status


@pytest.mark.parametrize(("fault", "exception", "status"), FAULT_TO_LITELLM)
def test_litellm_async_raises_the_same_exception_as_sync(
    litellm: Any, srv: LoopbackServer, fault: str, exception: str, status: int
) -> None:
    srv.fail(fault, hang_seconds=3)

    async def call() -> Any:
        return await litellm.acompletion(
            model="openai/loopback", messages=USER, api_base=srv.url, api_key="sk-loopback",
            num_retries=0, max_retries=0, timeout=0.5,
        )  # fmt: skip

    with pytest.raises(getattr(litellm, exception)) as caught:
        asyncio.run(call())
    assert type(caught.value).__name__ == exception


def test_litellm_errors_are_openai_status_errors_except_timeout(litellm: Any) -> None:
    import openai

    for _, exception, _ in FAULT_TO_LITELLM:
        cls = getattr(litellm, exception)
        assert issubclass(cls, openai.APIStatusError) == (exception != "Timeout")
        assert not issubclass(cls, litellm.APIError)  # litellm.APIError is a sibling leaf
    assert issubclass(litellm.Timeout, openai.APITimeoutError)
    assert issubclass(litellm.ContextWindowExceededError, litellm.BadRequestError)
    assert issubclass(litellm.ContentPolicyViolationError, litellm.BadRequestError)


def test_litellm_rate_limit_error_carries_retry_after(litellm: Any, srv: LoopbackServer) -> None:
    srv.fail("rate_limit", retry_after_s=7)
    with pytest.raises(litellm.RateLimitError) as caught:
        completion(litellm, srv)
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.litellm_response_headers["retry-after"] == "7"


@pytest.mark.parametrize(
    ("fault", "exception"),
    [
        ("rate_limit", "RateLimitError"),
        ("connection_reset", "InternalServerError"),
        ("hang", "Timeout"),
        ("malformed_json", "MidStreamFallbackError"),
    ],
)
def test_litellm_stream_raises_the_documented_exception(
    litellm: Any, srv: LoopbackServer, fault: str, exception: str
) -> None:
    srv.fail(fault, hang_seconds=3)
    with pytest.raises(Exception) as caught:  # the exact type is checked below
        list(completion(litellm, srv, stream=True, timeout=0.5))
    assert type(caught.value).__name__ == exception
    if exception == "MidStreamFallbackError":
        assert isinstance(caught.value, litellm.ServiceUnavailableError)


def test_litellm_embedding_fault_maps_like_completion(litellm: Any, srv: LoopbackServer) -> None:
    srv.fail("context_length")
    with pytest.raises(litellm.ContextWindowExceededError):
        litellm.embedding(model="openai/emb", input="a", api_base=srv.url, api_key="sk-x")


# -- pytest plugin ----------------------------------------------------------------------


def test_loopback_server_fixture_gives_a_running_server(loopback_server: LoopbackServer) -> None:
    loopback_server.queue("from fixture")
    assert content(loopback_server) == "from fixture"


def test_session_fixture_is_shared_and_reset_by_the_caller(
    loopback_server_session: LoopbackServer,
) -> None:
    loopback_server_session.reset()
    assert loopback_server_session.request_count == 0
    assert httpx.get(f"{loopback_server_session.url}/models").status_code == 200


def test_plugin_and_package_imports_do_not_load_litellm() -> None:
    code = (
        "import sys, quantumlayer_nb.testing.plugin, quantumlayer_nb.testing; "
        "print(sorted(m for m in ('litellm', 'openai', 'numpy') if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"
