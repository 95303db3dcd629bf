"""The ``%%qlayer`` cell magic: the cell body is the prompt; code becomes the next cell."""

from __future__ import annotations

from typing import Any

from quantumlayer_nb.errors import QLayerError

__all__ = ["load", "unload"]


def _cell_magic(line: str, cell: str, ipython: Any) -> Any:
    from quantumlayer_nb._api import generate

    model = line.strip() or None
    try:
        result = generate(cell, model=model)
    except QLayerError as exc:
        print(f"{type(exc).__name__}: {exc}")
        raise
    if result.code:
        ipython.set_next_input(result.code, replace=False)
    print(f"# {result.footer()}")
    return result


def load(ipython: Any) -> None:
    """Register ``%%qlayer`` and start importing litellm in the background."""
    from quantumlayer_nb.llm._lazy import preload_in_background

    ipython.register_magic_function(
        lambda line, cell: _cell_magic(line, cell, ipython), magic_kind="cell", magic_name="qlayer"
    )
    preload_in_background()


def unload(ipython: Any) -> None:
    """Nothing to undo: IPython drops the magic with the extension."""
