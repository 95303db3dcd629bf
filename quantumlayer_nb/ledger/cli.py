"""``qlayer audit``: verify the ledger and the cache store, anchor, export, check notebooks.

``qlayer audit verify`` exits 0 when every segment and cache entry is intact and 1 when damage
is found, naming the file and the first bad event (or entry) of each; ``qlayer audit anchor``
prints a digest of where every chain stands, to publish elsewhere and check later with
``verify --anchor``; ``qlayer audit export`` writes every complete event to one JSON-lines or
Parquet file; ``qlayer audit notebook`` checks a saved notebook's generated cells against the
ledger. All take ``--json`` for scripts.
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
    help="Check the ledger and the cache store, anchor them, export events, check notebooks.",
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


def _read_anchor(path: Path) -> dict[str, Any]:
    from quantumlayer_nb.errors import RequestError

    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise RequestError(
            f"Could not read the anchor {path} ({err}). Give the file qlayer audit anchor "
            "--out wrote."
        ) from err
    if not isinstance(document, dict):
        raise RequestError(f"{path} is not an anchor written by qlayer audit anchor.")
    return document


@audit_app.command("verify")
def verify_command(
    json_out: JsonFlag = False,
    anchor: Annotated[
        Path | None,
        typer.Option("--anchor", help="An anchor file from `qlayer audit anchor --out`, kept "
                     "where the ledger's writers cannot change it: check it still holds."),
    ] = None,
) -> None:
    """Check the ledger's hash chains and the cache store; exit 1 and name what is damaged."""
    from quantumlayer_nb.ledger.audit import verify

    try:
        data_dir = _data_dir()
        report = verify(data_dir, anchor=_read_anchor(anchor) if anchor else None)
    except QLayerError as exc:
        raise _fail(exc) from None
    if json_out:
        _echo_json({"data_dir": str(data_dir), **report.model_dump(mode="json")})
    else:
        typer.echo(str(report))
        if not report.ok:
            typer.echo(
                "The ledger or the cache store was altered after it was written. Restore the "
                "named files from a backup, or keep them aside as evidence; docs/audit.md "
                "explains each finding.",
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


@audit_app.command("anchor")
def anchor_command(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the anchor to this file.")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Print where every segment's chain stands now, with a digest to publish elsewhere."""
    from quantumlayer_nb.ledger.audit import anchor

    try:
        document = anchor(_data_dir())
    except QLayerError as exc:
        raise _fail(exc) from None
    text = json.dumps(document, indent=2)
    events = sum(int(s["seq"]) + 1 for s in document["segments"])
    if out is not None:
        target = Path(out)
        target.parent.mkdir(parents=True, exist_ok=True)  # `--out audit/anchor.json` as documented
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(text + "\n", encoding="utf-8")
        tmp.replace(target)
    if json_out or out is None:
        typer.echo(text)
    if out is not None and not json_out:
        typer.echo(
            f"anchor {document['digest']}: {len(document['segments'])} segments, {events} events, "
            f"written to {Path(out).resolve()}. Publish the digest where the ledger's writers "
            "cannot change it; check later with qlayer audit verify --anchor FILE."
        )


@audit_app.command("notebook")
def notebook_command(
    notebook: Annotated[Path, typer.Argument(help="A saved .ipynb file.")],
    json_out: JsonFlag = False,
) -> None:
    """List a notebook's generated cells and check each call id against the ledger."""
    from quantumlayer_nb.ledger._notebook import check_notebook

    try:
        report = check_notebook(notebook, _data_dir())
    except QLayerError as exc:
        raise _fail(exc) from None
    if json_out:
        _echo_json(report.model_dump(mode="json"))
    else:
        typer.echo(str(report))
        if not report.cells:
            typer.echo("(no generated cells: none has quantumlayer metadata or the "
                       "'# qlayer: call' line)", err=True)
    raise typer.Exit(0 if report.ok else 1)


def register(app: typer.Typer) -> None:
    """Add the ``audit`` commands to the ``qlayer`` command line.

    Args:
        app: The main ``qlayer`` typer application.
    """
    app.add_typer(audit_app, name="audit")
