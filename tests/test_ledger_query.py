"""Readers: events() and usage() through duckdb, read_new() for followers."""

from __future__ import annotations

import json
import re
import time
import warnings
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from quantumlayer_nb.errors import RequestError
from quantumlayer_nb.ledger import (
    EVENT_COLUMNS,
    USAGE_GROUPS,
    Ledger,
    LedgerWarning,
    events,
    read_new,
    usage,
)


def _call(**fields: Any) -> dict[str, Any]:
    return {"kind": "call", "outcome": "ok", **fields}


def _ledger_with(data_dir: Path, *events_: dict[str, Any]) -> Path:
    ledger = Ledger(data_dir)
    for event in events_:
        ledger.append(event)
    path = ledger.path
    ledger.close()
    assert path is not None
    return path


@pytest.fixture
def spend(tmp_path: Path) -> Path:
    """Two segments: calls on two models and days, an error, a cache hit, an unknown price."""
    _ledger_with(
        tmp_path,
        _call(
            ts="2026-03-01T10:00:00Z",
            model_served="gpt-a",
            user="ada",
            project="p1",
            tokens_in=100,
            tokens_out=10,
            cost_usd=0.5,
            latency_ms=100.0,
        ),
        _call(
            ts="2026-03-01T11:00:00Z",
            model_served="gpt-a",
            user="ada",
            project="p1",
            tokens_in=50,
            tokens_out=5,
            cost_usd=0.25,
            latency_ms=300.0,
        ),
        {"kind": "eval_sample", "data": {"task": "t1", "passed": True}},
    )
    _ledger_with(
        tmp_path,
        _call(
            ts="2026-03-02T09:00:00Z",
            model_requested="local-b",
            user="bob",
            project="p2",
            tokens_in=70,
            latency_ms=50.0,
        ),
        _call(
            ts="2026-03-02T09:30:00Z",
            model_requested="local-b",
            user="bob",
            project="p2",
            outcome="error",
            error_class="ProviderTimeout",
            cost_usd=0.0,
        ),
        {
            "kind": "cache_hit",
            "ts": "2026-03-02T10:00:00Z",
            "model_served": "gpt-a",
            "user": "bob",
            "project": "p2",
            "outcome": "cache_hit",
            "cost_usd": 0.0,
            "saved_usd": 0.5,
            "latency_ms": 1.0,
        },
    )
    return tmp_path


def test_events_reads_every_segment_with_the_explicit_columns(spend: Path) -> None:
    relation = events(spend)
    assert relation.columns == list(EVENT_COLUMNS)
    kinds = [row[0] for row in relation.select("kind").fetchall()]
    assert kinds.count("call") == 4
    assert kinds.count("segment_open") == 2


def test_events_of_different_kinds_union_with_data_as_json(spend: Path) -> None:
    rows = events(spend).filter("kind = 'eval_sample'").select("data->>'task'").fetchall()
    assert rows == [("t1",)]


def test_events_come_back_in_time_order(spend: Path) -> None:
    stamps = [row[0] for row in events(spend).select("ts").fetchall()]
    assert stamps == sorted(stamps)


def test_events_accept_a_given_connection(spend: Path) -> None:
    con = duckdb.connect()
    events(spend, con=con).create_view("ledger_events")
    assert con.sql("SELECT count(*) FROM ledger_events WHERE kind='call'").fetchall() == [(4,)]


def test_empty_ledger_gives_an_empty_relation_with_the_same_columns(tmp_path: Path) -> None:
    relation = events(tmp_path / "nothing-here")
    assert relation.columns == list(EVENT_COLUMNS)
    assert relation.fetchall() == []


def test_torn_last_line_is_skipped_and_reported(tmp_path: Path) -> None:
    path = _ledger_with(tmp_path, _call(), _call())
    with path.open("ab") as handle:
        handle.write(b'{"kind":"call","event_id":"torn","data":{"blob":"xx')
    with pytest.warns(LedgerWarning, match=re.escape(path.name)):
        rows = events(tmp_path).fetchall()
    assert len(rows) == 4  # open, two calls, close
    assert all(row[0] != "torn" for row in rows)


def test_line_in_flight_from_a_running_writer_is_skipped_silently(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    ledger.append(_call())
    assert ledger.path is not None
    with ledger.path.open("ab") as handle:  # as seen while a big line is being written
        handle.write(b'{"kind":"call","data":{"blob":"xx')
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert len(events(tmp_path).fetchall()) == 2
    finally:
        ledger._abandon_segment()


def test_intact_ledger_reads_without_warnings(spend: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(events(spend).fetchall()) == 10


def test_usage_totals_calls_errors_cache_hits_tokens_and_costs(spend: Path) -> None:
    relation = usage(spend)
    row = dict(zip(relation.columns, relation.fetchall()[0], strict=True))
    assert row == {
        "calls": 5,
        "errors": 1,
        "cache_hits": 1,
        "tokens_in": 220,
        "tokens_out": 15,
        "cost_usd": 0.75,
        "estimated_calls": 0,
        "unknown_cost_calls": 1,
        "saved_usd": 0.5,
        "p50_latency_ms": 100.0,
    }


def test_usage_by_model_uses_served_then_requested_model(spend: Path) -> None:
    rows = usage(spend, by="model").select("model, calls, cost_usd").fetchall()
    assert rows == [("gpt-a", 3, 0.75), ("local-b", 2, 0.0)]


def test_usage_by_day_groups_on_utc_dates(spend: Path) -> None:
    rows = usage(spend, by="day").select("day, calls").fetchall()
    assert rows == [(date(2026, 3, 1), 2), (date(2026, 3, 2), 3)]


def test_usage_filters_by_time_and_project(spend: Path) -> None:
    assert usage(spend, since="2026-03-02").select("calls").fetchall() == [(3,)]
    assert usage(spend, until=date(2026, 3, 2)).select("calls").fetchall() == [(2,)]
    assert usage(spend, project="p2").select("calls").fetchall() == [(3,)]


def test_usage_by_user_counts_each_user(spend: Path) -> None:
    assert usage(spend, by="user").select('"user", calls').fetchall() == [("ada", 2), ("bob", 3)]


def test_usage_of_an_empty_ledger_is_one_zero_row(tmp_path: Path) -> None:
    assert usage(tmp_path).select("calls, cost_usd").fetchall() == [(0, 0.0)]


def test_usage_with_a_bad_grouping_lists_the_choices(tmp_path: Path) -> None:
    with pytest.raises(RequestError) as caught:
        usage(tmp_path, by="colour")
    assert all(choice in str(caught.value) for choice in USAGE_GROUPS)


def test_usage_with_a_bad_time_says_how_to_write_one(tmp_path: Path) -> None:
    with pytest.raises(RequestError, match="ISO-8601"):
        usage(tmp_path, since="last tuesday")


def test_read_new_returns_everything_then_only_what_was_appended(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    ledger.append(_call(user="first"))
    found, cursor = read_new(tmp_path)
    assert [e["kind"] for e in found] == ["segment_open", "call"]
    ledger.append(_call(user="second"))
    found, cursor = read_new(tmp_path, cursor)
    assert [e.get("user") for e in found] == ["second"]
    ledger.close()


def test_read_new_with_nothing_new_returns_nothing_and_the_same_cursor(spend: Path) -> None:
    _, cursor = read_new(spend)
    found, again = read_new(spend, cursor)
    assert found == []
    assert again == cursor


def test_read_new_leaves_an_incomplete_line_for_the_next_call(tmp_path: Path) -> None:
    path = _ledger_with(tmp_path, _call())
    line = json.dumps({"kind": "call", "user": "late"}).encode()
    with path.open("ab") as handle:
        handle.write(line[:10])
    found, cursor = read_new(tmp_path)
    assert len(found) == 3
    with path.open("ab") as handle:
        handle.write(line[10:] + b"\n")
    found, _ = read_new(tmp_path, cursor)
    assert [e["user"] for e in found] == ["late"]


def test_read_new_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert read_new(tmp_path / "absent") == ([], {})


def test_read_new_is_cheap_when_nothing_changed(tmp_path: Path) -> None:
    for _ in range(40):
        _ledger_with(tmp_path, _call())
    _, cursor = read_new(tmp_path)
    start = time.perf_counter()
    for _ in range(20):
        read_new(tmp_path, cursor)
    per_call_ms = (time.perf_counter() - start) / 20 * 1000
    assert per_call_ms < 20, f"read_new over 40 unchanged segments took {per_call_ms:.1f} ms"
