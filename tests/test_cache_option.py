"""``generate(cache=...)``: True (exact and semantic), "exact" (exact only) or False."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import quantumlayer_nb as qlayer
from quantumlayer_nb.errors import RequestError
from quantumlayer_nb.ledger import events
from quantumlayer_nb.testing import LoopbackServer

ASKED = "plot revenue by month"
PARAPHRASE = "chart the revenue per month"


def test_paraphrase_is_a_semantic_hit_that_says_what_it_matched(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    qlayer.generate(ASKED, temperature=0)
    hit = qlayer.generate(PARAPHRASE, temperature=0)
    assert hit.cached
    assert hit.cache_kind == "semantic"
    assert hit.similar_to == ASKED
    assert loopback_server.request_count == 1
    (data,) = events(loop_project / ".qlayer").filter("kind = 'cache_hit'").project(
        "data").fetchall()
    assert json.loads(data[0])["cache_kind"] == "semantic"
    assert json.loads(data[0])["similar_to"] == ASKED


def test_cache_exact_turns_the_semantic_match_off_for_the_call(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    qlayer.generate(ASKED, temperature=0)
    live = qlayer.generate(PARAPHRASE, temperature=0, cache="exact")
    assert not live.cached
    assert loopback_server.request_count == 2


def test_cache_exact_still_answers_an_exact_repeat(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    first = qlayer.generate(ASKED, temperature=0)
    again = qlayer.generate(ASKED, temperature=0, cache="exact")
    assert again.cached
    assert again.cache_kind == "exact"
    assert again.text == first.text
    assert loopback_server.request_count == 1


def test_cache_takes_only_true_false_or_exact(loop_project: Path) -> None:
    with pytest.raises(RequestError, match='"exact"'):
        qlayer.generate(ASKED, cache="semantic")  # type: ignore[call-overload]
    with pytest.raises(RequestError):
        qlayer.generate(ASKED, cache=1)  # type: ignore[call-overload]
