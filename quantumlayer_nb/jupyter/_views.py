"""What the line magics show: short tables a person reads, with money formatted for people.

A :class:`TableView` is what ``%qlayer usage``, ``budget`` and ``config`` return: its text is
an aligned table, its HTML a small table, and the raw values stay on ``.data``. The magics
display it once themselves and return it, so it is the cell's value without showing twice.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from quantumlayer_nb._format import usd

__all__ = ["TableView", "budget_view", "config_view", "usage_view"]


class TableView:
    """A titled table of formatted cells, and the raw values it was made from.

    Args:
        title: One line above the table.
        columns: Column headers.
        rows: Formatted cells, one list per row.
        data: The raw values (a list of statuses, a duckdb relation...), kept for code.
        note: One line below the table (empty for none).
    """

    def __init__(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]],
                 data: Any = None, note: str = "") -> None:
        self.title = title
        self.columns = list(columns)
        self.rows = [list(row) for row in rows]
        self.data = data
        self.note = note
        self._shown = False

    def text(self) -> str:
        """The table as aligned plain text."""
        cells = [self.columns, *self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.columns))]
        lines = [self.title] if self.title else []
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                  for row in cells]
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)

    def html(self) -> str:
        """The table as a small HTML table."""
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                       for row in self.rows)
        title = f"<div><b>{html.escape(self.title)}</b></div>" if self.title else ""
        note = f"<div><small>{html.escape(self.note)}</small></div>" if self.note else ""
        return (f'<div class="qlayer-table">{title}<table><thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>{note}</div>")

    def __repr__(self) -> str:
        return self.text()

    def __len__(self) -> int:
        return len(self.rows)

    def mark_shown(self) -> None:
        """Already displayed: the next display (the cell's ``Out``) shows nothing."""
        self._shown = True

    def _ipython_display_(self) -> None:
        if self._shown:
            self._shown = False
            return
        from IPython.display import display

        display({"text/plain": self.text(), "text/html": self.html()},  # type: ignore[no-untyped-call]
                raw=True)


def _int(value: Any) -> str:
    return f"{int(value):,}" if isinstance(value, int | float) else "—"


def usage_view(relation: Any) -> TableView:
    """Calls, tokens and cost per model from ``usage(by="model")``'s relation."""
    columns = list(relation.columns)
    records = [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]
    rows = []
    total = 0.0
    for record in records:
        cost = record.get("cost_usd")
        total += float(cost or 0.0)
        rows.append([str(record.get("model", "—")), _int(record.get("calls")),
                     _int(record.get("tokens_in")), _int(record.get("tokens_out")),
                     usd(cost), _int(record.get("cache_hits"))
                     if "cache_hits" in record else "—"])
    shown = ["model", "calls", "tokens in", "tokens out", "cost", "cache hits"]
    if not any("cache_hits" in record for record in records):
        shown = shown[:-1]
        rows = [row[:-1] for row in rows]
    note = f"total {usd(total)}" if records else "No calls recorded yet in this project."
    return TableView("usage per model", shown, rows, data=relation, note=note)


def budget_view(statuses: Sequence[Any]) -> TableView:
    """Each budget with spent, reserved and limit for its period."""
    rows = []
    for item in statuses:
        config = item.config
        fraction = item.spent_usd / config.limit_usd if config.limit_usd else 0.0
        rows.append([item.label, str(getattr(config, "kind", "")), str(config.period),
                     usd(item.spent_usd), usd(item.reserved_usd), usd(config.limit_usd),
                     f"{fraction:.0%}", str(item.resets or "—")])
    return TableView("budgets", ["budget", "kind", "period", "spent", "reserved", "limit",
                                 "used", "resets"], rows, data=list(statuses))


def config_view(settings: Any) -> TableView:
    """The settings that matter in a notebook: no key values, and no key variable names.

    The values come from ``config.redacted_view(settings)`` when the configuration module
    has it (a password in an ``api_base`` URL is replaced there), else from the settings.
    """
    from quantumlayer_nb import config

    redacted = getattr(config, "redacted_view", None)
    data: dict[str, Any] = (redacted(settings) if callable(redacted)
                            else settings.model_dump(mode="json"))
    rows = [["project", str(data.get("project") or "—")], ["user", str(data.get("user") or "—")],
            ["default", str(settings.resolved_default())]]
    for name, dep in (data.get("deployments") or {}).items():
        where = f" at {dep['api_base']}" if dep.get("api_base") else ""
        rows.append([f"deployment {name}", f"{dep.get('model')}{where}"])
    rows += [[f"alias {name}", str(target)] for name, target in
             (data.get("aliases") or {}).items()]
    rows += [[f"route {name}", f"{r.get('policy')} over {', '.join(r.get('deployments') or [])}"]
             for name, r in (data.get("routes") or {}).items()]
    for budget in data.get("budgets") or []:
        label = f"budget {budget.get('scope')}" + (f" {budget['name']}" if budget.get("name")
                                                   else "")
        rows.append([label, f"{usd(budget.get('limit_usd'))} per {budget.get('period')}"])
    cache = data.get("cache")
    if isinstance(cache, dict) and "mode" in cache:
        rows.append(["cache", str(cache["mode"])])
    if "timeout" in data:
        rows.append(["timeout", f"{data['timeout']} s"])
    confirm = data.get("confirm_above_usd")
    if confirm is not None:
        rows.append(["confirm above", usd(confirm)])
    return TableView("configuration", ["setting", "value"], [[k, _short(v)] for k, v in rows],
                     data=settings, note="Change a value with %qlayer config KEY=VALUE.")


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:79] + "…"
