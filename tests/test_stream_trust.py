"""A streamed call keeps every promise of a plain one: budgets, replay, cache, redaction, usage."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

import quantumlayer_nb as qlayer
from quantumlayer_nb.config import get_settings, reset_configuration
from quantumlayer_nb.errors import BudgetExceeded, ReplayMiss
from quantumlayer_nb.ledger import events
from quantumlayer_nb.routing import budget
from quantumlayer_nb.routing.projects import QuotaExceeded
from quantumlayer_nb.routing.streaming import HOLD_CHARS, StreamRedactor
from quantumlayer_nb.safety.policy import SafetyPolicy
from quantumlayer_nb.testing import LoopbackServer, Reply

PRICE = 1e-5  # per token, in and out
OPENAI_KEY = "sk-proj-" + "Qz7" * 15 + "Ab"
GITHUB_TOKEN = "ghp_" + "k3Vq9" * 7 + "Zx"


def write_project(project: Path, url: str, extra: str = "") -> None:
    (project / "qlayer.toml").write_text(
        'project = "sales"\nuser = "ana"\n'
        f'[deployments.loop]\nmodel = "openai/gpt-4o-mini"\napi_base = "{url}"\n'
        f"input_cost_per_token = {PRICE}\noutput_cost_per_token = {PRICE}\n{extra}"
    )
    reset_configuration()


def streamed(prompt: str, **kwargs: object) -> tuple[list[str], qlayer.Generation]:
    stream = qlayer.generate(prompt, model="loop", stream=True, **kwargs)  # type: ignore[call-overload]
    pieces = list(stream)
    assert stream.generation is not None
    return pieces, stream.generation


def budget_spent(project: Path) -> float:
    return sum(s.spent_usd + s.reserved_usd for s in budget.status(get_settings()))


def use_replay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QLAYER_CACHE__MODE", "replay")
    reset_configuration()


# --- budgets and quotas ----------------------------------------------------------------------


def test_stream_on_a_spent_hard_budget_fails_before_any_request(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url,
                  '[[budgets]]\nscope = "project"\nlimit_usd = 0.0001\n')
    with pytest.raises(BudgetExceeded, match="Budget 'project sales' exhausted"):
        streamed("print a greeting", max_tokens=100, cache=False)
    assert loopback_server.request_count == 0


def test_async_stream_on_a_spent_hard_budget_fails_before_any_request(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url,
                  '[[budgets]]\nscope = "project"\nlimit_usd = 0.0001\n')

    async def read() -> None:
        stream = await qlayer.agenerate("print a greeting", model="loop", stream=True,
                                        max_tokens=100, cache=False)
        await stream.result()

    with pytest.raises(BudgetExceeded):
        asyncio.run(read())
    assert loopback_server.request_count == 0


def test_stream_commits_what_it_cost_to_the_budget(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url, '[[budgets]]\nscope = "project"\nlimit_usd = 5\n')
    _, generation = streamed("print a greeting", cache=False)
    assert not generation.tokens_estimated
    (status,) = budget.status(get_settings())
    assert status.reserved_usd == 0.0
    assert status.spent_usd == pytest.approx(generation.cost_usd)
    assert generation.cost_usd is not None
    assert generation.cost_usd > 0


def test_stream_counts_against_the_project_request_quota(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url,
                  '[projects.sales]\nrpm = 1\n')
    streamed("print a greeting", cache=False)
    with pytest.raises(QuotaExceeded, match="quota of 1 requests per minute"):
        streamed("print a farewell", cache=False)
    assert loopback_server.request_count == 1


# --- replay and cache --------------------------------------------------------------------------


def test_replay_streams_the_recorded_answer_with_no_request(
    project: Path, loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(project, loopback_server.url)
    recorded = qlayer.generate("plot revenue by month", model="loop", temperature=0)
    use_replay(monkeypatch)
    loopback_server.set_default_reply("a different, live answer")
    before = loopback_server.request_count
    pieces, generation = streamed("plot revenue by month", temperature=0)
    assert "".join(pieces) == recorded.text
    assert generation.cached
    assert loopback_server.request_count == before


def test_replay_stream_of_an_unrecorded_request_raises_replay_miss(
    project: Path, loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(project, loopback_server.url)
    use_replay(monkeypatch)
    with pytest.raises(ReplayMiss):
        streamed("a request never asked before", temperature=0)
    assert loopback_server.request_count == 0


def test_replay_with_cache_false_answers_from_the_store_only(
    project: Path, loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(project, loopback_server.url)
    recorded = qlayer.generate("plot revenue by month", model="loop", temperature=0)
    use_replay(monkeypatch)
    before = loopback_server.request_count
    again = qlayer.generate("plot revenue by month", model="loop", temperature=0, cache=False)
    pieces, _ = streamed("plot revenue by month", temperature=0, cache=False)
    with pytest.raises(ReplayMiss):
        qlayer.generate("never recorded", model="loop", temperature=0, cache=False)
    with pytest.raises(ReplayMiss):
        streamed("never recorded either", temperature=0, cache=False)
    assert again.text == "".join(pieces) == recorded.text
    assert loopback_server.request_count == before


def test_stream_is_answered_from_the_cache_like_a_plain_call(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url)
    first = qlayer.generate("plot revenue by month", model="loop", temperature=0)
    pieces, generation = streamed("plot revenue by month", temperature=0)
    assert generation.cached
    assert "".join(pieces) == first.text
    assert loopback_server.request_count == 1
    kinds = events(project / ".qlayer").project("kind").fetchall()
    assert ("cache_hit",) in kinds


# --- redaction -------------------------------------------------------------------------------


def test_secret_split_across_pieces_never_reaches_the_caller(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url)
    answer = f"Use the key:\nkey = {OPENAI_KEY}\nprint(key)\n"
    loopback_server.queue(Reply(content=answer, chunk_chars=3))
    pieces, generation = streamed("connect to the api", cache=False)
    shown = "".join(pieces)
    assert OPENAI_KEY[:12] not in shown  # not even the start of it
    assert "[REDACTED:openai_api_key:" in shown
    assert shown == generation.text
    assert shown.startswith("Use the key:\nkey = ")
    assert shown.endswith("\nprint(key)\n")


def test_secret_at_the_end_of_a_long_line_is_held_back(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url)
    answer = "word " * (2 * HOLD_CHARS // 5) + f"token {GITHUB_TOKEN}"  # no line end at all
    loopback_server.queue(Reply(content=answer, chunk_chars=7))
    pieces, generation = streamed("explain", format="text", cache=False)
    shown = "".join(pieces)
    assert GITHUB_TOKEN[:10] not in shown
    assert shown.endswith("[REDACTED:github_token:" + shown.rsplit(":", 1)[1])
    assert len(pieces) > 2  # the long line was released in parts, not held to the end
    assert shown == generation.text


def test_async_stream_pieces_are_redacted_too(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url)
    loopback_server.queue(Reply(content=f"key = {OPENAI_KEY}\n", chunk_chars=4))

    async def read() -> list[str]:
        stream = await qlayer.agenerate("connect", model="loop", stream=True, cache=False)
        return [piece async for piece in stream]

    shown = "".join(asyncio.run(read()))
    assert OPENAI_KEY[:12] not in shown
    assert "[REDACTED:openai_api_key:" in shown


def test_redactor_fed_one_character_at_a_time_releases_no_part_of_a_secret() -> None:
    redactor = StreamRedactor(SafetyPolicy())
    text = f"first line\nAuthorization: Bearer {'Zx81kQp0LmN3vB7tY2wR9sD4fG6hJ1kL'}\nlast\n"
    released = [redactor.feed(char) for char in text]
    released.append(redactor.flush())
    shown = "".join(released)
    assert "Zx81kQp0" not in shown
    assert shown.startswith("first line\nAuthorization: Bearer [REDACTED:")
    assert shown.endswith("\nlast\n")
    assert released[len("first line\n") - 1] == "first line\n"  # a finished line goes at once


def test_redactor_passes_ordinary_text_unchanged() -> None:
    redactor = StreamRedactor(SafetyPolicy())
    text = "import pandas as pd\n\ndf = pd.read_csv('sales.csv')\nprint(df.head())\n" * 20
    shown = "".join(redactor.feed(text[i:i + 5]) for i in range(0, len(text), 5))
    assert shown + redactor.flush() == text


# --- usage ------------------------------------------------------------------------------------


def test_stream_without_usage_estimates_tokens_with_the_model_tokenizer(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url)
    loopback_server.queue(Reply(content="print('hello')\n", stream_usage=False))
    _, generation = streamed("print a greeting", format="text", cache=False)
    import litellm

    sent = loopback_server.requests[-1]["json"]["messages"]
    assert generation.tokens_estimated
    assert generation.tokens_in == litellm.token_counter(model="gpt-4o-mini", messages=sent)
    assert generation.tokens_out == litellm.token_counter(
        model="gpt-4o-mini", text="print('hello')\n", count_response_tokens=True)
    assert generation.footer().count("~") == 2  # tokens and cost marked as estimates


def test_stream_with_usage_reports_the_provider_figures(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url)
    loopback_server.queue(Reply(content="print('hello')\n", prompt_tokens=86,
                                completion_tokens=16))
    _, generation = streamed("print a greeting", cache=False)
    assert not generation.tokens_estimated
    assert (generation.tokens_in, generation.tokens_out) == (86, 16)


def test_estimated_call_is_marked_on_the_ledger_and_in_usage(
    project: Path, loopback_server: LoopbackServer
) -> None:
    write_project(project, loopback_server.url)
    loopback_server.queue(Reply(stream_usage=False))
    streamed("print a greeting", cache=False)
    streamed("print a farewell", cache=False)  # with usage
    flags = events(project / ".qlayer").filter("kind = 'call'").project(
        "tokens_estimated").fetchall()
    assert sorted(flags, key=str) == [(False,), (True,)]
    relation = qlayer.usage()
    row = dict(zip(relation.columns, relation.fetchall()[0], strict=True))
    assert (row["calls"], row["estimated_calls"]) == (2, 1)


def test_usage_command_shows_the_estimated_calls(
    project: Path, loopback_server: LoopbackServer
) -> None:
    import subprocess
    import sys
    from pathlib import Path as _Path

    qlayer_cli = _Path(sys.executable).with_name("qlayer")
    write_project(project, loopback_server.url)
    loopback_server.queue(Reply(stream_usage=False))
    streamed("print a greeting", cache=False)
    done = subprocess.run([str(qlayer_cli), "usage", "--json"],
                          capture_output=True, text=True, cwd=project, timeout=120,
                          env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    assert done.returncode == 0, done.stderr
    assert '"estimated_calls": 1' in done.stdout


def test_budget_pads_an_estimated_cost(project: Path, loopback_server: LoopbackServer) -> None:
    write_project(project, loopback_server.url, '[[budgets]]\nscope = "project"\nlimit_usd = 5\n')
    loopback_server.queue(Reply(stream_usage=False))
    _, generation = streamed("print a greeting", cache=False)
    assert generation.tokens_estimated
    assert generation.cost_usd
    assert budget_spent(project) >= budget.ESTIMATE_FACTOR * generation.cost_usd
