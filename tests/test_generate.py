"""generate()/agenerate() against the loopback server, through litellm's HTTP path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import quantumlayer_nb as qlayer
from quantumlayer_nb.errors import (
    AuthenticationError,
    ContentPolicyError,
    ContextWindowError,
    ContextWindowExceeded,
    MissingCredentials,
    ModelNotFound,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimitError,
    RequestError,
)
from quantumlayer_nb.ledger import events
from quantumlayer_nb.testing import LoopbackServer

GPT_4O_MINI_IN = 0.15 / 1_000_000
GPT_4O_MINI_OUT = 0.60 / 1_000_000


def ledger_rows(project: Path) -> list[dict[str, Any]]:
    relation = events(project / ".qlayer").filter("kind = 'call'").order("ts")
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def test_generate_returns_code_tokens_and_cost(loop_project: Path) -> None:
    result = qlayer.generate("print a greeting")
    assert result.code is not None
    assert result.syntax_error is None
    assert result.model == "loop"
    assert result.model_served.endswith("gpt-4o-mini")
    assert result.tokens_in
    assert result.tokens_out
    expected = result.tokens_in * GPT_4O_MINI_IN + result.tokens_out * GPT_4O_MINI_OUT
    assert result.cost_usd == pytest.approx(expected)
    assert result.cost_known is True
    assert result.latency_ms > 0
    assert len(result.call_id) == 32


def test_unknown_price_is_none_not_zero(loop_project: Path) -> None:
    result = qlayer.generate("print a greeting", model="local")
    assert result.cost_usd is None
    assert result.cost_known is False
    assert ledger_rows(loop_project)[-1]["cost_usd"] is None


def test_price_override_is_used(loop_project: Path) -> None:
    qlayer.configure(
        deployments={"local": {"input_cost_per_token": 1e-3, "output_cost_per_token": 2e-3}}
    )
    result = qlayer.generate("print a greeting", model="local")
    assert result.tokens_in is not None
    assert result.tokens_out is not None
    assert result.cost_usd == pytest.approx(result.tokens_in * 1e-3 + result.tokens_out * 2e-3)


def test_call_is_on_the_ledger_without_the_raw_prompt(loop_project: Path) -> None:
    result = qlayer.generate("print the secret plan")
    (row,) = ledger_rows(loop_project)
    assert row["call_id"] == result.call_id
    assert row["outcome"] == "ok"
    assert row["project"] == "test"
    assert row["user"] == "tester"
    assert row["tokens_in"] == result.tokens_in
    assert row["prompt_hash"] == result.prompt_hash
    assert row["response_hash"]
    assert row["prompt"] is None
    ledger_text = "".join(p.read_text() for p in (loop_project / ".qlayer").rglob("*.jsonl"))
    assert "secret plan" not in ledger_text


def test_store_prompts_keeps_prompt_and_response(loop_project: Path) -> None:
    qlayer.configure(store_prompts=True)
    qlayer.generate("print the plan")
    (row,) = ledger_rows(loop_project)
    assert "print the plan" in row["prompt"]
    assert row["response"]


def test_stream_yields_chunks_then_generation(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    loopback_server.set_default_reply("```python\nfor i in range(3):\n    print(i)\n```")
    stream = qlayer.generate("count to three", stream=True)
    chunks = list(stream)
    assert len(chunks) > 1
    result = stream.generation
    assert result is not None
    assert "".join(chunks) == result.text
    assert result.code == "for i in range(3):\n    print(i)\n"
    assert result.ttft_ms is not None
    assert result.ttft_ms <= result.latency_ms
    assert result.tokens_out
    assert result.cost_usd


async def test_agenerate_and_async_stream(loop_project: Path) -> None:
    result = await qlayer.agenerate("print a greeting", format="text")
    assert result.code is None
    assert result.text
    stream = await qlayer.agenerate("print a greeting", stream=True)
    final = await stream.result()
    assert final.text == result.text
    assert len(ledger_rows(loop_project)) == 2


def test_syntax_error_in_reply_is_reported(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    loopback_server.set_default_reply("```python\ndef broken(:\n    pass\n```")
    result = qlayer.generate("write a function")
    assert result.syntax_error is not None
    assert "line 1" in result.syntax_error


def test_custom_server_does_not_receive_the_openai_key(
    loop_project: Path, loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-key-must-stay-home")
    qlayer.generate("print a greeting", model="fast")
    (request,) = loopback_server.requests
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert "sk-real-key-must-stay-home" not in headers.get("authorization", "")


def test_litellm_provider_variables_work(
    project: Path, loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback")
    monkeypatch.setenv("OPENAI_BASE_URL", loopback_server.url)
    result = qlayer.generate("print a greeting", model="openai/gpt-4o-mini")
    assert result.code is not None
    assert loopback_server.request_count == 1


@pytest.mark.parametrize("prompt", ["", "   \n"])
def test_empty_prompt_fails_before_any_request(
    loop_project: Path, loopback_server: LoopbackServer, prompt: str
) -> None:
    with pytest.raises(RequestError, match="prompt is empty"):
        qlayer.generate(prompt)
    assert loopback_server.request_count == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"format": "yaml"}, "format"),
        ({"temperature": 3.0}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"timeout": -1}, "timeout"),
        ({"context": 42}, "context must be"),
    ],
)
def test_bad_arguments_are_clear_errors(
    loop_project: Path, loopback_server: LoopbackServer, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(RequestError, match=match):
        qlayer.generate("print", **kwargs)
    assert loopback_server.request_count == 0


def test_unknown_model_is_a_clear_error(loop_project: Path) -> None:
    with pytest.raises(ModelNotFound, match="Unknown model 'no-such-model'"):
        qlayer.generate("print", model="no-such-model")


def test_missing_key_fails_before_any_request(
    project: Path, loopback_server: LoopbackServer
) -> None:
    with pytest.raises(MissingCredentials, match="OPENAI_API_KEY") as info:
        qlayer.generate("print", model="openai/gpt-4o-mini")
    assert info.value.env_vars == ["OPENAI_API_KEY"]
    assert loopback_server.request_count == 0


def test_missing_key_of_a_deployment_names_its_variable(
    project: Path, loopback_server: LoopbackServer
) -> None:
    (project / "qlayer.toml").write_text(
        f'[deployments.vllm]\nmodel = "hosted_vllm/llama"\napi_base = "{loopback_server.url}"\n'
        'api_key_env = "VLLM_KEY"\n'
    )
    with pytest.raises(MissingCredentials, match=r"\$VLLM_KEY"):
        qlayer.generate("print", model="vllm")


def test_prompt_longer_than_context_window_fails_before_sending(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    qlayer.configure(deployments={"loop": {"context_window": 64}})
    with pytest.raises(ContextWindowExceeded) as info:
        qlayer.generate("summarise this: " + "lorem ipsum dolor " * 100)
    assert info.value.limit == 64
    assert info.value.tokens > 64
    assert loopback_server.request_count == 0


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("rate_limit", RateLimitError),
        ("server_error", ProviderUnavailable),
        ("unavailable", ProviderUnavailable),
        ("auth", AuthenticationError),
        ("malformed_json", ProviderUnavailable),
        ("connection_reset", ProviderUnavailable),
        ("content_policy", ContentPolicyError),
        ("context_length", ContextWindowError),
    ],
)
def test_provider_faults_map_to_the_error_tree_and_are_recorded(
    loop_project: Path, loopback_server: LoopbackServer, fault: str, error: type[Exception]
) -> None:
    loopback_server.fail(fault, times=1)
    with pytest.raises(error):
        qlayer.generate("print a greeting")
    (row,) = ledger_rows(loop_project)
    assert row["outcome"] == "error"
    assert row["error_class"] == error.__name__


def test_rate_limit_carries_retry_after(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    loopback_server.fail("rate_limit", times=1)
    with pytest.raises(RateLimitError) as info:
        qlayer.generate("print a greeting")
    assert info.value.retry_after is not None
    assert "retry after" in str(info.value)


def test_hang_past_timeout_is_a_timeout(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    loopback_server.configure(hang_seconds=5)
    loopback_server.fail("hang", times=1)
    with pytest.raises(ProviderTimeout):
        qlayer.generate("print a greeting", timeout=0.5)
