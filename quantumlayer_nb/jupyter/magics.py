"""The ``%%qlayer`` cell magic and the ``%qlayer`` line magics.

Loading stays fast: this module and its helpers (``_calls``, ``_cells``, ``_frontend``) import
only the standard library and ``errors`` at load; the API, widgets and litellm (started in a
background thread) load on first use.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

from quantumlayer_nb.errors import QLayerError
from quantumlayer_nb.jupyter._calls import CallNotConfirmed, confirm_cost, stream_to_output
from quantumlayer_nb.jupyter._cells import previous_cell, user_traceback
from quantumlayer_nb.jupyter._frontend import cell_bundle, frontend_present, open_frontend_comm

__all__ = ["CallNotConfirmed", "MagicError", "frontend_present", "load", "unload"]


_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CONTEXT_CHARS = 6000
_HELP = """%%qlayer [-m MODEL_OR_ROUTE] [-f code|markdown|text] [--system TEXT]
         [--context VAR[,VAR]] [--no-insert] [--stream] [--tag TAG] [--estimate]
    The cell body is the prompt; {var} is filled from the notebook. With -f code the
    code becomes the next cell. The result is kept in _qlayer. --estimate shows what
    the call would cost and sends nothing.
%qlayer fix               ask for a corrected version of the cell that just failed
%qlayer explain [CELL]    explain cell CELL (an execution count) or the previous cell
%qlayer models            deployments, aliases, routes and the default
%qlayer usage             calls, tokens and cost per model
%qlayer budget            budgets and what was spent against them
%qlayer config [KEY=VALUE ...]
                          show the settings, or change one for this kernel (dotted keys nest)
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


def _show_result(ipython: Any, generation: Any, insert: bool, streamed: bool,
                 replace: tuple[str, int | None] | None = None) -> None:
    """Show a generation: the code as the next cell (or a diff), the text, then the footer.

    Args:
        replace: For ``%qlayer fix``: the failing cell's source and execution count; the
            lab extension offers the code as a replacement of that cell.
    """
    from IPython.display import Markdown, display

    metadata = _provenance(generation)
    if generation.format == "code" and generation.code is not None and insert:
        if frontend_present():
            original, target = replace if replace is not None else (None, None)
            display(cell_bundle(generation,  # type: ignore[no-untyped-call]
                                 "replace" if replace is not None else "insert",
                                 original, target), raw=True, metadata=metadata)
        else:
            header = f"# qlayer: call {generation.call_id[:12]} · {generation.model_served}\n"
            ipython.set_next_input(header + generation.code, replace=False)
        if generation.syntax_error:
            print(f"warning: the code does not parse ({generation.syntax_error})")
    elif generation.format == "markdown" and not streamed:
        display(Markdown(generation.text), metadata=metadata)  # type: ignore[no-untyped-call]
    elif (not streamed and generation.format == "text") or (
            not streamed and generation.format == "code" and generation.code is None):
        print(generation.text)
    footer = generation.footer()
    display({"text/plain": footer,  # type: ignore[no-untyped-call]
             "text/html": f'<div class="qlayer-footer"><small>{_escape(footer)}</small></div>'},
            raw=True, metadata=metadata)
    ipython.user_ns["_qlayer"] = generation
    mark = getattr(generation, "mark_shown", None)
    if callable(mark):
        mark()  # the footer is on screen: the cell's Out shows nothing more


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
    if options.estimate:
        from quantumlayer_nb._estimate import estimate

        found = estimate(prompt, model=options.model, system=options.system,
                         context=kwargs["context"])
        print(found.line())
        return None
    confirm_cost(prompt, kwargs)
    if options.stream:
        generation = stream_to_output(ipython, generate(prompt, stream=True, **kwargs))
    else:
        generation = generate(prompt, **kwargs)
    _show_result(ipython, generation, options.insert, options.stream)
    return generation


def _fix(ipython: Any, words: list[str]) -> Any:
    from quantumlayer_nb._api import generate
    from quantumlayer_nb.jupyter._parser import LINE_USAGE, MagicUsageError

    error = getattr(sys, "last_value", None)
    if error is None:
        raise MagicUsageError("No error to fix: run the failing cell, then %qlayer fix.",
                              LINE_USAGE)
    trace = user_traceback(ipython, error, getattr(sys, "last_traceback", None))
    source, number = previous_cell(ipython)
    prompt = (f"This notebook cell failed.\n\nCell:\n```python\n{source}\n```\n\n"
              f"Error:\n```\n{trace}\n```\n\nReply with the corrected cell in one ```python "
              "block, then explain the fix in at most two sentences.")
    kwargs: dict[str, Any] = {"format": "code", "metadata": {"tags": ["fix"]}}
    confirm_cost(prompt, kwargs)
    generation = generate(prompt, **kwargs)
    if generation.code is not None:  # without code, _show_result prints the whole answer
        explanation = re.sub(r"```.*?(```|\Z)", "", generation.text, flags=re.DOTALL).strip()
        if explanation:
            print(explanation)
    _show_result(ipython, generation, insert=True, streamed=False, replace=(source, number))
    return generation


def _explain(ipython: Any, words: list[str]) -> Any:
    from quantumlayer_nb._api import generate

    source, _ = previous_cell(ipython, words[0] if words else None)
    prompt = f"Explain what this notebook cell does, briefly:\n```python\n{source}\n```"
    kwargs: dict[str, Any] = {"format": "markdown", "metadata": {"tags": ["explain"]}}
    confirm_cost(prompt, kwargs)
    generation = generate(prompt, **kwargs)
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


def _shown(view: Any) -> Any:
    """Display a view once and return it as the cell's value (which then shows nothing)."""
    from IPython.display import display

    display(view)  # type: ignore[no-untyped-call]
    view.mark_shown()
    return view


def _usage(ipython: Any, words: list[str]) -> Any:
    from quantumlayer_nb._usage import usage
    from quantumlayer_nb.jupyter._views import usage_view
    from quantumlayer_nb.jupyter.progress import has_widget_frontend

    view = usage_view(usage(by="model"))
    if has_widget_frontend():
        from IPython.display import display

        from quantumlayer_nb.jupyter.widgets import CostWidget

        display(CostWidget().refresh())  # type: ignore[no-untyped-call]
        view.mark_shown()  # the widget is the view; the table stays on the return value
        return view
    return _shown(view)


def _budget(ipython: Any, words: list[str]) -> Any:
    import importlib

    from quantumlayer_nb.config import get_settings
    from quantumlayer_nb.jupyter._views import TableView, budget_view

    settings = get_settings()
    if not settings.budgets:
        print("No budgets configured. Add a [[budgets]] table (scope, limit_usd, period) to "
              "qlayer.toml to set one.")
        return None
    try:
        status = importlib.import_module("quantumlayer_nb.routing.budget").status
    except (ImportError, AttributeError):  # budgets not wired: show spend from the ledger
        from quantumlayer_nb._format import usd

        rows = [[f"{b.scope} {b.name or ''}".strip(), str(b.period), usd(b.limit_usd)]
                for b in settings.budgets]
        return _shown(TableView("budgets", ["budget", "period", "limit"], rows,
                                data=settings.budgets))
    return _shown(budget_view(status(settings)))


def _config(ipython: Any, words: list[str]) -> Any:
    from quantumlayer_nb.config import configure, get_settings
    from quantumlayer_nb.jupyter._parser import parse_config_pairs
    from quantumlayer_nb.jupyter._views import config_view

    if not words:
        return _shown(config_view(get_settings()))
    view = config_view(configure(**parse_config_pairs(words)))
    print("configured: " + ", ".join(words))
    view.mark_shown()  # one line of confirmation; %qlayer config alone shows the settings
    return view


def _eval(ipython: Any, words: list[str]) -> Any:
    from quantumlayer_nb.config import get_settings
    from quantumlayer_nb.eval import evaluate
    from quantumlayer_nb.jupyter._parser import parse_eval
    from quantumlayer_nb.jupyter.progress import Progress, show

    options = parse_eval(words)
    settings = get_settings()
    # Without --models (and without --samples) the suite runs on the configured default
    # model, as a %%qlayer cell without -m does.
    models = options.models or ([settings.resolved_default()] if options.samples is None
                                else None)
    progress = Progress(description=f"eval {options.suite}")
    show(progress)  # a ProgressWidget (its Cancel sets progress.cancel_event) or a text line
    try:
        # evaluate takes the stop button (KeyboardInterrupt) as a clean cancel and returns.
        report = evaluate(options.suite, models=models, n=options.n,
                          k=options.k, repair_rounds=options.repair_rounds, samples=options.samples,
                          data_dir=settings.data_path, on_progress=progress,
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
    from quantumlayer_nb.jupyter._parser import (
        LINE_USAGE,
        MagicUsageError,
        split_config_words,
        split_line,
    )

    stripped = line.strip()
    if stripped.split(maxsplit=1)[:1] == ["config"]:  # JSON/TOML values keep their quotes
        words = ["config", *split_config_words(stripped[len("config"):])]
    else:
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
    open_frontend_comm(ipython)


def unload(ipython: Any) -> None:
    """Remove the magics."""
    magics = ipython.magics_manager.magics
    magics["cell"].pop("qlayer", None)
    magics["line"].pop("qlayer", None)
