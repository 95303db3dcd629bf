"""``qlayer new``: a notebook from a description — plan, generate, execute, repair.

1. Plan: the model answers an outline as JSON (validated with :class:`Outline`); a malformed
   outline is asked for again with the validation error, never crashed on. The offline model
   ``qlayer/recipes`` writes no outlines, so the description is split into its steps instead.
2. Generate each step's cell with the data's schema and the variables defined so far.
3. Execute cell by cell in one kernel; a failing cell (or one whose check fails: a step that
   expects a table and leaves none, or an empty one) is repaired by feeding its error back,
   up to ``repair_rounds`` times, and only that cell runs again: the kernel keeps the state
   of the cells before it.
4. The notebook is executed once more, top to bottom, with papermill as a ``qlayer run``, so
   what is delivered is a notebook whose every cell ran. Steps the model could not do are
   said plainly, in the notebook and in the summary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from quantumlayer_nb.errors import QLayerError, RequestError

__all__ = ["NewNotebook", "Outline", "OutlineStep", "new_notebook", "split_description"]

PLAN_ATTEMPTS = 3


class OutlineStep(BaseModel):
    """One cell of the plan."""

    title: str = Field(min_length=1, max_length=200, description="A short heading.")
    request: str = Field(min_length=1, max_length=2000,
                         description="What the cell's code should do, in plain language.")
    expects: Literal["table", "figure", "value", "none"] = Field(
        default="none", description="What the cell should leave: a non-empty table, a figure...")


class Outline(BaseModel):
    """The plan of a notebook: a title and its steps, in order."""

    title: str = Field(min_length=1, max_length=200)
    steps: list[OutlineStep] = Field(min_length=1, max_length=20)


@dataclass
class StepOutcome:
    """What happened to one step."""

    step: OutlineStep
    status: str  # "ok", "repaired", "failed", "not done"
    call_ids: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class NewNotebook:
    """The delivered notebook and what each step became."""

    path: Path
    outline: Outline
    steps: list[StepOutcome]
    run_id: str | None
    ok: bool
    plan_attempts: int

    def summary(self) -> str:
        lines = [f"{self.path}: {self.outline.title}"]
        for number, outcome in enumerate(self.steps, 1):
            note = f" ({outcome.error})" if outcome.error else ""
            lines.append(f"  {number}. {outcome.step.title}: {outcome.status}{note}")
        missing = [o.step.title for o in self.steps if o.status == "not done"]
        if missing:
            lines.append("Not done (the model had nothing for them): " + "; ".join(missing)
                         + ". A configured language model can write these steps.")
        lines.append("every cell ran" if self.ok else "some cells did not run: see above")
        if self.run_id:
            short = self.run_id[:12]
            lines.append(f"executed as run {short} (qlayer runs show {short})")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "title": self.outline.title, "ok": self.ok,
                "run_id": self.run_id, "plan_attempts": self.plan_attempts,
                "steps": [{"title": o.step.title, "request": o.step.request,
                           "status": o.status, "call_ids": o.call_ids, "error": o.error}
                          for o in self.steps]}

    def __repr__(self) -> str:
        done = sum(o.status in ("ok", "repaired") for o in self.steps)
        return f"NewNotebook({self.path}, {done}/{len(self.steps)} steps, ok={self.ok})"


_LEAD = re.compile(r"^\s*(analy[sz]e|explore|study|look at)\s+[^:]*:\s*", re.IGNORECASE)
_SPLIT = re.compile(r"\s*(?:;|,|\band then\b|\bthen\b|\band\b|\n)\s*", re.IGNORECASE)


def split_description(description: str) -> list[str]:
    """The steps of a description, for a model that writes no outline."""
    body = _LEAD.sub("", description.strip())
    return [part.strip(" .") for part in _SPLIT.split(body) if part and part.strip(" .")]


def _schema(paths: list[Path]) -> tuple[str, list[tuple[str, Path]]]:
    """A short description of each data file (columns, types, 3 rows) and its frame name."""
    import duckdb

    lines: list[str] = []
    frames: list[tuple[str, Path]] = []
    for path in paths:
        if not path.is_file():
            raise RequestError(f"Data file not found: {path}.")
        name = re.sub(r"\W+", "_", path.stem).strip("_").lower() or "data"
        if name[0].isdigit():
            name = f"df_{name}"
        con = duckdb.connect()
        try:
            relation = con.sql(f"SELECT * FROM '{str(path).replace(chr(39), chr(39) * 2)}'")
            columns = [f"{c} ({t})" for c, t in zip(relation.columns, relation.types, strict=True)]
            rows = relation.limit(3).fetchall()
        except duckdb.Error as exc:
            raise RequestError(f"Cannot read {path} as a table ({exc}). Give CSV, Parquet "
                               "or JSON.") from exc
        lines.append(f"DataFrame {name} loaded from {path.name}: columns {', '.join(columns)}; "
                     f"first rows {rows}")
        frames.append((name, path))
    return "\n".join(lines), frames


def _samples(frames: list[tuple[str, Path]]) -> dict[str, object]:
    """The first rows of each table, loaded here so the model sees names, columns and types."""
    if not frames:
        return {}
    import pandas as pd

    readers = {".parquet": pd.read_parquet, ".json": pd.read_json}
    samples: dict[str, object] = {}
    for name, path in frames:
        reader = readers.get(path.suffix.lower())
        samples[name] = reader(path).head(1000) if reader else pd.read_csv(path, nrows=1000)
    return samples


def _loader(path: Path, name: str) -> str:
    reader = {".parquet": "read_parquet", ".json": "read_json", ".jsonl": "read_json"}.get(
        path.suffix.lower(), "read_csv")
    extra = ", lines=True" if path.suffix.lower() == ".jsonl" else ""
    return f"{name} = pd.{reader}({path.name!r}{extra})"


def _plan(description: str, schema: str, model: str | None,
          offline: bool) -> tuple[Outline, int]:
    from quantumlayer_nb._api import generate

    if offline:
        steps = split_description(description) or [description]
        return Outline(title=description.strip()[:200],
                       steps=[OutlineStep(title=s[:200], request=s) for s in steps]), 0
    prompt = (
        "Plan a Jupyter notebook for this task. Answer with JSON only, no prose, of the form "
        '{"title": str, "steps": [{"title": str, "request": str, "expects": '
        '"table"|"figure"|"value"|"none"}]} with 2 to 8 steps; each request says what one '
        f"code cell does.\nTask: {description}\nData:\n{schema or 'none'}"
    )
    error = ""
    for attempt in range(1, PLAN_ATTEMPTS + 1):
        text = generate(prompt + error, model=model, format="text",
                        metadata={"qlayer_new": "plan", "attempt": attempt}).text
        try:
            return Outline.model_validate(json.loads(_json_part(text))), attempt
        except (json.JSONDecodeError, ValidationError) as exc:
            error = (f"\nYour last answer was not a valid outline ({str(exc)[:300]}). "
                     "Answer with the JSON object only.")
    raise RequestError(
        f"The model gave no valid outline in {PLAN_ATTEMPTS} tries. Try a more capable model "
        "(-m) or a more precise description."
    )


def _json_part(text: str) -> str:
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    body = fenced.group(1) if fenced else text
    start, end = body.find("{"), body.rfind("}")
    return body[start:end + 1] if start >= 0 and end > start else body


def _provenance(generation: Any, step: int, repairs: list[str]) -> dict[str, Any]:
    return {"quantumlayer": {
        "call_id": generation.call_id, "model": generation.model_served or generation.model,
        "prompt_hash": generation.prompt_hash,
        "tokens": {"in": generation.tokens_in, "out": generation.tokens_out,
                   "estimated": bool(getattr(generation, "tokens_estimated", False))},
        "cost_usd": generation.cost_usd,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "step": step, "repairs": repairs,
    }}


_FRAMES_PROBE = (
    "{k: int(getattr(v, 'shape', (0,))[0]) for k, v in dict(globals()).items() "
    "if type(v).__name__ == 'DataFrame' and not k.startswith('_')}"
)


class _Kernel:
    """One kernel that executes cells one at a time (nbclient, as papermill uses it)."""

    def __init__(self, nb: Any, folder: Path, log: Path) -> None:
        from nbclient import NotebookClient

        self.client = NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})
        # The kernel's own stderr (start-up warnings, a crash) goes to a log file beside the
        # notebook, not into the outputs of the cell that called new_notebook.
        self._log = log.open("ab")
        self._context = self.client.setup_kernel(stderr=self._log)

    def __enter__(self) -> _Kernel:
        self._context.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self._context.__exit__(*exc)
        finally:
            self._log.close()

    def run(self, cell: Any, index: int) -> str | None:
        """Execute a cell; the error text, or None when it ran."""
        from nbclient.exceptions import CellExecutionError

        cell.outputs = []
        try:
            self.client.execute_cell(cell, index)
        except CellExecutionError as exc:
            return f"{exc.ename}: {exc.evalue}\n{str(exc)[-1500:]}"
        return None

    def frames(self) -> dict[str, int]:
        """The DataFrames the kernel holds, with their row counts."""
        kc: Any = self.client.kc
        msg_id = kc.execute("", silent=True, user_expressions={"frames": _FRAMES_PROBE})
        reply = self.client.wait_for_reply(msg_id)
        data = (reply or {}).get("content", {}).get("user_expressions", {}).get("frames", {})
        text = data.get("data", {}).get("text/plain", "{}") if data.get("status") == "ok" else "{}"
        try:
            import ast

            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return {}
        return value if isinstance(value, dict) else {}


def _check(step: OutlineStep, before: dict[str, int], after: dict[str, int]) -> str | None:
    """Why a cell that ran does not do what its step expects, or None."""
    if step.expects != "table":
        return None
    changed = {k: n for k, n in after.items() if before.get(k) != n or k not in before}
    candidates = changed or after
    if not candidates:
        return "the step should leave a table (a DataFrame) and the cell made none"
    if all(n == 0 for n in candidates.values()):
        return f"the table it made is empty ({', '.join(candidates)} has 0 rows)"
    return None


def new_notebook(
    description: str,
    output: str | Path,
    *,
    data: Sequence[str | Path] | None = None,
    model: str | None = None,
    repair_rounds: int = 2,
) -> NewNotebook:
    """Write, execute and repair a notebook that does what ``description`` says.

    Args:
        description: The analysis in plain language.
        output: The ``.ipynb`` to write (its folder is the notebook's working folder; data
            files are referred to by name, so keep them beside it).
        data: Data files the notebook reads; their schema is given to the model.
        model: Model or route (default: the configured default).
        repair_rounds: How many times a failing cell is repaired from its error.

    Returns:
        A :class:`NewNotebook` naming each step's outcome; ``ok`` when every cell ran.
    """
    import nbformat as nbformat_module

    from quantumlayer_nb._api import generate
    from quantumlayer_nb.config import get_settings
    from quantumlayer_nb.errors import RunFailed
    from quantumlayer_nb.pipelines.runs import run_notebook

    if not isinstance(description, str) or not description.strip():
        raise RequestError("Describe the notebook, e.g. 'analyse sales.csv: monthly revenue'.")
    if repair_rounds < 0:
        raise RequestError(f"repair_rounds={repair_rounds} must be 0 or more.")
    nbformat: Any = nbformat_module  # untyped: its calls go through Any
    target = Path(output).resolve()
    if target.suffix != ".ipynb":
        raise RequestError(f"{target.name}: the output must be a .ipynb file.")
    target.parent.mkdir(parents=True, exist_ok=True)
    schema, frames = _schema([Path(p).resolve() for p in data or []])
    settings = get_settings()
    chosen = model or settings.resolved_default()
    offline = chosen == "qlayer/recipes"
    outline, attempts = _plan(description, schema, model, offline)

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(f"# {outline.title}"))
    setup = ["import pandas as pd", *(_loader(path, name) for name, path in frames)]
    nb.cells.append(nbformat.v4.new_code_cell("\n".join(setup)))
    outcomes: list[StepOutcome] = []
    samples = _samples(frames)  # what the model is shown of each table
    with _Kernel(nb, target.parent, target.with_suffix(".kernel.log")) as kernel:
        if kernel.run(nb.cells[1], 1) is not None:
            raise RequestError(f"Loading the data failed: {nb.cells[1].outputs}. Check the files.")
        for number, step in enumerate(outline.steps, 1):
            context: dict[str, object] | None = dict(samples) or None
            outcome = StepOutcome(step=step, status="not done")
            outcomes.append(outcome)
            nb.cells.append(nbformat.v4.new_markdown_cell(f"## {number}. {step.title}"))
            try:
                generation = generate(step.request, model=model, context=context,
                                      metadata={"qlayer_new": "step", "step": number})
            except QLayerError as exc:
                outcome.error = f"{type(exc).__name__}: {exc}"[:300]
                nb.cells.append(nbformat.v4.new_markdown_cell(
                    f"*Not done: {outcome.error}*"))
                continue
            outcome.call_ids.append(generation.call_id)
            if not generation.code:
                outcome.error = "no code for this step"
                nb.cells.append(nbformat.v4.new_markdown_cell(
                    f"*Not done: the model had no code for “{step.request}”.*"))
                continue
            cell = nbformat.v4.new_code_cell(generation.code)
            cell.metadata.update(_provenance(generation, number, []))
            nb.cells.append(cell)
            index = len(nb.cells) - 1
            repairs: list[str] = []
            for round_number in range(repair_rounds + 1):
                before = kernel.frames()
                error = kernel.run(cell, index)
                if error is None:
                    error = _check(step, before, kernel.frames())
                if error is None:
                    outcome.status = "repaired" if repairs else "ok"
                    outcome.error = None
                    break
                outcome.status, outcome.error = "failed", error.splitlines()[0][:300]
                if round_number == repair_rounds:
                    break
                fix = generate(
                    f"This notebook cell failed.\nIt should: {step.request}\nCode:\n"
                    f"```python\n{cell.source}\n```\nError:\n{error[:2000]}\n"
                    "Answer with the corrected cell.",
                    model=model, context=context,
                    metadata={"qlayer_new": "repair", "step": number,
                              "round": round_number + 1})
                outcome.call_ids.append(fix.call_id)
                if not fix.code:
                    break
                repairs.append(fix.call_id)
                cell.source = fix.code
                cell.metadata.update(_provenance(fix, number, repairs))
            if outcome.status == "failed":
                cell.metadata["quantumlayer"]["failed"] = outcome.error
    failed_cells = [o for o in outcomes if o.status == "failed"]
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("quantumlayer", {}).get("failed"):
            cell.source = "# This cell could not be repaired; it is kept for reference.\n" + \
                "# " + cell.source.replace("\n", "\n# ")
    nbformat.write(nb, str(target))
    run_id: str | None = None
    ok = not failed_cells
    try:
        result = run_notebook(target, output=target)
        run_id = result.run_id
    except RunFailed as exc:
        ok = False
        run_id = getattr(exc.result, "run_id", None)
    return NewNotebook(path=target, outline=outline, steps=outcomes, run_id=run_id, ok=ok,
                       plan_attempts=attempts)
