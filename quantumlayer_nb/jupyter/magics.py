"""The ``%%qlayer`` cell magic and the ``%qlayer`` line magics.

Loading stays fast: this module imports only the standard library and ``errors`` at load;
the API, widgets and litellm (started in a background thread) load on first use.
"""

from __future__ import annotations

import re
import sys
import traceback
from collections.abc import Callable
from typing import Any

from quantumlayer_nb.errors import QLayerError

__all__ = ["MagicError", "load", "unload"]

_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CONTEXT_CHARS = 6000
_HELP = """%%qlayer [-m MODEL_OR_ROUTE] [-f code|markdown|text] [--system TEXT]
         [--context VAR[,VAR]] [--no-insert] [--stream] [--tag TAG]
    The cell body is the prompt; {var} is filled from the notebook. With -f code the
    code becomes the next cell. The result is the cell's value and is kept in _qlayer.
%qlayer fix               ask for a corrected version of the cell that just failed
%qlayer explain [CELL]    explain cell CELL (an execution count) or the previous cell
%qlayer models            deployments, aliases, routes and the default
%qlayer usage             calls, tokens and cost per model
%qlayer budget            budgets and what was spent against them
%qlayer config KEY=VALUE  change a setting for this kernel (dotted keys nest)
%qlayer eval SUITE [--models a,b] [--n N] [--k K] [--samples FILE] [--repair-rounds R]
                          evaluate with live progress; the stop button cancels cleanly
%qlayer help              this text"""


class MagicError(QLayerError):
    """A user error in a magic: shown as one short paragraph; the cell still fails.

    IPython calls ``_render_traceback_`` instead of printing a traceback, so a papermill
    run stops at the cell with the paragraph as its error, and no stack is shown.
    """

    def __init__(self, error: QLayerError) -> None:
        super().__init__(str(error))
        self.error = error

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self.error).__name__}: {line}" if i == 0 else line
                for i, line in enumerate(str(self.error).splitlines() or [""])]


def _user_errors(function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any) -> Any:
        try:
            return function(*args)
        except MagicError:
            raise
        except QLayerError as exc:
            raise MagicError(exc) from exc
    return wrapper


def _provenance(generation: Any) -> dict[str, Any]:
    return {"quantumlayer": {"call_id": generation.call_id, "model": generation.model_served,
                             "cost_usd": generation.cost_usd,
                             "prompt_hash": generation.prompt_hash}}


def _fill_variables(prompt: str, namespace: dict[str, Any]) -> str:
    from quantumlayer_nb._context import is_secret_name

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in namespace and not is_secret_name(name):
            return str(namespace[name])
        return match.group(0)  # unknown (or secret-looking) names stay as written
    return _VARIABLE.sub(replace, prompt)


def _context(names: list[str], namespace: dict[str, Any]) -> str | None:
    from quantumlayer_nb._context import describe_context
    from quantumlayer_nb.jupyter._parser import CELL_USAGE, MagicUsageError

    if not names:
        return None
    missing = [name for name in names if name not in namespace]
    if missing:
        raise MagicUsageError(f"--context names {', '.join(missing)}, which the notebook does "
                              "not define. Run the cell that defines it first.", CELL_USAGE)
    text = describe_context({name: namespace[name] for name in names})
    return text if len(text) <= _CONTEXT_CHARS else text[:_CONTEXT_CHARS] + "\n…(truncated)"


def _show_result(ipython: Any, generation: Any, insert: bool, streamed: bool) -> None:
    from IPython.display import Markdown, display

    metadata = _provenance(generation)
    if generation.format == "code" and generation.code is not None and insert:
        header = f"# qlayer: call {generation.call_id[:12]} · {generation.model_served}\n"
        ipython.set_next_input(header + generation.code, replace=False)
        if generation.syntax_error:
            print(f"warning: the code does not parse ({generation.syntax_error})")
    elif generation.format == "markdown" and not streamed:
        display(Markdown(generation.text), metadata=metadata)  # type: ignore[no-untyped-call]
    elif (not streamed and generation.format == "text") or (
            generation.format == "code" and generation.code is None):
        print(generation.text)
    footer = generation.footer()
    display({"text/plain": footer,  # type: ignore[no-untyped-call]
             "text/html": f'<div class="qlayer-footer"><small>{_escape(footer)}</small></div>'},
            raw=True, metadata=metadata)
    ipython.user_ns["_qlayer"] = generation


def _escape(text: str) -> str:
    import html

    return html.escape(text)


@_user_errors
def cell_magic(line: str, cell: str, ipython: Any) -> Any:
    """``%%qlayer``: generate from the cell body; see ``%qlayer help``."""
    from quantumlayer_nb._api import generate
    from quantumlayer_nb.jupyter._parser import parse_cell_line

    options = parse_cell_line(line)
    namespace = ipython.user_ns
    prompt = _fill_variables(cell, namespace)
    kwargs: dict[str, Any] = {
        "model": options.model, "system": options.system, "format": options.format,
        "context": _context(options.context, namespace),
        "metadata": {"tags": options.tags} if options.tags else None,
    }
    if options.stream:
        stream = generate(prompt, stream=True, **kwargs)
        for delta in stream:
            sys.stdout.write(delta)
            sys.stdout.flush()
        print()
        generation = stream.result()
    else:
        generation = generate(prompt, **kwargs)
    _show_result(ipython, generation, options.insert, options.stream)
    return generation


def _previous_cell(ipython: Any, which: str | None = None) -> str:
    from quantumlayer_nb.jupyter._parser import LINE_USAGE, MagicUsageError

    history = ipython.user_ns.get("In") or []
    if which:
        if not which.isdigit() or not 0 < int(which) < len(history):
            raise MagicUsageError(f"There is no cell {which!r}; give an execution count "
                                  "like 3 (the number in In [3]).", LINE_USAGE)
        return str(history[int(which)])
    for source in reversed(history[:-1]):  # the last entry is this %qlayer line itself
        if source.strip() and not source.lstrip().startswith("%qlayer"):
            return str(source)
    raise MagicUsageError("There is no previous cell to use. Run a cell first.", LINE_USAGE)


def _fix(ipython: Any, words: list[str]) -> Any:
    from quantumlayer_nb._api import generate
    from quantumlayer_nb.jupyter._parser import LINE_USAGE, MagicUsageError

    error = getattr(sys, "last_value", None)
    if error is None:
        raise MagicUsageError("No error to fix: run the failing cell, then %qlayer fix.",
                              LINE_USAGE)
    trace = "".join(traceback.format_exception(type(error), error,
                                               getattr(sys, "last_traceback", None)))[-3000:]
    source = _previous_cell(ipython)
    prompt = (f"This notebook cell failed.\n\nCell:\n```python\n{source}\n```\n\n"
              f"Error:\n```\n{trace}\n```\n\nReply with the corrected cell in one ```python "
              "block, then explain the fix in at most two sentences.")
    generation = generate(prompt, format="code", metadata={"tags": ["fix"]})
    explanation = re.sub(r"```.*?(```|\Z)", "", generation.text, flags=re.DOTALL).strip()
    if explanation:
        print(explanation)
    _show_result(ipython, generation, insert=True, streamed=False)
    return generation


def _explain(ipython: Any, words: list[str]) -> Any:
    from quantumlayer_nb._api import generate

    source = _previous_cell(ipython, words[0] if words else None)
    prompt = f"Explain what this notebook cell does, briefly:\n```python\n{source}\n```"
    generation = generate(prompt, format="markdown", metadata={"tags": ["explain"]})
    _show_result(ipython, generation, insert=False, streamed=False)
    return generation


def _models(ipython: Any, words: list[str]) -> Any:
    from quantumlayer_nb.config import get_settings

    settings = get_settings()
    lines = [f"default: {settings.resolved_default()}"]
    lines += [f"deployment {name}: {d.model}" for name, d in settings.deployments.items()]
    lines += [f"alias {name} -> {target}" for name, target in settings.aliases.items()]
    lines += [f"route {name}: {r.policy} over {', '.join(r.deployments)}"
              for name, r in settings.routes.items()]
    print("\n".join(lines))
    return None


def _usage(ipython: Any, words: list[str]) -> Any:
    from quantumlayer_nb._usage import usage
    from quantumlayer_nb.jupyter.progress import has_widget_frontend

    relation = usage(by="model")
    if has_widget_frontend():
        from IPython.display import display

        from quantumlayer_nb.jupyter.widgets import CostWidget

        display(CostWidget().refresh())  # type: ignore[no-untyped-call]
    else:
        print(_table(relation.columns, relation.fetchall()))
    return relation


def _table(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    cells = [list(columns)] + [[f"{v:.6f}" if isinstance(v, float) else str(v) for v in row]
                               for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
                     for row in cells)


def _budget(ipython: Any, words: list[str]) -> Any:
    import importlib

    from quantumlayer_nb.config import get_settings

    settings = get_settings()
    if not settings.budgets:
        print("No budgets configured. Add a [[budgets]] table (scope, limit_usd, period) to "
              "qlayer.toml to set one.")
        return []
    try:
        status = importlib.import_module("quantumlayer_nb.routing.budget").status
    except (ImportError, AttributeError):  # budgets not wired: show spend from the ledger
        return _budget_from_ledger(settings)
    found = status(settings)
    for item in found:
        limit = item.config.limit_usd
        resets = f", resets {item.resets}" if item.resets else ""
        print(f"{item.label} ({item.config.kind}, per {item.config.period}): "
              f"${item.spent_usd:.6f} of ${limit:.2f} spent, "
              f"${item.reserved_usd:.6f} reserved{resets}")
    return found


def _budget_from_ledger(settings: Any) -> Any:
    from quantumlayer_nb._usage import usage

    relation = usage()
    first = (relation.fetchall() or [()])[0]
    total = dict(zip(relation.columns, first, strict=False)).get("cost_usd") or 0.0
    for b in settings.budgets:
        print(f"{b.scope} {b.name or ''} ({b.kind}): ${b.limit_usd:.2f} per {b.period}; "
              f"the project spent ${total:.6f} in total")
    return settings.budgets


def _config(ipython: Any, words: list[str]) -> Any:
    from quantumlayer_nb.config import configure
    from quantumlayer_nb.jupyter._parser import parse_config_pairs

    settings = configure(**parse_config_pairs(words))
    print("configured: " + ", ".join(words))
    return settings


def _eval(ipython: Any, words: list[str]) -> Any:
    from quantumlayer_nb.config import get_settings
    from quantumlayer_nb.eval import evaluate
    from quantumlayer_nb.jupyter._parser import parse_eval
    from quantumlayer_nb.jupyter.progress import Progress, show

    options = parse_eval(words)
    progress = Progress(description=f"eval {options.suite}")
    show(progress)  # a ProgressWidget (its Cancel sets progress.cancel_event) or a text line
    try:
        # evaluate takes the stop button (KeyboardInterrupt) as a clean cancel and returns.
        report = evaluate(options.suite, models=options.models or None, n=options.n,
                          k=options.k, repair_rounds=options.repair_rounds, samples=options.samples,
                          data_dir=get_settings().data_path, on_progress=progress,
                          cancel_event=progress.cancel_event)
    except BaseException:
        progress.finish("failed")
        raise
    progress.finish("cancelled" if report.cancelled else "done")
    if report.cancelled:
        print(f"Cancelled after {progress.state.done} samples; the finished ones are "
              "recorded. Run the same %qlayer eval again to do the rest.")
    ipython.user_ns["_qlayer"] = report
    return report


_COMMANDS: dict[str, Callable[[Any, list[str]], Any]] = {
    "fix": _fix, "explain": _explain, "models": _models, "usage": _usage,
    "budget": _budget, "config": _config, "eval": _eval,
}


@_user_errors
def line_magic(line: str, ipython: Any) -> Any:
    """``%qlayer COMMAND``: see ``%qlayer help``."""
    from quantumlayer_nb.jupyter._parser import LINE_USAGE, MagicUsageError, split_line

    words = split_line(line, LINE_USAGE)
    if not words or words[0] in {"help", "-h", "--help"}:
        print(_HELP)
        return None
    command = _COMMANDS.get(words[0])
    if command is None:
        raise MagicUsageError(f"Unknown command {words[0]!r}.", LINE_USAGE)
    return command(ipython, words[1:])


def load(ipython: Any) -> None:
    """Register ``%qlayer`` / ``%%qlayer`` and start importing litellm in the background."""
    from quantumlayer_nb.llm._lazy import preload_in_background

    ipython.register_magic_function(lambda line, cell: cell_magic(line, cell, ipython),
                                    magic_kind="cell", magic_name="qlayer")
    ipython.register_magic_function(lambda line: line_magic(line, ipython),
                                    magic_kind="line", magic_name="qlayer")
    preload_in_background()


def unload(ipython: Any) -> None:
    """Remove the magics."""
    magics = ipython.magics_manager.magics
    magics["cell"].pop("qlayer", None)
    magics["line"].pop("qlayer", None)
