"""``qlayer run``, ``qlayer runs``, ``qlayer sweep`` and ``qlayer new``: notebooks as pipelines.

Exit codes: 0 when everything ran; 1 when a cell (or a sweep's run) failed, the executed
notebook still saved; 2 for a bad argument (unknown parameter, missing notebook, bad grid).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from quantumlayer_nb.errors import QLayerError, RequestError, RunFailed

__all__ = ["register"]

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
runs_app = typer.Typer(help="Past notebook runs: `qlayer runs`, `qlayer runs show ID`.",
                       invoke_without_command=True, add_completion=False)


def register(app: typer.Typer) -> None:
    """Add the pipeline commands to the main command line."""
    app.command(name="run")(run_command)
    app.add_typer(runs_app, name="runs")
    app.command(name="sweep")(sweep_command)
    app.command(name="new")(new_command)


def _parameters(pairs: list[str] | None) -> dict[str, Any]:
    from quantumlayer_nb.pipelines.runs import parse_parameter

    values: dict[str, Any] = {}
    items = list(pairs or [])
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise RequestError(f"-p {item!r}: write -p NAME=VALUE (or -p NAME VALUE).")
        values[name] = parse_parameter(text)
    return values


def _split_pairs(pairs: list[str] | None, extra: list[str] | None) -> list[str]:
    """``-p NAME VALUE`` arrives as a -p value and a stray argument: join them."""
    joined: list[str] = []
    pending = list(extra or [])
    for item in pairs or []:
        if "=" in item:
            joined.append(item)
        elif pending:
            joined.append(f"{item}={pending.pop(0)}")
        else:
            raise RequestError(f"-p {item}: give a value, -p {item} VALUE or -p {item}=VALUE.")
    if pending:
        raise RequestError(f"Unexpected arguments {pending}: parameters go as -p NAME VALUE.")
    return joined


def _user_error(exc: QLayerError) -> typer.Exit:
    typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
    return typer.Exit(2 if isinstance(exc, RequestError) else 1)


def run_command(
    notebook: Annotated[Path, typer.Argument(help="The notebook to run.")],
    values: Annotated[list[str] | None, typer.Argument(
        help="Values for -p NAME VALUE.", show_default=False)] = None,
    parameter: Annotated[list[str] | None, typer.Option(
        "-p", "--parameter", help="A parameter: -p NAME VALUE or -p NAME=VALUE.")] = None,
    replay: Annotated[bool, typer.Option(
        "--replay", help="Answer every LLM call from the store only; fail on a miss.")] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Folder for the executed notebook (default: .qlayer/runs).")] = None,
    kernel: Annotated[str | None, typer.Option("--kernel", help="Kernel name.")] = None,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", help="Seconds a cell may run.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Execute NOTEBOOK with papermill as one run; every LLM call is tied to it and its cell."""
    from quantumlayer_nb.pipelines.runs import run_notebook

    try:
        params = _parameters(_split_pairs(parameter, values))
        result = run_notebook(notebook, params, replay=replay, out=out, kernel=kernel,
                              timeout=timeout)
    except RunFailed as exc:
        if json_out:
            typer.echo(json.dumps(_result_json(exc.result), indent=2, default=str))
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except QLayerError as exc:
        raise _user_error(exc) from None
    if json_out:
        typer.echo(json.dumps(_result_json(result), indent=2, default=str))
        return
    typer.echo(f"run {result.run_id[:12]}: {notebook} ran in {result.duration_s:.1f} s"
               f"{' (replayed from the store)' if replay else ''}")
    typer.echo(f"executed notebook: {result.output}")
    typer.echo(f"open it with: jupyter lab {result.output}")
    for name, value in result.recorded.items():
        typer.echo(f"  {name} = {value}")


def _result_json(result: Any) -> dict[str, Any]:
    if result is None:
        return {}
    failed = result.failed_cell
    return {
        "run_id": result.run_id, "notebook": str(result.notebook), "output": str(result.output),
        "parameters": result.parameters, "status": result.status,
        "duration_s": round(result.duration_s, 3), "replay": result.replay,
        "failed_cell": None if failed is None else {
            "index": failed.index, "first_line": failed.first_line, "error": failed.error},
        "recorded": result.recorded,
    }


@runs_app.callback()
def runs_command(ctx: typer.Context, json_out: JsonFlag = False,
                 limit: Annotated[int, typer.Option("--limit", min=1)] = 20) -> None:
    """List past runs: id, notebook, parameters, status, duration, calls, cost."""
    if ctx.invoked_subcommand is not None:
        return
    from quantumlayer_nb._format import usd as money
    from quantumlayer_nb.pipelines.runs import list_runs

    try:
        runs = list_runs(limit=limit)
    except QLayerError as exc:
        raise _user_error(exc) from None
    if json_out:
        typer.echo(json.dumps(runs, indent=2, default=str))
        return
    if not runs:
        typer.echo("No runs yet. Start one with: qlayer run NOTEBOOK.ipynb")
        return
    for run in runs:
        seconds = (run["duration_ms"] or 0) / 1000
        failed = run["failed_cell"]
        where = f" at cell {failed['index'] + 1}: {failed['error']}" if failed else ""
        params = " ".join(f"{k}={v}" for k, v in run["parameters"].items())
        typer.echo(f"{run['run_id'][:12]}  {Path(run['notebook']).name}  {run['status']}"
                   f"{where}  {seconds:.1f} s  {run['calls']} calls  {money(run['cost_usd'])}"
                   f"{'  ' + params if params else ''}")


@runs_app.command("show")
def runs_show(run_id: Annotated[str, typer.Argument(help="A run id or its first digits.")],
              json_out: JsonFlag = False) -> None:
    """One run with its calls."""
    from quantumlayer_nb._format import usd as money
    from quantumlayer_nb.pipelines.runs import show_run

    try:
        run = show_run(run_id)
    except QLayerError as exc:
        raise _user_error(exc) from None
    if json_out:
        typer.echo(json.dumps(run, indent=2, default=str))
        return
    typer.echo(f"run {run['run_id']}  {run['notebook']}  {run['status']}")
    typer.echo(f"parameters: {json.dumps(run['parameters'])}")
    typer.echo(f"output: {run['output']}")
    if run["failed_cell"]:
        failed = run["failed_cell"]
        typer.echo(f"failed at cell {failed['index'] + 1} ({failed['first_line']!r}): "
                   f"{failed['error']}")
    typer.echo(f"{run['calls']} calls, {money(run['cost_usd'])}")
    for call in run["call_list"]:
        cell = f"cell {int(call['cell']) + 1}" if (call["cell"] or "").isdigit() else "cell ?"
        typer.echo(f"  {cell}  {call['kind']}  {call['deployment'] or 'cache'}  "
                   f"{call['outcome']}  {money(call['cost_usd'])}")


def sweep_command(
    notebook: Annotated[Path, typer.Argument(help="The notebook to run for each combination.")],
    grid: Annotated[Path, typer.Option("--grid", help="YAML: parameter -> list of values.")],
    executor: Annotated[str, typer.Option(
        "--executor", help="local (worker processes) or dask.")] = "local",
    workers: Annotated[int, typer.Option("--workers", min=1, help="Runs at once.")] = 2,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="A Dask scheduler address (default: a local cluster).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Sweep folder (default: .qlayer/sweeps/<notebook>-<grid>).")] = None,
    replay: Annotated[bool, typer.Option("--replay", help="Replay every run.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Run NOTEBOOK once per combination of the grid, several at once; resumable."""
    from quantumlayer_nb.pipelines.sweeps import sweep

    try:
        result = sweep(notebook, grid, executor=executor, workers=workers,
                       scheduler=scheduler, out=out, replay=replay)
    except QLayerError as exc:
        raise _user_error(exc) from None
    if json_out:
        typer.echo(json.dumps(result.as_json(), indent=2, default=str))
    else:
        typer.echo(result.table_text())
        typer.echo(f"table: {result.table_path} (read it with duckdb: "
                   f"SELECT * FROM '{result.table_path}')")
    if result.failed:
        raise typer.Exit(1)


def new_command(
    description: Annotated[str, typer.Argument(help="What the notebook should do.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The notebook to write.")],
    data: Annotated[list[Path] | None, typer.Option(
        "--data", help="A data file the notebook uses (its schema is given to the model).")] = None,
    model: Annotated[str | None, typer.Option("-m", "--model", help="Model or route.")] = None,
    repair_rounds: Annotated[int, typer.Option("--repair-rounds", min=0)] = 2,
    json_out: JsonFlag = False,
) -> None:
    """Plan, generate, execute and repair a notebook from a description."""
    from quantumlayer_nb.pipelines.new import new_notebook

    try:
        result = new_notebook(description, output, data=list(data or []), model=model,
                              repair_rounds=repair_rounds)
    except QLayerError as exc:
        raise _user_error(exc) from None
    if json_out:
        typer.echo(json.dumps(result.as_json(), indent=2, default=str))
    else:
        typer.echo(result.summary())
    if not result.ok:
        raise typer.Exit(1)
