"""Export every complete ledger event to one JSON-lines or Parquet file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from quantumlayer_nb.errors import LedgerError, RequestError
from quantumlayer_nb.ledger._chain import segment_paths
from quantumlayer_nb.ledger.query import _source_sql, _warn_torn

__all__ = ["export"]


def _is_event_line(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw), dict)
    except ValueError:
        return False


def export(data_dir: Path, path: Path, format: Literal["jsonl", "parquet"] = "jsonl") -> int:
    """Write every complete event of the ledger to one file.

    ``jsonl`` copies the original lines, segment by segment, so the export still verifies
    line by line; ``parquet`` writes the typed ``events`` view through duckdb ``COPY``.

    Args:
        data_dir: The project's data folder.
        path: The file to write (replaced if it exists).
        format: ``"jsonl"`` or ``"parquet"``.

    Returns:
        The number of events written.

    Raises:
        RequestError: ``format`` is neither ``"jsonl"`` nor ``"parquet"``.
        LedgerError: The file could not be written.
    """
    if format not in ("jsonl", "parquet"):
        raise RequestError(f"export(format={format!r}): choose 'jsonl' or 'parquet'.")
    _warn_torn(segment_paths(data_dir), stacklevel=2)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        count = (
            _export_jsonl(data_dir, tmp) if format == "jsonl" else _export_parquet(data_dir, tmp)
        )
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise LedgerError(f"Could not export the ledger to {path}: {err}.") from err
    return count


def _export_jsonl(data_dir: Path, target: Path) -> int:
    count = 0
    with target.open("wb") as out:
        for segment in segment_paths(data_dir):
            *complete, _tail = segment.read_bytes().split(b"\n")
            for raw in complete:
                if _is_event_line(raw):
                    out.write(raw + b"\n")
                    count += 1
    return count


def _export_parquet(data_dir: Path, target: Path) -> int:
    import duckdb

    con = duckdb.connect()
    source = _source_sql(data_dir, segment_paths(data_dir))
    escaped = str(target).replace("'", "''")
    con.execute(f"COPY ({source} ORDER BY ts, segment, seq) TO '{escaped}' (FORMAT parquet)")
    return int(con.sql(f"SELECT count(*) FROM read_parquet('{escaped}')").fetchall()[0][0])
