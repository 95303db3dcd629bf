"""Notebook runs: execute a notebook with papermill, tie every LLM call to the run and cell.

A run is a ledger attribute, not a second store: ``run_notebook`` gives the kernel a run id
(``QLAYER_RUN_ID``), the notebook path and, through the ``qlayer`` papermill engine, the index
of the executing cell; every event the kernel writes carries them. The run itself is two
ledger events of kind ``run`` (``outcome`` ``started``, then ``ok`` or ``failed``), so
``qlayer runs``, the sidebar and a replay all read the one ledger.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quantumlayer_nb._ids import new_id
from quantumlayer_nb.errors import ConfigError, RequestError, RunFailed

__all__ = [
    "FailedCell",
    "RunResult",
    "list_runs",
    "notebook_parameters",
    "parse_parameter",
    "run_notebook",
    "show_run",
]


@dataclass(frozen=True)
class FailedCell:
    """The cell a run stopped on."""

    index: int
    """Index of the cell in the executed notebook (0-based; papermill's injected cell counts)."""
    first_line: str
    error: str
    """``ExceptionName: message``."""

    def describe(self) -> str:
        return f"cell {self.index + 1} ({self.first_line!r}) failed: {self.error}"


@dataclass(frozen=True)
class RunResult:
    """What a notebook run did."""

    run_id: str
    notebook: Path
    output: Path
    parameters: dict[str, Any]
    status: str
    """``"ok"`` or ``"failed"``."""
    duration_s: float
    replay: bool = False
    failed_cell: FailedCell | None = None
    recorded: dict[str, Any] = field(default_factory=dict)
    """Values the notebook recorded with ``qlayer.record(name, value)``."""

    def __repr__(self) -> str:
        outcome = self.status if self.failed_cell is None else self.failed_cell.describe()
        return (f"RunResult({self.run_id[:12]} {self.notebook.name} -> {self.output}: "
                f"{outcome} in {self.duration_s:.1f} s)")


def parse_parameter(text: str) -> Any:
    """A ``-p NAME VALUE`` value: a YAML/JSON scalar or collection when it parses, else text."""
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return text if value is None and text.strip() not in ("null", "~", "") else value


def _kernel_name(nb: Any, kernel: str | None) -> str:
    spec = nb.metadata.get("kernelspec") or {}
    return kernel or spec.get("name") or "python3"


def notebook_parameters(notebook: Path, kernel: str | None = None) -> dict[str, Any]:
    """The notebook's parameters (from its cell tagged ``parameters``), with their defaults."""
    from papermill.iorw import load_notebook_node
    from papermill.translators import papermill_translators
    from papermill.utils import find_first_tagged_cell_index

    try:
        nb = load_notebook_node(str(notebook))
    except FileNotFoundError as exc:
        raise RequestError(f"Notebook not found: {notebook}. Check the path.") from exc
    except Exception as exc:  # nbformat's errors for a file that is not a notebook
        raise RequestError(f"{notebook} is not a readable notebook ({exc}).") from exc
    index = find_first_tagged_cell_index(nb, "parameters")
    if index < 0:
        return {}
    language = ((nb.metadata.get("kernelspec") or {}).get("language")
                or (nb.metadata.get("language_info") or {}).get("name") or "python")
    translator = papermill_translators.find_translator(_kernel_name(nb, None), language)
    return {p.name: p.default for p in translator.inspect(nb.cells[index])}


def _check_parameters(notebook: Path, parameters: Mapping[str, Any]) -> None:
    known = notebook_parameters(notebook)
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        listed = ", ".join(f"{k} (default {v})" for k, v in known.items()) or (
            "none: the notebook has no cell tagged 'parameters'")
        raise RequestError(
            f"{notebook.name} has no parameter {', '.join(map(repr, unknown))}. "
            f"Its parameters are: {listed}. Check the spelling, or tag a cell 'parameters'."
        )


@contextlib.contextmanager
def _kernel_environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set variables the kernel inherits for the run, and put the old ones back after."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line.strip()[:80]
    return ""


def run_notebook(
    notebook: str | Path,
    parameters: Mapping[str, Any] | None = None,
    *,
    replay: bool = False,
    out: str | Path | None = None,
    kernel: str | None = None,
    timeout: float | None = None,
    run_id: str | None = None,
    output: str | Path | None = None,
) -> RunResult:
    """Execute a notebook through papermill as one run on the ledger.

    Args:
        notebook: The ``.ipynb`` to run.
        parameters: Values for the notebook's ``parameters`` cell; an unknown name is an error
            that lists the notebook's parameters.
        replay: Answer every LLM call only from the store (cache mode ``replay``): no provider
            request; a request that was never recorded fails its cell with ``ReplayMiss``.
        out: Folder for the executed notebook (default: ``<data folder>/runs/``).
        kernel: Kernel name (default: the notebook's).
        timeout: Seconds a cell may run.
        run_id: The run's id (default: a new one).
        output: The executed notebook's file (default: ``<out>/<name>-<run id>.ipynb``).

    Returns:
        The :class:`RunResult`; the executed notebook is at ``result.output``.

    Raises:
        RequestError: the notebook does not exist or a parameter is unknown.
        RunFailed: a cell failed; the message names it and ``exc.result.output`` is saved.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from quantumlayer_nb.config import get_settings
    from quantumlayer_nb.ledger.events import ledger_for
    from quantumlayer_nb.pipelines._engine import ensure_registered

    path = Path(notebook).resolve()
    if not path.is_file():
        raise RequestError(f"Notebook not found: {path}. Check the path.")
    params = dict(parameters or {})
    _check_parameters(path, params)
    if timeout is not None and not (timeout > 0 and timeout != float("inf")):
        raise RequestError(f"timeout={timeout} must be a positive number of seconds.")
    settings = get_settings()
    run_id = run_id or new_id()
    out_dir = Path(out) if out is not None else settings.data_path / "runs"
    if output is not None:
        out_dir = Path(output).resolve().parent
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"Cannot create the output folder {out_dir}: {exc}.") from exc
    executed = Path(output).resolve() if output is not None else (
        out_dir / f"{path.stem}-{run_id[:8]}.ipynb")
    ledger = ledger_for(settings.data_path)
    base = {"kind": "run", "run_id": run_id, "notebook": str(path),
            "project": settings.project, "user": settings.user}
    ledger.append({**base, "outcome": "started",
                   "data": {"parameters": _jsonable(params), "replay": replay,
                            "output": str(executed)}})
    environment: dict[str, str | None] = {
        "QLAYER_RUN_ID": run_id,
        "QLAYER_NOTEBOOK": str(path),
        "QLAYER_CELL": None,
        "QLAYER_DATA_DIR": str(settings.data_path),
        "QLAYER_PROJECT": settings.project,
        "QLAYER_CACHE__MODE": "replay" if replay else os.environ.get("QLAYER_CACHE__MODE"),
        "QLAYER_KERNEL_LOG": str(executed.with_suffix(".kernel.log")),
    }
    from papermill.iorw import load_notebook_node

    source = load_notebook_node(str(path))
    kernel_name = _kernel_name(source, kernel)
    language = ((source.metadata.get("kernelspec") or {}).get("language")
                or (source.metadata.get("language_info") or {}).get("name") or "python")
    from quantumlayer_nb.jobs import JobRecord

    code_cells = sum(1 for cell in source.cells if cell.cell_type == "code")
    job = JobRecord(settings.data_path, "run", f"run {path.name}", total=code_cells,
                    job_id=run_id[:20]).start()  # the sidebar lists the run while it runs
    started = time.perf_counter()
    failed: FailedCell | None = None
    with _kernel_environment(environment):
        try:
            papermill.execute_notebook(
                str(path), str(executed), parameters=params, engine_name=ensure_registered(),
                kernel_name=kernel_name, language=language,
                progress_bar=False, log_output=False,
                execution_timeout=timeout, cwd=str(path.parent),
            )
        except PapermillExecutionError as exc:
            failed = FailedCell(exc.cell_index, _first_line(exc.source),
                                f"{exc.ename}: {exc.evalue}"[:2000])
    duration = time.perf_counter() - started
    job.update(done=code_cells if failed is None else failed.index, passed=failed is None)
    job.finish("failed" if failed else "done")
    from quantumlayer_nb.pipelines.recorded import recorded_values

    result = RunResult(run_id=run_id, notebook=path, output=executed, parameters=params,
                       status="failed" if failed else "ok", duration_s=duration,
                       replay=replay, failed_cell=failed,
                       recorded=recorded_values(settings.data_path, run_id))
    end: dict[str, Any] = {"output": str(executed)}
    if failed is not None:
        end["failed_cell"] = {"index": failed.index, "first_line": failed.first_line,
                              "error": failed.error}
    ledger.append({**base, "outcome": result.status, "latency_ms": duration * 1000,
                   "error_message": failed.describe()[:500] if failed else None, "data": end})
    if failed is not None:
        raise RunFailed(
            f"Run {run_id[:12]} of {path.name} stopped: {failed.describe()}. The executed "
            f"notebook, with the error in that cell, is saved at {executed}.", result)
    return result


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = json.loads(json.dumps(dict(values), default=str))
    return plain


_RUNS_SQL = """
    WITH runs AS (
        SELECT run_id,
               arg_min(notebook, ts) AS notebook,
               min(ts) AS started,
               arg_max(outcome, ts) AS status,
               max(latency_ms) FILTER (WHERE outcome <> 'started') AS duration_ms,
               arg_min(CAST(data AS VARCHAR), ts) AS start_data,
               arg_max(CAST(data AS VARCHAR), ts) AS end_data
        FROM ev WHERE kind = 'run' GROUP BY run_id
    ), calls AS (
        SELECT run_id, count(*) AS calls,
               coalesce(sum(cost_usd) FILTER (WHERE cost_known), 0.0) AS cost_usd
        FROM ev WHERE kind IN ('call', 'cache_hit') AND run_id IS NOT NULL GROUP BY run_id
    )
    SELECT runs.*, coalesce(calls.calls, 0) AS calls, coalesce(calls.cost_usd, 0.0) AS cost_usd
    FROM runs LEFT JOIN calls USING (run_id)
"""


def list_runs(data_dir: Path | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Past runs, newest first: id, notebook, parameters, status, duration, calls, cost."""
    import duckdb

    from quantumlayer_nb.ledger.query import events

    if data_dir is None:
        from quantumlayer_nb.config import get_settings

        data_dir = get_settings().data_path
    con = duckdb.connect()
    events(data_dir, con).create_view("ev")
    rows = con.sql(f"{_RUNS_SQL} ORDER BY started DESC LIMIT {int(limit)}").fetchall()
    columns = ["run_id", "notebook", "started", "status", "duration_ms", "start_data",
               "end_data", "calls", "cost_usd"]
    runs = []
    for row in rows:
        item = dict(zip(columns, row, strict=True))
        start = json.loads(item.pop("start_data") or "{}")
        end = json.loads(item.pop("end_data") or "{}")
        item["parameters"] = start.get("parameters", {})
        item["replay"] = start.get("replay", False)
        item["output"] = end.get("output") or start.get("output")
        item["failed_cell"] = end.get("failed_cell")
        if item["status"] == "started":
            item["status"] = "running"
        runs.append(item)
    return runs


def show_run(run_id: str, data_dir: Path | None = None) -> dict[str, Any]:
    """One run (an id or a unique prefix of one) with its calls, in order."""
    import duckdb

    from quantumlayer_nb.ledger.query import events

    if data_dir is None:
        from quantumlayer_nb.config import get_settings

        data_dir = get_settings().data_path
    matches = [r for r in list_runs(data_dir, limit=1_000_000) if r["run_id"].startswith(run_id)]
    if not matches:
        raise RequestError(f"No run {run_id!r} on the ledger. `qlayer runs` lists the runs.")
    if len(matches) > 1:
        raise RequestError(f"{run_id!r} names {len(matches)} runs; give more of the id.")
    run = matches[0]
    con = duckdb.connect()
    events(data_dir, con).create_view("ev")
    rows = con.sql(
        "SELECT ts, kind, call_id, deployment, model_served, outcome, tokens_in, tokens_out, "
        "cost_usd, latency_ms, cell FROM ev WHERE run_id = ? AND kind IN ('call', 'cache_hit') "
        "ORDER BY ts", params=[run["run_id"]]).fetchall()
    keys = ["ts", "kind", "call_id", "deployment", "model_served", "outcome", "tokens_in",
            "tokens_out", "cost_usd", "latency_ms", "cell"]
    run["call_list"] = [dict(zip(keys, row, strict=True)) for row in rows]
    return run
