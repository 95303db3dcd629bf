"""``qlayer.usage()``: what the project's calls used and cost, from the ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quantumlayer_nb.config import get_settings

if TYPE_CHECKING:
    import duckdb

__all__ = ["usage"]


def usage(
    by: str | None = None,
    *,
    since: str | None = None,
    until: str | None = None,
    project: str | None = None,
) -> duckdb.DuckDBPyRelation:
    """Calls, tokens and cost of this project, grouped ``by`` model, day, user, ...

    Returns:
        A duckdb relation: ``.df()`` gives a pandas DataFrame, ``.show()`` prints it.
        ``estimated_calls`` counts the calls whose tokens and cost are estimates (the
        provider sent no usage); the sums include them as estimated.
    """
    from quantumlayer_nb.ledger import usage as ledger_usage

    settings = get_settings()
    return ledger_usage(
        settings.data_path, by=by, since=since, until=until, project=project or settings.project
    )
