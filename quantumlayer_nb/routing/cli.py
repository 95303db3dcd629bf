"""``qlayer budget show|set`` (what is spent against each budget, changing a limit) and
``qlayer models`` (what is configured, with every secret in it redacted)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from quantumlayer_nb.config import (
    RECIPES_MODEL,
    Settings,
    find_project_root,
    get_settings,
    redacted_view,
    reset_configuration,
)
from quantumlayer_nb.errors import QLayerError
from quantumlayer_nb.safety.secrets import redact_text

__all__ = ["models", "models_report", "register", "set_budget"]

budget_app = typer.Typer(help="Spending limits per project, user or route.",
                         no_args_is_help=True)

Scope = Annotated[str, typer.Argument(help="project, user or route.")]


def register(app: typer.Typer) -> None:
    """Add ``qlayer budget ...`` and ``qlayer models`` to the main command line."""
    app.add_typer(budget_app, name="budget")
    # `qlayer models` lives here, beside the settings it shows; replace any earlier copy.
    app.registered_commands[:] = [
        info
        for info in app.registered_commands
        if (info.name or getattr(info.callback, "__name__", "")) != "models"
    ]
    app.command("models")(models)


def models_report(settings: Settings) -> dict[str, Any]:
    """What ``qlayer models --json`` prints: default, aliases, deployments, built-in model.

    Built from :func:`quantumlayer_nb.config.redacted_view`, so a key written in a
    deployment's ``params`` or a password in its ``api_base`` is shown as a placeholder.
    A deployment lists only the keys set to something other than their default.
    """
    view = redacted_view(settings)
    deployments = {
        name: {key: view["deployments"][name][key] for key in dep.model_dump(exclude_defaults=True)}
        for name, dep in settings.deployments.items()
    }
    return {
        "default": redact_text(settings.resolved_default(), settings.safety.key_env_vars),
        "aliases": view["aliases"],
        "deployments": deployments,
        "builtin": [RECIPES_MODEL],
    }


def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List the default model, aliases and deployments (secrets in them redacted)."""
    try:
        report = models_report(get_settings())
    except QLayerError as exc:
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    typer.echo(f"default: {report['default']}")
    for alias, target in report["aliases"].items():
        typer.echo(f"alias       {alias} -> {target}")
    for name, dep in report["deployments"].items():
        where = f" @ {dep['api_base']}" if dep.get("api_base") else ""
        typer.echo(f"deployment  {name}: {dep['model']}{where}")
    typer.echo(f"builtin     {RECIPES_MODEL} (offline retrieval over recipes; not an LLM)")


@budget_app.command("show")
def show(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Show each budget: limit, spent and reserved this period, and when it resets."""
    from quantumlayer_nb.routing.budget import status

    try:
        rows = status(get_settings())
    except QLayerError as exc:
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps([{
            "budget": r.label, "limit_usd": r.config.limit_usd, "period": r.config.period,
            "kind": r.config.kind, "spent_usd": r.spent_usd, "reserved_usd": r.reserved_usd,
            "resets": r.resets} for r in rows], indent=2))
        return
    if not rows:
        typer.echo("No budgets. Add one with: qlayer budget set project 10")
        return
    for r in rows:
        resets = f", resets {r.resets}" if r.resets else ""
        typer.echo(f"{r.label}: ${r.spent_usd:.4f} spent (+${r.reserved_usd:.4f} in flight) "
                   f"of ${r.config.limit_usd:.2f} per {r.config.period} ({r.config.kind}"
                   f"{resets})")


@budget_app.command("set")
def set_command(
    scope: Scope,
    name_or_limit: Annotated[str, typer.Argument(help="Name (user/route/project), or limit.")],
    limit: Annotated[float | None, typer.Argument(help="Limit in USD.")] = None,
    period: Annotated[str, typer.Option(help="day, month or total.")] = "month",
    kind: Annotated[str, typer.Option(help="hard (refuse) or soft (warn).")] = "hard",
) -> None:
    """Set a limit, e.g. ``qlayer budget set project sales 10`` or ``... set user 5``."""
    if limit is None:
        name, amount = None, name_or_limit
    else:
        name, amount = name_or_limit, str(limit)
    try:
        path = set_budget(scope, name, float(amount), period=period, kind=kind)
    except (QLayerError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    who = f"{scope} {name}" if name else scope
    typer.echo(f"Budget '{who}' set to ${float(amount):g} per {period} ({kind}) in {path}.")


def set_budget(scope: str, name: str | None, limit_usd: float, *, period: str = "month",
               kind: str = "hard", root: Path | None = None) -> Path:
    """Write (or replace) a ``[[budgets]]`` entry in the project's ``qlayer.toml``.

    Returns:
        The file written.

    Raises:
        ValueError: the scope, period, kind or limit is not valid.
    """
    from pydantic import ValidationError

    from quantumlayer_nb.routing.models import BudgetConfig

    try:
        config = BudgetConfig.model_validate({"scope": scope, "name": name,
                                              "limit_usd": limit_usd, "period": period,
                                              "kind": kind})
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
        raise ValueError(
            f"Invalid budget ({fields}): scope is project, user or route; the limit is a "
            "positive number of USD; period is day, month or total; kind is hard or soft. "
            "Example: qlayer budget set user ana 5 --period day"
        ) from None
    if config.scope == "project" and name is not None and name == _project_name():
        config = config.model_copy(update={"name": None})
    path = (root or find_project_root()) / "qlayer.toml"
    entry = {k: v for k, v in config.model_dump().items() if v is not None}
    try:
        import tomlkit
    except ImportError:  # tomlkit keeps comments and layout; without it, append a table
        _append_table(path, config, entry)
    else:
        doc = tomlkit.parse(path.read_text()) if path.exists() else tomlkit.document()
        budgets: Any = doc.get("budgets")
        if budgets is None:
            budgets = tomlkit.aot()
            doc["budgets"] = budgets
        for i, old in enumerate(list(budgets)):
            if _same(old, config):
                budgets[i] = entry
                break
        else:
            budgets.append(entry)
        path.write_text(tomlkit.dumps(doc))
    reset_configuration()
    return path


def _same(old: Any, config: Any) -> bool:
    return bool(old.get("scope") == config.scope and old.get("name") == config.name
                and old.get("period", "month") == config.period)


def _append_table(path: Path, config: Any, entry: dict[str, Any]) -> None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - 3.10 only
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

    text = path.read_text() if path.exists() else ""
    existing = tomllib.loads(text).get("budgets", [])
    if any(_same(old, config) for old in existing):
        raise ValueError(
            f"{path} already has this budget and tomlkit is not installed to edit it in "
            "place. Change limit_usd under [[budgets]] by hand, or pip install tomlkit."
        )
    lines = "".join(f"{k} = {json.dumps(v)}\n" for k, v in entry.items())
    path.write_text(text.rstrip("\n") + f"\n\n[[budgets]]\n{lines}")


def _project_name() -> str | None:
    try:
        return get_settings().project
    except QLayerError:
        return None
