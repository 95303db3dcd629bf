"""``qlayer audit``: verify the ledger's hash chains and export its events.

``qlayer audit verify`` exits 0 when every segment is intact and 1 when damage is found,
naming the segment and the first bad event of each; ``qlayer audit export`` writes every
complete event to one JSON-lines or Parquet file. Both take ``--json`` for scripts.
"""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from quantumlayer_nb.errors import QLayerError

__all__ = ["ExportFormat", "audit_app", "register"]

audit_app = typer.Typer(
    name="audit",
    help="Check the ledger's hash chains and export its events.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


class ExportFormat(str, enum.Enum):
    """The file formats ``qlayer audit export`` writes."""

    jsonl = "jsonl"
    parquet = "parquet"


def _data_dir() -> Path:
    from quantumlayer_nb.config import get_settings

    return get_settings().data_path


def _fail(exc: QLayerError) -> typer.Exit:
    typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
    return typer.Exit(1)


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


@audit_app.command("verify")
def verify_command(json_out: JsonFlag = False) -> None:
    """Walk every ledger segment's hash chain; exit 1 and name the first bad event if damaged."""
    from quantumlayer_nb.ledger.audit import verify

    try:
        data_dir = _data_dir()
        report = verify(data_dir)
    except QLayerError as exc:
        raise _fail(exc) from None
    if json_out:
        _echo_json({"data_dir": str(data_dir), **report.model_dump(mode="json")})
    else:
        typer.echo(str(report))
        if not report.ok:
            typer.echo(
                "The ledger was altered after it was written. Restore the named segments "
                "from a backup, or keep them aside as evidence; docs/audit.md explains each "
                "finding.",
                err=True,
            )
        elif report.segments_checked == 0:
            typer.echo(f"(no ledger segments under {data_dir / 'ledger'})", err=True)
    raise typer.Exit(0 if report.ok else 1)


@audit_app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write (replaced).")],
    format: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="jsonl (original lines) or parquet.")
    ] = ExportFormat.jsonl,
    json_out: JsonFlag = False,
) -> None:
    """Write every complete ledger event to one file (JSON lines or Parquet)."""
    import warnings

    from quantumlayer_nb.ledger._chain import LedgerWarning
    from quantumlayer_nb.ledger.audit import export

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LedgerWarning)
        try:
            data_dir = _data_dir()
            count = export(data_dir, out, format.value)
        except QLayerError as exc:
            raise _fail(exc) from None
    notes = [str(w.message) for w in caught if issubclass(w.category, LedgerWarning)]
    summary = {
        "data_dir": str(data_dir),
        "out": str(Path(out).resolve()),
        "format": format.value,
        "events": count,
        "warnings": notes,
    }
    if json_out:
        _echo_json(summary)
        return
    for note in notes:
        typer.echo(f"warning: {note}", err=True)
    typer.echo(f"exported {count} events to {summary['out']} ({format.value})")


def register(app: typer.Typer) -> None:
    """Add the ``audit`` commands to the ``qlayer`` command line.

    Args:
        app: The main ``qlayer`` typer application.
    """
    app.add_typer(audit_app, name="audit")
