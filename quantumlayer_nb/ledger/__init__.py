"""The ledger: every LLM call attempt, cache hit and evaluation sample, as one event.

Each process appends hash-chained JSON lines to its own segment file under
``data_dir/ledger/``; readers query all segments at once through duckdb. Nothing here
imports duckdb until a reader is called.

Example::

    from quantumlayer_nb.ledger import ledger_for, usage, verify

    ledger_for(data_dir).append({"kind": "call", "model_served": "gpt-4o-mini", "cost_usd": 0.001})
    usage(data_dir, by="model").df()
    verify(data_dir).ok
"""

from __future__ import annotations

from quantumlayer_nb.ledger._chain import LedgerWarning
from quantumlayer_nb.ledger.audit import AuditFinding, AuditReport, anchor, export, verify
from quantumlayer_nb.ledger.events import Ledger, LedgerEvent, ledger_for
from quantumlayer_nb.ledger.query import EVENT_COLUMNS, USAGE_GROUPS, events, read_new, usage

__all__ = [
    "EVENT_COLUMNS",
    "USAGE_GROUPS",
    "AuditFinding",
    "AuditReport",
    "Ledger",
    "LedgerEvent",
    "LedgerWarning",
    "anchor",
    "events",
    "export",
    "ledger_for",
    "read_new",
    "usage",
    "verify",
]
