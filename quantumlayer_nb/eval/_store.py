"""Evaluation samples on the ledger: one ``eval_sample`` event per sample and round.

Writers append through the ledger (one segment per process, so pool and Dask workers never
contend); readers get typed columns through duckdb.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

__all__ = ["SAMPLE_COLUMNS", "finished_samples", "pass_rates", "record_sample",
           "samples_relation"]

SAMPLE_COLUMNS = (
    "run_id", "suite", "task_id", "model", "model_served", "sample", "round", "final",
    "passed", "outcome", "message", "duration_ms", "latency_ms", "tokens_in", "tokens_out",
    "cost_usd", "tags", "ts", "deployment", "stages", "check_passed",
)

_SAMPLES_SQL = """
SELECT run_id,
       data->>'suite' AS suite,
       data->>'task_id' AS task_id,
       model_requested AS model,
       model_served,
       CAST(data->>'sample' AS INTEGER) AS sample,
       CAST(data->>'round' AS INTEGER) AS round,
       CAST(data->>'final' AS BOOLEAN) AS final,
       CAST(data->>'passed' AS BOOLEAN) AS passed,
       outcome,
       data->>'message' AS message,
       CAST(data->>'duration_ms' AS DOUBLE) AS duration_ms,
       latency_ms, tokens_in, tokens_out, cost_usd, tags, ts,
       data->>'deployment' AS deployment,
       CAST(data->>'stages' AS INTEGER) AS stages,
       CAST(data->>'check_passed' AS BOOLEAN) AS check_passed
FROM qlayer_events WHERE kind = 'eval_sample'
"""


def record_sample(data_dir: Path, sample: dict[str, Any]) -> None:
    """Append one sample (one round of one generation) to the ledger.

    Args:
        data_dir: the project's data folder.
        sample: keys ``run_id``, ``suite``, ``task_id``, ``model``, ``model_served``,
            ``sample``, ``round``, ``final``, ``passed``, ``outcome``, ``message``,
            ``duration_ms``, ``latency_ms``, ``tokens_in``, ``tokens_out``, ``cost_usd``,
            ``tags``, ``call_id`` and optionally ``completion``; for a cascade route,
            ``deployment`` (the stage that served), ``stages`` (how many were tried) and
            ``check_passed`` (whether the serving stage passed the visible tests).
    """
    from quantumlayer_nb.ledger import ledger_for

    data = {key: sample.get(key) for key in (
        "suite", "task_id", "sample", "round", "final", "passed", "outcome", "message",
        "duration_ms", "completion", "isolation", "deployment", "stages", "check_passed")}
    # Every field is built here from JSON types: the ledger's trusted path skips validating
    # them again (same line written, a third of the time).
    ledger_for(Path(data_dir)).append_trusted({
        "kind": "eval_sample", "run_id": sample.get("run_id"), "call_id": sample.get("call_id"),
        "model_requested": sample.get("model"), "model_served": sample.get("model_served"),
        "tokens_in": sample.get("tokens_in"), "tokens_out": sample.get("tokens_out"),
        "cost_usd": sample.get("cost_usd"), "latency_ms": sample.get("latency_ms"),
        "outcome": sample.get("outcome"), "tags": list(sample.get("tags") or []), "data": data,
    })


def samples_relation(data_dir: Path, con: duckdb.DuckDBPyConnection | None = None
                     ) -> duckdb.DuckDBPyRelation:
    """Every recorded sample as a duckdb relation with typed columns (``SAMPLE_COLUMNS``).

    Args:
        data_dir: the project's data folder.
        con: a duckdb connection to build on (a new in-memory one by default).
    """
    import duckdb

    from quantumlayer_nb.ledger import events

    con = con or duckdb.connect()
    events(Path(data_dir), con).create_view("qlayer_events", replace=True)
    return con.sql(_SAMPLES_SQL)


def finished_samples(data_dir: Path, suite: str) -> set[tuple[str, str, int]]:
    """``(task_id, model, sample)`` of every sample of ``suite`` whose last round is recorded."""
    from quantumlayer_nb.ledger._chain import ledger_dir

    folder = ledger_dir(Path(data_dir))
    if not folder.is_dir() or not any(folder.iterdir()):
        return set()  # a fresh data folder: nothing to skip, and no need to start duckdb
    relation = samples_relation(data_dir)
    rows = relation.filter(f"final AND suite = {_quote(suite)}").project(
        "task_id, model, sample").fetchall()
    return {(str(task), str(model), int(sample)) for task, model, sample in rows}


def pass_rates(data_dir: Path, by: tuple[str, ...] = ("model", "tag"),
               suite: str | None = None) -> dict[tuple[str, ...], float]:
    """Share of samples that passed (last round), grouped, for the router's policies.

    Args:
        data_dir: the project's data folder.
        by: any of ``"model"``, ``"tag"``, ``"suite"``, ``"task_id"``, in the order of the
            keys returned.
        suite: only this suite.

    Returns:
        ``{(model, tag): rate}`` for the default ``by``; an empty dict with no sample yet.
    """
    allowed = {"model": "model", "tag": "tag", "suite": "suite", "task_id": "task_id"}
    unknown = [name for name in by if name not in allowed]
    if unknown or not by:
        raise ValueError(f"pass_rates: cannot group by {unknown or by}; use {sorted(allowed)}.")
    relation = samples_relation(data_dir)
    where = f"final AND suite = {_quote(suite)}" if suite else "final"
    source = relation.filter(where)
    if "tag" in by:
        source = source.project("*, unnest(CASE WHEN len(tags) = 0 THEN ['(none)'] "
                                "ELSE tags END) AS tag")
    keys = ", ".join(allowed[name] for name in by)
    rows = source.aggregate(f"{keys}, avg(CAST(passed AS DOUBLE)) AS rate", keys).fetchall()
    return {tuple(str(value) for value in row[:-1]): float(row[-1]) for row in rows}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
