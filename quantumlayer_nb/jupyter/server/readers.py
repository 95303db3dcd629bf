"""The server's incremental reader of the ledger, and the small aggregates it keeps.

:class:`LedgerReader` remembers how far it has read each segment file; a refresh lists the
ledger folder, ``stat``s the segments that are still open (a segment that logged
``segment_close`` never grows again and is not looked at), reads only the bytes appended
since, and parses only complete lines. Nothing here takes a lock another process could wait
on: segments are append-only files that their writers never lock.

What it keeps in memory, all updated event by event:

* spend per UTC day, project and user (calls, cache hits, money saved, estimated tokens);
* cost and calls per UTC day and model;
* per deployment, its latest attempts (time, latency, outcome, error) for the health view;
* the latest ``max_calls`` calls, one row per ``call_id`` with its route trace, sorted by
  time for paging and filtering;
* evaluation runs: per run and model, per task the samples and passes, and the cost.
"""

from __future__ import annotations

import bisect
import json
import os
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["CallRow", "DeploymentWindow", "EvalRun", "LedgerReader"]

SEGMENT_SUFFIX = ".jsonl"
MAX_CALLS = 100_000
"""Calls kept for the history endpoint (older ones are still in the ledger and its reports)."""
ATTEMPTS_PER_DEPLOYMENT = 2_000
"""Latest attempts kept per deployment for latency percentiles and error rates."""
T = TypeVar("T")
_RESORT_ABOVE = 256
"""More new calls than this in one refresh: sort once instead of inserting each."""


def _unix(ts: str) -> float:
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _integer(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _data(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("data")
    return data if isinstance(data, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class CallRow:
    """One call (all attempts sharing a ``call_id``), as the history endpoint shows it."""

    __slots__ = ("attempt", "cache_kind", "cached", "call_id", "cell", "cost_usd", "deployment",
                 "error_message", "latency_ms", "model_requested", "model_served", "notebook",
                 "outcome", "project", "prompt", "route_trace", "run_id", "similar_to",
                 "tokens_estimated", "tokens_in", "tokens_out", "ts", "user")

    def __init__(self, call_id: str, ts: str) -> None:
        self.call_id = call_id
        self.ts = ts
        self.attempt = -1
        self.project: str | None = None
        self.user: str | None = None
        self.model_requested: str | None = None
        self.deployment: str | None = None
        self.model_served: str | None = None
        self.outcome: str | None = None
        self.cache_kind: str | None = None
        self.similar_to: str | None = None
        self.notebook: str | None = None
        self.cell: str | None = None
        self.run_id: str | None = None
        self.error_message: str | None = None
        self.prompt: str | None = None
        self.cached = False
        self.tokens_estimated = False
        self.tokens_in: int | None = None
        self.tokens_out: int | None = None
        self.cost_usd: float | None = None
        self.latency_ms: float | None = None
        self.route_trace: list[tuple[str, str | None, str | None, float | None,
                                     float | None]] = []

    def absorb(self, event: dict[str, Any], data: dict[str, Any]) -> None:
        """Take one attempt of this call: add it to the trace; the latest attempt speaks."""
        kind = event.get("kind")
        deployment = _text(event.get("deployment"))
        reason = _text(data.get("reason"))
        if kind == "cache_hit":
            deployment = deployment or "cache"
            reason = reason or f"{data.get('cache_kind') or 'exact'} cache hit"
        cost = _number(event.get("cost_usd")) if event.get("cost_known", True) else None
        self.route_trace.append((deployment or "", reason, _text(event.get("outcome")),
                                 _number(event.get("latency_ms")), cost))
        attempt = _integer(event.get("attempt")) or 0
        if attempt < self.attempt and self.outcome == "ok":
            return
        self.attempt = attempt
        self.project = _text(event.get("project"))
        self.user = _text(event.get("user"))
        self.model_requested = _text(event.get("model_requested"))
        self.deployment = _text(event.get("deployment"))
        self.model_served = _text(event.get("model_served"))
        self.outcome = _text(event.get("outcome"))
        self.cached = kind == "cache_hit" or self.outcome == "cache_hit"
        self.cache_kind = (_text(data.get("cache_kind")) or "exact") if self.cached else None
        self.similar_to = _text(data.get("similar_to"))
        self.tokens_in = _integer(event.get("tokens_in"))
        self.tokens_out = _integer(event.get("tokens_out"))
        self.tokens_estimated = bool(event.get("tokens_estimated",
                                               data.get("tokens_estimated", False)))
        total_cost = [step[4] for step in self.route_trace]
        self.cost_usd = None if any(c is None for c in total_cost) else float(
            sum(c or 0.0 for c in total_cost))
        self.latency_ms = _number(event.get("latency_ms"))
        self.notebook = _text(event.get("notebook"))
        metadata = data.get("metadata")
        cell = event.get("cell") or data.get(
            "cell", metadata.get("cell") if isinstance(metadata, dict) else None)
        self.cell = None if cell is None or isinstance(cell, bool) else str(cell)
        self.run_id = _text(event.get("run_id"))
        self.error_message = _text(event.get("error_message"))
        prompt = _text(event.get("prompt"))
        if prompt is not None:
            self.prompt = prompt.lower()

    def as_json(self) -> dict[str, Any]:
        """The call as the ``calls`` endpoint returns it."""
        return {
            "call_id": self.call_id, "ts": self.ts, "project": self.project, "user": self.user,
            "model_requested": self.model_requested, "deployment": self.deployment,
            "model_served": self.model_served, "outcome": self.outcome, "cached": self.cached,
            "cache_kind": self.cache_kind, "similar_to": self.similar_to,
            "tokens_in": self.tokens_in, "tokens_out": self.tokens_out,
            "tokens_estimated": self.tokens_estimated, "cost_usd": self.cost_usd,
            "latency_ms": self.latency_ms, "notebook": self.notebook, "cell": self.cell,
            "run_id": self.run_id,
            "route_trace": [{"deployment": d, "reason": r, "outcome": o, "latency_ms": lat,
                             "cost_usd": c} for d, r, o, lat, c in self.route_trace],
            "error_message": self.error_message,
        }


@dataclass
class DaySpend:
    """One UTC day's spend of one project and user."""

    cost_usd: float = 0.0
    calls: int = 0
    cache_hits: int = 0
    saved_usd: float = 0.0
    unknown_cost_calls: int = 0
    tokens_estimated: bool = False


@dataclass
class DeploymentWindow:
    """The latest attempts of one deployment: ``(unix time, latency, ok, error class,
    error message)``; and its last error whatever its age."""

    model: str | None = None
    attempts: deque[tuple[float, float | None, bool, str | None, str | None]] = field(
        default_factory=lambda: deque(maxlen=ATTEMPTS_PER_DEPLOYMENT))
    last_error: str | None = None
    last_error_class: str | None = None
    last_error_ts: float = 0.0


@dataclass
class EvalRun:
    """One evaluation run: per model, per task ``[samples, passed]``; cost and samples."""

    suite: str | None
    started: str
    tasks: dict[str, dict[str, list[int]]] = field(default_factory=lambda: defaultdict(dict))
    cost_usd: dict[str, float] = field(default_factory=lambda: defaultdict(float))


class LedgerReader:
    """Follows ``data_dir/ledger/`` and keeps the aggregates the endpoints answer from.

    Args:
        data_dir: The project's data folder.
        max_calls: Calls kept for paging (the latest).
        min_interval_s: A refresh sooner than this after the last one does nothing, so
            endpoints polled together read the folder once.
    """

    def __init__(self, data_dir: Path, *, max_calls: int = MAX_CALLS,
                 min_interval_s: float = 0.0) -> None:
        self.data_dir = Path(data_dir)
        self.folder = self.data_dir / "ledger"
        self.max_calls = max_calls
        self.min_interval_s = min_interval_s
        self._lock = threading.Lock()  # this process's threads only, never another process
        self._offsets: dict[str, int] = {}
        self._closed: set[str] = set()
        self._last_refresh = 0.0
        self.events_read = 0
        self.bad_lines = 0
        self.version = 0
        """Grows whenever new events were read (a cache key for derived views)."""
        self.spend: dict[tuple[str, str, str], DaySpend] = defaultdict(DaySpend)
        self.model_days: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0])
        self.deployments: dict[str, DeploymentWindow] = defaultdict(DeploymentWindow)
        self.evals: dict[str, EvalRun] = {}
        self._calls: dict[str, CallRow] = {}
        self.rows: list[CallRow] = []
        """Calls sorted by the time of their first attempt, oldest first."""
        self.row_ts: list[str] = []

    def refresh(self, force: bool = False) -> int:
        """Read what was appended since the last refresh; return how many events."""
        with self._lock:
            return self._refresh(force)

    def _refresh(self, force: bool) -> int:
        now = time.monotonic()
        if not force and now - self._last_refresh < self.min_interval_s:
            return 0
        self._last_refresh = now
        return self._read_new()

    def answer(self, view: Callable[[LedgerReader], T]) -> T:
        """Refresh, then compute ``view(self)`` while no other thread changes the aggregates."""
        with self._lock:
            self._refresh(False)
            return view(self)

    def _read_new(self) -> int:
        try:
            entries = [e for e in os.scandir(self.folder) if e.name.endswith(SEGMENT_SUFFIX)]
        except OSError:  # no ledger yet
            return 0
        new_rows: list[CallRow] = []
        count = 0
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name in self._closed:
                continue
            offset = self._offsets.get(entry.name, 0)
            try:
                size = entry.stat().st_size
                if size <= offset:
                    continue
                with open(entry.path, "rb") as handle:
                    handle.seek(offset)
                    chunk = handle.read(size - offset)
            except OSError:  # removed meanwhile: its events stay counted
                continue
            end = chunk.rfind(b"\n")
            if end < 0:
                continue  # a line still being written: next time
            self._offsets[entry.name] = offset + end + 1
            for raw in chunk[:end].split(b"\n"):
                try:
                    event = json.loads(raw)
                except ValueError:
                    self.bad_lines += raw.strip() != b""
                    continue
                if isinstance(event, dict):
                    count += 1
                    if self._ingest(event, new_rows) == "segment_close":
                        self._closed.add(entry.name)
        if count:
            self.events_read += count
            self.version += 1
            self._index(new_rows)
        return count

    def _ingest(self, event: dict[str, Any], new_rows: list[CallRow]) -> str | None:
        kind = event.get("kind")
        if kind in ("call", "cache_hit"):
            self._ingest_call(event, new_rows)
        elif kind == "eval_sample":
            self._ingest_sample(event)
        return kind if isinstance(kind, str) else None

    def _ingest_call(self, event: dict[str, Any], new_rows: list[CallRow]) -> None:
        ts = _text(event.get("ts")) or ""
        data = _data(event)
        day = ts[:10]
        key = (day, _text(event.get("project")) or "", _text(event.get("user")) or "")
        spent = self.spend[key]
        cost = _number(event.get("cost_usd"))
        known = bool(event.get("cost_known", cost is not None)) and cost is not None
        call_id = _text(event.get("call_id")) or _text(event.get("event_id")) or ts
        row = self._calls.get(call_id)
        if row is None:
            row = self._calls[call_id] = CallRow(call_id, ts)
            new_rows.append(row)
            spent.calls += 1
        if event.get("kind") == "cache_hit" or event.get("outcome") == "cache_hit":
            spent.cache_hits += 1
            spent.saved_usd += _number(event.get("saved_usd")) or 0.0
        if known:
            spent.cost_usd += cost or 0.0
        elif event.get("kind") == "call":
            spent.unknown_cost_calls += 1
        if event.get("tokens_estimated", data.get("tokens_estimated")):
            spent.tokens_estimated = True
        model = _text(event.get("model_served")) or _text(event.get("model_requested")) or "?"
        per_model = self.model_days[(day, model)]
        per_model[0] += cost if known and cost else 0.0
        if row.attempt < 0:
            per_model[1] += 1
        row.absorb(event, data)
        deployment = _text(event.get("deployment"))
        if event.get("kind") == "call" and deployment:
            window = self.deployments[deployment]
            window.model = _text(event.get("model_served")) or window.model
            ok = event.get("outcome") == "ok"
            error_class = None if ok else _text(event.get("error_class")) or "error"
            message = None if ok else _text(event.get("error_message"))
            unix = _unix(ts)
            window.attempts.append((unix, _number(event.get("latency_ms")), ok, error_class,
                                    message))
            if not ok and unix >= window.last_error_ts:
                window.last_error_ts = unix
                window.last_error = message or error_class
                window.last_error_class = error_class

    def _ingest_sample(self, event: dict[str, Any]) -> None:
        data = _data(event)
        run_id = _text(event.get("run_id")) or "?"
        ts = _text(event.get("ts")) or ""
        run = self.evals.get(run_id)
        if run is None:
            run = self.evals[run_id] = EvalRun(_text(data.get("suite")), ts)
        run.started = min(run.started, ts) if ts else run.started
        model = _text(event.get("model_requested")) or _text(event.get("model_served")) or "?"
        run.cost_usd[model] += _number(event.get("cost_usd")) or 0.0
        if data.get("final"):
            counts = run.tasks[model].setdefault(str(data.get("task_id")), [0, 0])
            counts[0] += 1
            counts[1] += bool(data.get("passed"))

    def _index(self, new_rows: list[CallRow]) -> None:
        if not new_rows:
            return
        if len(new_rows) > _RESORT_ABOVE:
            self.rows.extend(new_rows)
            self.rows.sort(key=lambda row: row.ts)
            self.row_ts = [row.ts for row in self.rows]
        else:
            for row in new_rows:
                if not self.row_ts or row.ts >= self.row_ts[-1]:
                    self.rows.append(row)
                    self.row_ts.append(row.ts)
                else:
                    at = bisect.bisect_right(self.row_ts, row.ts)
                    self.rows.insert(at, row)
                    self.row_ts.insert(at, row.ts)
        excess = len(self.rows) - self.max_calls
        if excess > max(self.max_calls // 10, 0):
            for row in self.rows[:excess]:
                self._calls.pop(row.call_id, None)
            del self.rows[:excess]
            del self.row_ts[:excess]

    def ts_range(self, since: str | None, until: str | None) -> tuple[int, int]:
        """The index range ``[lo, hi)`` of calls with ``since <= ts < until``."""
        lo = bisect.bisect_left(self.row_ts, since) if since else 0
        hi = bisect.bisect_left(self.row_ts, until) if until else len(self.rows)
        start = max(0, len(self.rows) - self.max_calls)
        return max(lo, start), hi


def utc_now() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(timezone.utc)
