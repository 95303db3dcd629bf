"""Budgets: reserve an estimate before a call, commit the actual cost after, release on failure.

State lives in one small sqlite file (``data_dir/budgets.sqlite``, WAL mode) shared by every
process of the project. A reservation is one ``BEGIN IMMEDIATE`` transaction that reads the
amount spent and reserved, checks the limit and inserts the reservation: the write lock is
held for that read-check-insert only (well under a millisecond), never across a call. So two
kernels on one budget overshoot a hard limit by at most what the actual costs exceed their
estimates, and the estimate is an upper bound (prompt bytes as tokens, plus max_tokens).

Unknown price: a deployment with no price (no override, not in litellm's cost map) reserves
$0 and commits $0; the call goes on and a :class:`BudgetWarning` says the budget cannot
see it. Give the deployment ``input_cost_per_token``/``output_cost_per_token`` to count it.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from quantumlayer_nb._ids import new_id
from quantumlayer_nb.config import Settings
from quantumlayer_nb.errors import BudgetExceeded
from quantumlayer_nb.routing.models import BudgetConfig

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "ESTIMATE_FACTOR",
    "BudgetStatus",
    "BudgetWarning",
    "Reservation",
    "applicable",
    "budget_label",
    "commit",
    "release",
    "reserve",
    "status",
]

DEFAULT_MAX_TOKENS = 1024
"""Completion tokens assumed for the estimate when the call sets no ``max_tokens``."""

ESTIMATE_FACTOR = 2.0
"""A call whose tokens were estimated (the provider sent no usage) is committed at twice its
estimated cost, or at the cost of one token per byte of prompt and answer if that is more
(``router.budget_charge``): a server's own tokenizer and chat template can count several
times what litellm's tokenizer sees, and under-counting must not beat a hard limit."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spend (
    id TEXT PRIMARY KEY, budget TEXT NOT NULL, period TEXT NOT NULL,
    amount REAL NOT NULL, state TEXT NOT NULL, ts REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS spend_budget ON spend (budget, period);
"""


class BudgetWarning(UserWarning):
    """A soft budget is exhausted, or a call's price is unknown to the budget."""


@dataclass(frozen=True)
class Reservation:
    """What one call holds on each budget that applies to it."""

    ids: tuple[tuple[str, str], ...]  # (budget key, reservation id)
    estimate_usd: float
    data_dir: Path


@dataclass(frozen=True)
class BudgetStatus:
    """One budget's state for its current period."""

    config: BudgetConfig
    label: str
    spent_usd: float
    reserved_usd: float
    resets: str | None

    def __repr__(self) -> str:
        from quantumlayer_nb._format import usd

        resets = f", resets {self.resets}" if self.resets else ""
        return (f"<BudgetStatus {self.label}: {usd(self.spent_usd)} of "
                f"{usd(self.config.limit_usd)} per {self.config.period}, "
                f"{usd(self.reserved_usd)} reserved{resets}>")

    def _repr_html_(self) -> str:
        from quantumlayer_nb.jupyter._views import budget_view

        return budget_view([self]).html()


def budget_label(config: BudgetConfig, settings: Settings) -> str:
    """``project sales``, ``user ana``, ``route coder``."""
    name = config.name or (settings.project if config.scope == "project" else settings.user)
    return f"{config.scope} {name}"


def applicable(settings: Settings, route: str | None) -> list[BudgetConfig]:
    """The budgets that a call by this project/user on ``route`` counts against."""
    names = {"project": settings.project, "user": settings.user, "route": route}
    return [
        config for config in settings.budgets
        if names[config.scope] is not None and config.name in (None, names[config.scope])
    ]


def _period(config: BudgetConfig, now: dt.datetime) -> tuple[str, str | None]:
    if config.period == "day":
        return now.strftime("%Y-%m-%d"), (now.date() + dt.timedelta(days=1)).isoformat()
    if config.period == "month":
        year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
        return now.strftime("%Y-%m"), dt.date(year, month, 1).isoformat()
    return "total", None


_local = threading.local()


_BUSY_S = 30.0


def _switch_to_wal(conn: sqlite3.Connection) -> None:
    """Put the store in WAL mode, waiting while another process does the same.

    Two processes that open a new store at once both ask for WAL; the switch needs the
    database to itself, and sqlite answers the loser "database is locked" at once instead of
    waiting out the busy timeout. The switch is made once per store, so waiting costs only
    the first call of a new project.
    """
    deadline = time.monotonic() + _BUSY_S
    pause = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def _connect(data_dir: Path) -> sqlite3.Connection:
    cache: dict[tuple[int, Path], sqlite3.Connection] = getattr(_local, "connections", None) or {}
    _local.connections = cache
    conn = cache.get((os.getpid(), data_dir))  # a forked child opens its own connection
    if conn is None:
        data_dir.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(data_dir / "budgets.sqlite", timeout=_BUSY_S, isolation_level=None)
        _switch_to_wal(conn)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)
        cache[(os.getpid(), data_dir)] = conn
    return conn


def _key(config: BudgetConfig, settings: Settings) -> str:
    return budget_label(config, settings)


def _exceeded(config: BudgetConfig, label: str, spent: float, resets: str | None) -> str:
    when = {"day": "today", "month": "this month", "total": "in total"}[config.period]
    scope_name = label.split(" ", 1)[1]
    raise_it = f"qlayer budget set {config.scope} {scope_name} {config.limit_usd * 2:g}"
    tail = f" or wait until {resets}" if resets else ""
    return (
        f"Budget '{label}' exhausted: spent ${spent:.2f} of ${config.limit_usd:.2f} {when}. "
        f"Raise it with {raise_it}{tail}."
    )


def reserve(
    settings: Settings, route: str | None, estimate_usd: float | None, *, label: str = ""
) -> Reservation | None:
    """Hold ``estimate_usd`` on every applicable budget, or raise.

    Returns:
        A :class:`Reservation` to commit or release; None when no budget applies.

    Raises:
        BudgetExceeded: a hard budget would go over its limit. Nothing is held.
    """
    configs = applicable(settings, route)
    if not configs:
        return None
    if estimate_usd is None:
        warnings.warn(
            f"The price of {label or 'this deployment'} is unknown, so the budget counts it "
            "as $0. Set input_cost_per_token/output_cost_per_token on the deployment.",
            BudgetWarning,
            stacklevel=3,
        )
        estimate_usd = 0.0
    now = dt.datetime.now()
    conn = _connect(settings.data_path)
    held: list[tuple[str, str]] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for config in configs:
            key = _key(config, settings)
            period, resets = _period(config, now)
            (spent,) = conn.execute(
                "SELECT COALESCE(SUM(amount), 0) FROM spend WHERE budget=? AND period=?",
                (key, period),
            ).fetchone()
            if spent + estimate_usd > config.limit_usd:
                message = _exceeded(config, key, spent, resets)
                if config.kind == "hard":
                    raise BudgetExceeded(message)
                warnings.warn(message, BudgetWarning, stacklevel=3)
            rid = new_id()
            conn.execute(
                "INSERT INTO spend VALUES (?, ?, ?, ?, 'reserved', ?)",
                (rid, key, period, estimate_usd, now.timestamp()),
            )
            held.append((key, rid))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return Reservation(tuple(held), estimate_usd, settings.data_path)


def commit(reservation: Reservation | None, actual_usd: float | None) -> None:
    """Replace the estimate with what the call cost (unknown cost: $0)."""
    if reservation is None:
        return
    conn = _connect(reservation.data_dir)
    conn.executemany(
        "UPDATE spend SET amount=?, state='committed' WHERE id=?",
        [(actual_usd or 0.0, rid) for _, rid in reservation.ids],
    )


def release(reservation: Reservation | None) -> None:
    """Give back a failed call's reservation."""
    if reservation is None:
        return
    conn = _connect(reservation.data_dir)
    conn.executemany("DELETE FROM spend WHERE id=?", [(rid,) for _, rid in reservation.ids])


def status(settings: Settings) -> list[BudgetStatus]:
    """Every configured budget with what is spent and reserved in its current period."""
    conn = _connect(settings.data_path)
    now = dt.datetime.now()
    found = []
    for config in settings.budgets:
        key = _key(config, settings)
        period, resets = _period(config, now)
        rows = dict(conn.execute(
            "SELECT state, COALESCE(SUM(amount), 0) FROM spend WHERE budget=? AND period=? "
            "GROUP BY state", (key, period),
        ).fetchall())
        found.append(BudgetStatus(config, key, float(rows.get("committed", 0.0)),
                                  float(rows.get("reserved", 0.0)), resets))
    return found
