"""Read the ledger: every segment of every process, through duckdb, without any lock.

``events`` and ``usage`` return duckdb relations (call ``.df()``, ``.fetchall()``, ``.pl()``
or compose more SQL on them); ``read_new`` tails the segments incrementally for followers.
duckdb is imported on first use, never at package import.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quantumlayer_nb.errors import RequestError
from quantumlayer_nb.ledger._chain import (
    SEGMENT_SUFFIX,
    LedgerWarning,
    ledger_dir,
    segment_paths,
    writer_alive,
)

if TYPE_CHECKING:
    import duckdb

__all__ = ["EVENT_COLUMNS", "USAGE_GROUPS", "events", "read_new", "usage"]

EVENT_COLUMNS: dict[str, str] = {
    "event_id": "VARCHAR",
    "kind": "VARCHAR",
    "ts": "TIMESTAMPTZ",
    "project": "VARCHAR",
    "user": "VARCHAR",
    "notebook": "VARCHAR",
    "run_id": "VARCHAR",
    "cell": "VARCHAR",
    "call_id": "VARCHAR",
    "attempt": "BIGINT",
    "route": "VARCHAR",
    "deployment": "VARCHAR",
    "model_requested": "VARCHAR",
    "model_served": "VARCHAR",
    "tokens_in": "BIGINT",
    "tokens_out": "BIGINT",
    "tokens_estimated": "BOOLEAN",
    "cost_usd": "DOUBLE",
    "cost_known": "BOOLEAN",
    "saved_usd": "DOUBLE",
    "latency_ms": "DOUBLE",
    "ttft_ms": "DOUBLE",
    "outcome": "VARCHAR",
    "error_class": "VARCHAR",
    "error_message": "VARCHAR",
    "prompt_hash": "VARCHAR",
    "response_hash": "VARCHAR",
    "prompt": "VARCHAR",
    "response": "VARCHAR",
    "tags": "VARCHAR[]",
    "data": "JSON",
    "segment": "VARCHAR",
    "seq": "BIGINT",
    "prev_hash": "VARCHAR",
    "hash": "VARCHAR",
}
"""The explicit schema every segment is read with, so events of any kind union cleanly."""

USAGE_GROUPS: dict[str, str] = {
    "model": "coalesce(model_served, model_requested)",
    "day": "CAST(timezone('UTC', ts) AS DATE)",
    "user": '"user"',
    "project": "project",
    "deployment": "deployment",
    "route": "route",
}
"""The values ``usage(by=...)`` accepts, and the SQL expression each groups by."""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _source_sql(data_dir: Path, paths: list[Path]) -> str:
    """Return a SELECT over all complete events (no ORDER BY), or an empty typed SELECT."""
    if not paths:
        columns = ", ".join(f'CAST(NULL AS {t}) AS "{name}"' for name, t in EVENT_COLUMNS.items())
        return f"SELECT {columns} WHERE false"
    folder = str(ledger_dir(data_dir))
    if any(char in folder for char in "*?[]{}"):  # a literal list when the folder looks like a glob
        files = "[" + ", ".join(_literal(str(p)) for p in paths) + "]"
    else:
        files = _literal(os.path.join(folder, f"*{SEGMENT_SUFFIX}"))
    schema = ", ".join(f"{_literal(name)}: {_literal(t)}" for name, t in EVENT_COLUMNS.items())
    columns = "{" + schema + "}"
    # A torn or damaged line comes back as an all-NULL row under ignore_errors: drop it.
    return (
        f"SELECT * FROM read_json({files}, format='newline_delimited', columns={columns}, "
        "ignore_errors=true) WHERE hash IS NOT NULL"
    )


def _warn_torn(paths: Iterable[Path], stacklevel: int) -> None:
    """Warn once per segment that ends mid-line; reads only the last byte of each file."""
    for path in paths:
        try:
            with path.open("rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                if size == 0:
                    continue
                handle.seek(size - 1)
                last = handle.read(1)
        except OSError:
            continue
        segment = path.name[: -len(SEGMENT_SUFFIX)]
        if last != b"\n" and writer_alive(segment) is not True:  # a live writer may be mid-line
            warnings.warn(
                LedgerWarning(
                    f"Ledger segment {path.name} ends with an incomplete line (its writer was "
                    "probably killed mid-write); that line is skipped. Run "
                    "quantumlayer_nb.ledger.verify(data_dir) to check the rest of the segment."
                ),
                stacklevel=stacklevel + 1,
            )


def _connect(con: duckdb.DuckDBPyConnection | None) -> duckdb.DuckDBPyConnection:
    if con is not None:
        return con
    import duckdb

    return duckdb.connect()


def events(data_dir: Path, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyRelation:
    """Return every complete event of every segment, ordered by time.

    A segment whose last line is incomplete (its writer was killed mid-write) is read
    without that line, and a ``LedgerWarning`` names it.

    Args:
        data_dir: The project's data folder (segments are in ``data_dir/ledger/``).
        con: A duckdb connection to build the relation on; a new in-memory one by default.

    Returns:
        A relation with the columns of ``EVENT_COLUMNS`` (empty if there is no event yet).
    """
    paths = segment_paths(data_dir)
    _warn_torn(paths, stacklevel=2)
    return _connect(con).sql(f"{_source_sql(data_dir, paths)} ORDER BY ts, segment, seq")


def _as_utc_iso(name: str, value: datetime | date | str) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as err:
            raise RequestError(
                f"usage({name}={value!r}): not an ISO-8601 date or time. "
                "Pass e.g. '2026-11-01', '2026-11-01T12:00:00+00:00' or a datetime."
            ) from err
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat()


def usage(
    data_dir: Path,
    by: str | None = None,
    since: datetime | date | str | None = None,
    until: datetime | date | str | None = None,
    project: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> duckdb.DuckDBPyRelation:
    """Sum calls, errors, tokens and cost over ``call`` and ``cache_hit`` events.

    Args:
        data_dir: The project's data folder.
        by: Group by ``"model"`` (served, else requested), ``"day"`` (UTC), ``"user"``,
            ``"project"``, ``"deployment"`` or ``"route"``; None for one total row.
        since: Keep events at or after this time (naive values are UTC).
        until: Keep events before this time (naive values are UTC).
        project: Keep only this project's events.
        con: A duckdb connection; a new in-memory one by default.

    Returns:
        A relation with the group column (if ``by``), ``calls``, ``errors``, ``cache_hits``,
        ``tokens_in``, ``tokens_out``, ``cost_usd`` (sum of known costs),
        ``estimated_calls`` (calls whose tokens, and so cost, were estimated because the
        provider sent no usage: their share of the figures is approximate),
        ``unknown_cost_calls``, ``saved_usd`` and ``p50_latency_ms`` (calls, not cache hits).

    Raises:
        RequestError: ``by`` is not one of the groupings, or a time does not parse.
    """
    if by is not None and by not in USAGE_GROUPS:
        raise RequestError(
            f"usage(by={by!r}) is not a grouping. Choose one of: "
            f"{', '.join(USAGE_GROUPS)}, or None for one total row."
        )
    conditions = ["kind IN ('call', 'cache_hit')"]
    params: list[str] = []
    if since is not None:
        conditions.append("ts >= CAST(? AS TIMESTAMPTZ)")
        params.append(_as_utc_iso("since", since))
    if until is not None:
        conditions.append("ts < CAST(? AS TIMESTAMPTZ)")
        params.append(_as_utc_iso("until", until))
    if project is not None:
        conditions.append("project = ?")
        params.append(project)
    key = f'{USAGE_GROUPS[by]} AS "{by}", ' if by is not None else ""
    group = "GROUP BY ALL ORDER BY 1 NULLS LAST" if by is not None else ""
    paths = segment_paths(data_dir)
    _warn_torn(paths, stacklevel=2)
    sql = f"""
        SELECT {key}
            count(*) AS calls,
            count(*) FILTER (WHERE outcome = 'error') AS errors,
            count(*) FILTER (WHERE kind = 'cache_hit' OR outcome = 'cache_hit') AS cache_hits,
            CAST(coalesce(sum(tokens_in), 0) AS BIGINT) AS tokens_in,
            CAST(coalesce(sum(tokens_out), 0) AS BIGINT) AS tokens_out,
            coalesce(sum(cost_usd) FILTER (WHERE cost_known), 0.0) AS cost_usd,
            count(*) FILTER (WHERE kind = 'call' AND tokens_estimated) AS estimated_calls,
            count(*) FILTER (WHERE kind = 'call' AND cost_known IS NOT TRUE)
                AS unknown_cost_calls,
            coalesce(sum(saved_usd), 0.0) AS saved_usd,
            quantile_cont(latency_ms, 0.5) FILTER (WHERE kind = 'call') AS p50_latency_ms
        FROM ({_source_sql(data_dir, paths)}) AS ev
        WHERE {" AND ".join(conditions)}
        {group}
    """
    return _connect(con).sql(sql, params=params or None)


def read_new(
    data_dir: Path, cursor: dict[str, int] | None = None
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Return the complete events appended since ``cursor``, and the cursor to pass next.

    Costs one directory listing and one ``stat`` per segment when nothing changed. A line
    still being written is left for the next call. Events come back segment by segment (in
    segment-name order, which starts with the creation time), each in its written order.

    Args:
        data_dir: The project's data folder.
        cursor: Segment file name -> byte offset already read; None or {} to read everything.

    Returns:
        ``(events, cursor)``: the new events as dicts (JSON types; ``ts`` is an ISO string)
        and the updated cursor.
    """
    previous = cursor or {}
    updated: dict[str, int] = {}
    found: list[dict[str, Any]] = []
    try:
        entries = [e for e in os.scandir(ledger_dir(data_dir)) if e.name.endswith(SEGMENT_SUFFIX)]
    except FileNotFoundError:
        return [], {}
    for entry in sorted(entries, key=lambda e: e.name):
        offset = previous.get(entry.name, 0)
        try:
            size = entry.stat().st_size
            if size <= offset:
                if size < offset:
                    warnings.warn(
                        LedgerWarning(
                            f"Ledger segment {entry.name} shrank from {offset} to {size} bytes "
                            "since it was last read; it was truncated or replaced. Run "
                            "quantumlayer_nb.ledger.verify(data_dir) to check it."
                        ),
                        stacklevel=2,
                    )
                updated[entry.name] = size
                continue
            with open(entry.path, "rb") as handle:
                handle.seek(offset)
                chunk = handle.read(size - offset)
        except OSError:  # removed meanwhile (compaction): forget it
            continue
        end = chunk.rfind(b"\n")
        updated[entry.name] = offset + end + 1
        bad = 0
        for raw in chunk[:end].split(b"\n") if end >= 0 else []:
            if not raw.strip():
                continue
            try:
                found.append(json.loads(raw))
            except ValueError:
                bad += 1
        if bad:
            warnings.warn(
                LedgerWarning(
                    f"Skipped {bad} unreadable line(s) in ledger segment {entry.name}. Run "
                    "quantumlayer_nb.ledger.verify(data_dir) to find out what happened."
                ),
                stacklevel=2,
            )
    return found, updated
