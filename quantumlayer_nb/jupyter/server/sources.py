"""What the server reads besides the ledger: the settings, the budget store, the job records.

All of it read-only. The budget store is opened with sqlite's ``mode=ro``: a reader in WAL
mode never blocks a writer, and the server never writes the store (``routing.budget.status``
would create the file and switch it to WAL, so it is not used here).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quantumlayer_nb.jobs import (
    RECORD_SUFFIX,
    effective_status,
    jobs_dir,
    read_record,
    request_cancel,
)

if TYPE_CHECKING:
    from quantumlayer_nb.config import Settings

__all__ = ["BudgetReader", "JobsReader", "SettingsSource", "budget_rows"]

RECENT_JOBS = 50
"""Finished jobs listed besides the running ones (newest first)."""


class SettingsSource:
    """The project's settings, loaded from ``root`` and reloaded when its files change.

    Args:
        root: The folder the project is found from (the server's root_dir).
        data_dir: A data folder that overrides the settings' ``data_dir``.
    """

    def __init__(self, root: Path, data_dir: Path | None = None) -> None:
        self.root = Path(root)
        self.data_dir_override = data_dir
        self._settings: Settings | None = None
        self._stamp: tuple[float, ...] = ()
        self.error: str | None = None
        self._lock = threading.Lock()

    def get(self) -> Settings | None:
        """The settings (None if they do not load: ``error`` says why)."""
        with self._lock:
            stamp = self._files_stamp()  # a few stats: config edits show on the next poll
            if self._settings is not None and stamp == self._stamp:
                return self._settings
            from quantumlayer_nb.config import load_settings
            from quantumlayer_nb.errors import QLayerError

            try:
                settings = load_settings(self.root)
            except QLayerError as exc:
                self.error = str(exc)
                return self._settings
            if self.data_dir_override is not None:
                settings = settings.model_copy(update={"data_dir": self.data_dir_override})
            self._settings, self._stamp, self.error = settings, stamp, None
            return settings

    def _files_stamp(self) -> tuple[float, ...]:
        from quantumlayer_nb.config import find_project_root

        root = find_project_root(self.root)
        stamps = []
        for path in (root / "qlayer.toml", root / "pyproject.toml",
                     Path(os.environ.get("QLAYER_CONFIG", "") or root / "qlayer.toml")):
            try:
                stamps.append(path.stat().st_mtime)
            except OSError:
                stamps.append(0.0)
        return (*stamps, hash(root))

    def data_path(self) -> Path:
        """The data folder: the override, else the settings', else ``root/.qlayer``."""
        if self.data_dir_override is not None:
            return self.data_dir_override
        settings = self.get()
        return settings.data_path if settings is not None else self.root / ".qlayer"


class BudgetReader:
    """Reads ``budgets.sqlite`` read-only (one connection per thread, opened lazily)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _connection(self, path: Path) -> sqlite3.Connection | None:
        cached: tuple[Path, sqlite3.Connection] | None = getattr(self._local, "conn", None)
        if cached is not None and cached[0] == path:
            return cached[1]
        if not path.is_file():
            return None
        try:
            conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=0.05,
                                   isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            return None
        self._local.conn = (path, conn)
        return conn

    def totals(self, data_dir: Path, key: str, period: str) -> tuple[float, float]:
        """(committed, reserved) USD of one budget key in one period; zeros when unknown."""
        conn = self._connection(data_dir / "budgets.sqlite")
        if conn is None:
            return 0.0, 0.0
        try:
            rows = dict(conn.execute(
                "SELECT state, COALESCE(SUM(amount), 0) FROM spend WHERE budget=? AND period=? "
                "GROUP BY state", (key, period)).fetchall())
        except sqlite3.Error:  # no table yet, or busy for longer than the timeout
            self._local.conn = None
            return 0.0, 0.0
        return float(rows.get("committed", 0.0)), float(rows.get("reserved", 0.0))


def budget_rows(settings: Settings, reader: BudgetReader) -> list[dict[str, Any]]:
    """Every configured budget with what is spent and reserved in its current period."""
    from quantumlayer_nb.routing.budget import _period, budget_label

    now = dt.datetime.now()  # the store's periods are local-time, as routing.budget writes them
    found = []
    for config in settings.budgets:
        label = budget_label(config, settings)
        period, resets = _period(config, now)
        spent, reserved = reader.totals(settings.data_path, label, period)
        hard = config.kind == "hard"
        found.append({
            "name": label.split(" ", 1)[1], "scope": config.scope, "period": config.period,
            "spent_usd": round(spent, 8), "reserved_usd": round(reserved, 8),
            "limit_usd": config.limit_usd,
            "soft_limit_usd": None if hard else config.limit_usd, "hard": hard,
            "resets": resets, "fraction": round((spent + reserved) / config.limit_usd, 6),
            "label": label,
        })
    return found


class JobsReader:
    """Lists ``data_dir/jobs/*.json``, re-reading only the records that changed."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[int, int, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def jobs(self, data_dir: Path) -> list[dict[str, Any]]:
        """Running jobs and the latest finished ones, newest first, status brought up to date."""
        folder = jobs_dir(data_dir)
        with self._lock:
            try:
                entries = [e for e in os.scandir(folder)
                           if e.name.endswith(RECORD_SUFFIX) and not e.name.startswith(".")]
            except OSError:
                return []
            records = []
            seen = set()
            for entry in entries:
                seen.add(entry.name)
                try:
                    info = entry.stat()
                except OSError:
                    continue
                cached = self._cache.get(entry.name)
                if cached is not None and cached[:2] == (info.st_mtime_ns, info.st_size):
                    records.append(cached[2])
                    continue
                record = read_record(Path(entry.path))
                if record is not None:
                    self._cache[entry.name] = (info.st_mtime_ns, info.st_size, record)
                    records.append(record)
            for name in set(self._cache) - seen:
                del self._cache[name]
        shown = []
        for record in records:
            shown.append({**record, "status": effective_status(record)})
        shown.sort(key=lambda r: -float(r.get("started") or 0))
        running = [r for r in shown if r["status"] == "running"]
        finished = [r for r in shown if r["status"] != "running"][:RECENT_JOBS]
        return sorted(running + finished, key=lambda r: -float(r.get("started") or 0))

    def cancel(self, data_dir: Path, job_id: str) -> dict[str, Any] | None:
        """Set a job's cancel flag; return its record (None when there is no such job)."""
        record = read_record(jobs_dir(data_dir) / f"{job_id}{RECORD_SUFFIX}")
        if record is None:
            return None
        record = {**record, "status": effective_status(record)}
        if record["status"] == "running":
            with contextlib.suppress(OSError):
                request_cancel(data_dir, job_id)
        return record
