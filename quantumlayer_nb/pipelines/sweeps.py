"""``qlayer sweep``: run a notebook once per combination of a parameter grid, several at once.

Every run has a process of its own (papermill's ``cwd=`` changes the whole process, so two
runs never share one): with the local executor a forked child per run (a fresh interpreter
where fork is not available), with Dask a task per run that starts a fresh interpreter on its
worker. Each finished run is appended to the sweep folder's ``manifest.jsonl``; a sweep
started again with the same notebook, grid and folder skips the runs that finished ``ok``.
The values the runs recorded with ``qlayer.record`` are collected, with the parameters and
run ids, into ``results.parquet`` (one row per run; duckdb reads it as it is).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quantumlayer_nb.errors import ConfigError, QLayerError, RequestError

__all__ = ["SweepResult", "combinations", "load_grid", "run_isolated", "sweep"]

MANIFEST = "manifest.jsonl"
TABLE = "results.parquet"


def load_grid(path: str | Path) -> dict[str, list[Any]]:
    """Read a grid file: a YAML (or JSON) mapping of parameter name to a list of values."""
    import yaml

    grid_path = Path(path)
    try:
        loaded = yaml.safe_load(grid_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RequestError(f"Grid file not found: {grid_path}.") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RequestError(f"{grid_path} is not valid YAML ({exc}).") from exc
    if not isinstance(loaded, dict) or not loaded:
        raise RequestError(
            f"{grid_path} must map parameter names to lists of values, e.g.\n"
            "  model: [fast, smart]\n  n: [1, 5]"
        )
    grid: dict[str, list[Any]] = {}
    for name, values in loaded.items():
        if not isinstance(name, str):
            raise RequestError(f"{grid_path}: parameter names are text, not {name!r}.")
        listed = values if isinstance(values, list) else [values]
        if not listed:
            raise RequestError(f"{grid_path}: {name} has no values; give at least one.")
        grid[name] = listed
    return grid


def combinations(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in the grid's order."""
    names = list(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]


def _key(parameters: dict[str, Any]) -> str:
    text = json.dumps(parameters, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _child_main(spec: dict[str, Any]) -> dict[str, Any]:
    """In the run's own process: execute the notebook and describe the outcome."""
    from quantumlayer_nb.config import reset_configuration
    from quantumlayer_nb.errors import RunFailed
    from quantumlayer_nb.pipelines.runs import run_notebook

    os.chdir(spec["cwd"])
    reset_configuration()
    try:
        result = run_notebook(spec["notebook"], spec["parameters"], replay=spec["replay"],
                              out=spec["out"], run_id=spec["run_id"])
    except RunFailed as exc:
        failed = exc.result
        return {"status": "failed", "error": str(exc),
                "output": str(getattr(failed, "output", "")),
                "duration_s": getattr(failed, "duration_s", None),
                "recorded": getattr(failed, "recorded", {})}
    except QLayerError as exc:
        return {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "output": None,
                "duration_s": None, "recorded": {}}
    return {"status": "ok", "error": None, "output": str(result.output),
            "duration_s": result.duration_s, "recorded": result.recorded}


def _forked(spec: dict[str, Any], conn: Any) -> None:
    try:
        conn.send(_child_main(spec))
    except BaseException as exc:  # report anything, then let the child end
        conn.send({"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                   "output": None, "duration_s": None, "recorded": {}})
    finally:
        conn.close()


def run_isolated(spec: dict[str, Any], fork: bool = True) -> dict[str, Any]:
    """Run one notebook in a process of its own and return its outcome."""
    if fork and "fork" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("fork")
        parent, child = context.Pipe(duplex=False)
        process = context.Process(target=_forked, args=(spec, child), daemon=False)
        process.start()
        child.close()
        try:
            outcome: dict[str, Any] = parent.recv()
        except EOFError:
            outcome = {"status": "failed", "output": None, "duration_s": None, "recorded": {},
                       "error": f"the run's process ended with code {process.exitcode}"}
        process.join()
        return outcome
    done = subprocess.run(
        [sys.executable, "-m", "quantumlayer_nb.pipelines._child", json.dumps(spec, default=str)],
        capture_output=True, text=True, cwd=spec["cwd"], check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"status": "failed", "output": None, "duration_s": None, "recorded": {},
                "error": (done.stderr.strip().splitlines() or ["the run's process failed"])[-1]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _run_fresh_interpreter(spec: dict[str, Any]) -> dict[str, Any]:
    """The Dask task: a fresh interpreter per run, whatever the worker ran before."""
    return run_isolated(spec, fork=False)


@dataclass
class SweepResult:
    """What a sweep ran: one row per combination, and where the table is."""

    folder: Path
    table_path: Path
    rows: list[dict[str, Any]]
    ran: int
    skipped: int

    @property
    def failed(self) -> int:
        return sum(1 for row in self.rows if row["status"] != "ok")

    def as_json(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "table": str(self.table_path), "ran": self.ran,
                "skipped": self.skipped, "failed": self.failed, "rows": self.rows}

    def table_text(self) -> str:
        """The rows as a plain text table, parameters and recorded values as columns."""
        flat = [_flatten(row) for row in self.rows]
        columns: list[str] = []
        for row in flat:
            columns.extend(c for c in row if c not in columns)
        cells = [[_cell(row.get(c)) for c in columns] for row in flat]
        widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
        lines.append(f"{len(self.rows)} runs: {self.ran} ran, {self.skipped} already done, "
                     f"{self.failed} failed")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"SweepResult({len(self.rows)} runs, {self.failed} failed, "
                f"table {self.table_path})")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _flatten(row: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {"run_id": (row.get("run_id") or "")[:12], "status": row["status"]}
    flat.update(row["parameters"])
    for name, value in (row.get("recorded") or {}).items():
        flat[name] = value if isinstance(value, (int, float, str, bool)) or value is None \
            else json.dumps(value)
    flat["duration_s"] = row.get("duration_s")
    return flat


def _read_manifest(path: Path) -> dict[str, dict[str, Any]]:
    finished: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return finished
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line a killed sweep left half-written
        finished[row["key"]] = row
    return finished


def _write_table(folder: Path, rows: list[dict[str, Any]]) -> Path:
    import duckdb

    flat_path = folder / "results.jsonl"
    flat_path.write_text("".join(json.dumps(_flatten(r) | {"run_id": r.get("run_id")},
                                            default=str) + "\n" for r in rows),
                         encoding="utf-8")
    table = folder / TABLE
    tmp = folder / f".{TABLE}.tmp"
    con = duckdb.connect()
    source = str(flat_path).replace("'", "''")
    target = str(tmp).replace("'", "''")
    con.execute(f"COPY (SELECT * FROM read_json_auto('{source}')) TO '{target}' "
                "(FORMAT PARQUET)")
    os.replace(tmp, table)
    return table


def sweep(
    notebook: str | Path,
    grid: str | Path | dict[str, list[Any]],
    *,
    executor: str = "local",
    workers: int = 2,
    scheduler: str | None = None,
    out: str | Path | None = None,
    replay: bool = False,
    on_run: Callable[[dict[str, Any]], None] | None = None,
) -> SweepResult:
    """Run ``notebook`` for every combination of ``grid``, ``workers`` at a time.

    Args:
        notebook: The notebook; each grid name must be one of its parameters.
        grid: A YAML file path, or a mapping of parameter name to a list of values.
        executor: ``"local"`` (processes on this machine) or ``"dask"``
            (``dask.distributed``: the cluster at ``scheduler``, else a ``LocalCluster``).
        workers: Runs at once (local), or workers of the local cluster (dask).
        scheduler: A Dask scheduler address, e.g. ``tcp://10.0.0.5:8786``.
        out: The sweep folder (manifest, executed notebooks, results table).
        replay: Replay every run from the store.
        on_run: Called with each finished row.

    Returns:
        A :class:`SweepResult`; ``results.parquet`` in its folder has one row per run.
    """
    from quantumlayer_nb._ids import new_id
    from quantumlayer_nb.config import get_settings
    from quantumlayer_nb.pipelines.runs import notebook_parameters

    if executor not in ("local", "dask"):
        raise RequestError(f"--executor {executor!r}: choose local or dask.")
    if workers < 1:
        raise RequestError(f"workers={workers}: run at least one at a time.")
    path = Path(notebook).resolve()
    if not path.is_file():
        raise RequestError(f"Notebook not found: {path}. Check the path.")
    values = load_grid(grid) if not isinstance(grid, dict) else grid
    known = notebook_parameters(path)
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise RequestError(
            f"The grid names {', '.join(map(repr, unknown))}, which {path.name} does not take. "
            f"Its parameters are: {', '.join(known) or 'none'}."
        )
    settings = get_settings()
    grid_name = Path(grid).stem if not isinstance(grid, dict) else _key(values)[:8]
    folder = Path(out) if out else settings.data_path / "sweeps" / f"{path.stem}-{grid_name}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"Cannot create the sweep folder {folder}: {exc}.") from exc
    manifest = folder / MANIFEST
    finished = _read_manifest(manifest)
    combos = combinations(values)
    rows: dict[str, dict[str, Any]] = {}
    todo: list[dict[str, Any]] = []
    for params in combos:
        key = _key(params)
        done = finished.get(key)
        if done is not None and done["status"] == "ok":
            rows[key] = done
            continue
        todo.append({"key": key, "notebook": str(path), "parameters": params,
                     "replay": replay, "out": str(folder / "notebooks"), "cwd": os.getcwd(),
                     "run_id": new_id()})
    lock = threading.Lock()

    def finish(spec: dict[str, Any], outcome: dict[str, Any]) -> None:
        row = {"key": spec["key"], "run_id": spec["run_id"], "parameters": spec["parameters"],
               **outcome}
        with lock:
            rows[spec["key"]] = row
            with manifest.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(row, default=str) + "\n")
        if on_run is not None:
            on_run(row)

    if executor == "local":
        _run_local(todo, workers, finish)
    else:
        _run_dask(todo, workers, scheduler, finish)
    ordered = [rows[_key(params)] for params in combos if _key(params) in rows]
    table = _write_table(folder, ordered)
    return SweepResult(folder=folder, table_path=table, rows=ordered, ran=len(todo),
                       skipped=len(combos) - len(todo))


def _run_local(todo: list[dict[str, Any]], workers: int,
               finish: Callable[[dict[str, Any], dict[str, Any]], None]) -> None:
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="qlayer-sweep") as pool:
        futures: list[tuple[dict[str, Any], Future[dict[str, Any]]]] = [
            (spec, pool.submit(run_isolated, spec)) for spec in todo]
        for spec, future in futures:
            finish(spec, future.result())


def _run_dask(todo: list[dict[str, Any]], workers: int, scheduler: str | None,
              finish: Callable[[dict[str, Any], dict[str, Any]], None]) -> None:
    try:
        import dask.distributed as distributed_module
    except ImportError as exc:
        raise ConfigError("--executor dask needs dask.distributed: "
                          "pip install 'dask[distributed]'.") from exc
    distributed: Any = distributed_module  # untyped: its calls go through Any
    Client, LocalCluster, as_completed = (distributed.Client, distributed.LocalCluster,
                                          distributed.as_completed)
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout=30)
        except OSError as exc:
            raise ConfigError(f"Cannot reach the Dask scheduler at {scheduler}: {exc}.") from exc
    try:
        # pure=False and a key per run id: a repeated sweep really runs again.
        futures = {client.submit(_run_fresh_interpreter, spec, pure=False,
                                 key=f"qlayer-run-{spec['run_id']}"): spec for spec in todo}
        for future in as_completed(futures):
            finish(futures[future], future.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
