"""``qlayer.record(name, value)``: keep a value a notebook computed, on the ledger.

A sweep collects these into one table with each run's parameters; ``qlayer runs show`` and
``RunResult.recorded`` list them. The value must be JSON-serialisable (numbers, text, lists,
mappings); a numpy scalar or a pandas value is converted with ``.item()``/``.tolist()``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from quantumlayer_nb._env import env_get
from quantumlayer_nb.errors import RequestError

__all__ = ["record", "recorded_values"]


def _plain(value: Any) -> Any:
    for method in ("item", "tolist", "to_dict"):
        convert = getattr(value, method, None)
        if callable(convert) and not isinstance(value, (str, bytes)):
            try:
                return convert()
            except (TypeError, ValueError):
                continue
    return value


def record(name: str, value: Any) -> Any:
    """Record ``value`` under ``name`` for this run (or this session outside a run).

    Args:
        name: A short name, e.g. ``"accuracy"``.
        value: A JSON-serialisable value.

    Returns:
        The value, so ``acc = qlayer.record("accuracy", acc)`` reads naturally.

    Raises:
        RequestError: the name is empty or the value cannot be stored as JSON.
    """
    if not isinstance(name, str) or not name.strip():
        raise RequestError("record(name, value) needs a non-empty name, e.g. 'accuracy'.")
    plain = _plain(value)
    try:
        json.dumps(plain, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise RequestError(
            f"record({name!r}, ...) cannot store a {type(value).__name__} ({exc}). Record "
            "numbers, text, lists or mappings; convert other objects first."
        ) from exc
    from quantumlayer_nb.config import get_settings
    from quantumlayer_nb.ledger.events import ledger_for

    settings = get_settings()
    ledger_for(settings.data_path).append({
        "kind": "record", "run_id": env_get("QLAYER_RUN_ID"),
        "notebook": env_get("QLAYER_NOTEBOOK"), "cell": env_get("QLAYER_CELL"),
        "project": settings.project, "user": settings.user,
        "data": {"name": name, "value": plain},
    })
    return value


def recorded_values(data_dir: Path, run_id: str) -> dict[str, Any]:
    """The values a run recorded, by name (the last value of a name wins)."""
    import duckdb

    from quantumlayer_nb.ledger.query import events

    con = duckdb.connect()
    events(data_dir, con).create_view("ev")
    rows = con.sql(
        "SELECT CAST(data AS VARCHAR) FROM ev WHERE kind = 'record' AND run_id = ? ORDER BY ts",
        params=[run_id]).fetchall()
    values: dict[str, Any] = {}
    for (data,) in rows:
        item = json.loads(data)
        values[item["name"]] = item["value"]
    return values
