"""``qlayer audit notebook``: check a saved notebook's generated cells against the ledger.

A generated cell is a code cell whose metadata holds ``quantumlayer.call_id`` (inserted by
the JupyterLab extension, with the call's ``prompt_hash``), or whose first line is the
comment the magics write without the extension: ``# qlayer: call <first 12 characters of the
call id> · <model>``. Each one is looked up on the ledger: its call must be there, and, when
the cell carries a ``prompt_hash``, the ledger's events of that call must carry the same one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from quantumlayer_nb.errors import RequestError
from quantumlayer_nb.ledger._chain import segment_paths

__all__ = ["CellCheck", "NotebookReport", "check_notebook"]

_COMMENT = re.compile(r"#\s*qlayer:\s*call\s+([0-9A-Za-z_-]+)")

CellStatus = Literal["found", "not_found", "prompt_hash_mismatch", "ambiguous"]


class CellCheck(BaseModel):
    """One generated cell of the notebook and what the ledger says about it."""

    cell: int = Field(description="0-based index of the cell in the notebook.")
    execution_count: int | None = Field(default=None, description="Its execution count.")
    call_id: str = Field(description="The call id the cell names (12 characters from a comment).")
    source: Literal["metadata", "comment"] = Field(description="Where the call id was read.")
    status: CellStatus = Field(description="What the ledger says.")
    model: str | None = Field(default=None, description="The model that served the call.")
    message: str = Field(description="What was found, for a person.")

    @property
    def ok(self) -> bool:
        """True when the call is on the ledger with a matching prompt hash."""
        return self.status == "found"


class NotebookReport(BaseModel):
    """The result of ``check_notebook``: ``ok`` when every generated cell checks out."""

    notebook: str = Field(description="The notebook file checked.")
    ok: bool = Field(description="True when every generated cell was found on the ledger.")
    cells: list[CellCheck] = Field(default_factory=list, description="Each generated cell.")

    def __str__(self) -> str:
        bad = sum(not c.ok for c in self.cells)
        verdict = "ok" if self.ok else f"{bad} DO NOT CHECK OUT"
        lines = [f"notebook {self.notebook}: {len(self.cells)} generated cells, {verdict}"]
        for c in self.cells:
            run = f" [{c.execution_count}]" if c.execution_count is not None else ""
            lines.append(f"  cell {c.cell}{run} call {c.call_id}: {c.status} - {c.message}")
        return "\n".join(lines)


def _read_cells(path: Path) -> list[dict[str, Any]]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RequestError(
            f"Notebook not found: {path}. Give the path of a saved .ipynb file."
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise RequestError(
            f"Could not read {path} as a notebook ({err}). Give a saved .ipynb file."
        ) from err
    cells = document.get("cells") if isinstance(document, dict) else None
    if not isinstance(cells, list):
        raise RequestError(f"{path} is not a Jupyter notebook (no list of cells).")
    return [c for c in cells if isinstance(c, dict)]


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


_Generated = tuple[int, dict[str, Any], str, str, "str | None"]


def _generated(cells: list[dict[str, Any]]) -> list[_Generated]:
    """``(index, cell, call id, where it was read, prompt hash)`` of each generated cell."""
    found = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        metadata = cell.get("metadata")
        provenance = metadata.get("quantumlayer") if isinstance(metadata, dict) else None
        if isinstance(provenance, dict) and isinstance(provenance.get("call_id"), str):
            prompt_hash = provenance.get("prompt_hash")
            found.append((index, cell, provenance["call_id"], "metadata",
                          prompt_hash if isinstance(prompt_hash, str) else None))
            continue
        first = _source(cell).lstrip().split("\n", 1)[0]
        match = _COMMENT.match(first)
        if match:
            found.append((index, cell, match[1], "comment", None))
    return found


def _ledger_calls(data_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Call id -> that call's events (only the fields checked here)."""
    calls: dict[str, list[dict[str, Any]]] = {}
    for path in segment_paths(data_dir):
        try:
            raw = path.read_bytes()
        except OSError:
            continue
        for line in raw.split(b"\n"):
            if b'"call_id"' not in line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            call_id = event.get("call_id") if isinstance(event, dict) else None
            if isinstance(call_id, str):
                calls.setdefault(call_id, []).append(
                    {k: event.get(k) for k in ("kind", "prompt_hash", "model_served", "outcome")}
                )
    return calls


def _check(call_id: str, source: str, prompt_hash: str | None,
           calls: dict[str, list[dict[str, Any]]]) -> tuple[CellStatus, str | None, str]:
    if source == "metadata":
        matches = {call_id: calls[call_id]} if call_id in calls else {}
    else:
        matches = {k: v for k, v in calls.items() if k.startswith(call_id)}
    if not matches:
        return ("not_found", None, "no event of this call is on the ledger: the cell was not "
                "generated here, or the ledger lost it (run qlayer audit verify).")
    if len(matches) > 1:
        return ("ambiguous", None, f"{len(matches)} calls on the ledger start with this id; the "
                "comment line keeps only 12 characters, so it cannot say which.")
    ((full_id, events),) = matches.items()
    model = next((e["model_served"] for e in events if e.get("model_served")), None)
    hashes = {e["prompt_hash"] for e in events if e.get("prompt_hash")}
    if prompt_hash is not None and hashes and prompt_hash not in hashes:
        return ("prompt_hash_mismatch", model, f"the cell's prompt_hash {prompt_hash[:12]}... is "
                f"not the ledger's ({', '.join(sorted(h[:12] + '...' for h in hashes))}): the "
                "cell's provenance was edited, or copied from another call.")
    kinds = sorted({str(e.get("kind")) for e in events})
    checked = "prompt hash matches" if prompt_hash is not None and hashes else "found"
    return ("found", model, f"{checked}; call {full_id} ({', '.join(kinds)} on the ledger).")


def check_notebook(path: Path, data_dir: Path) -> NotebookReport:
    """List a saved notebook's generated cells and check each call id against the ledger.

    Args:
        path: The ``.ipynb`` file.
        data_dir: The project's data folder (the ledger is in ``data_dir/ledger/``).

    Returns:
        A ``NotebookReport``; ``ok`` is False when any generated cell is not on the ledger,
        is ambiguous, or carries a different prompt hash.

    Raises:
        RequestError: ``path`` is missing or is not a notebook.
    """
    cells = _read_cells(Path(path))
    calls = _ledger_calls(data_dir)
    checks = []
    for index, cell, call_id, source, prompt_hash in _generated(cells):
        status, model, message = _check(call_id, source, prompt_hash, calls)
        count = cell.get("execution_count")
        checks.append(CellCheck(
            cell=index, execution_count=count if isinstance(count, int) else None,
            call_id=call_id, source=source,
            status=status, model=model, message=message,
        ))
    return NotebookReport(notebook=str(path), ok=all(c.ok for c in checks), cells=checks)
