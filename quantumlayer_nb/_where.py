"""Where a call is made from: the notebook cell, when there is one.

In a ``qlayer run`` the papermill engine sets ``QLAYER_CELL`` to the index of the executing
cell. In an interactive kernel, JupyterLab sends the cell's id in the metadata of each
execute request; ipykernel keeps that request as the current parent message.
"""

from __future__ import annotations

import sys

from quantumlayer_nb._env import env_get

__all__ = ["current_cell"]


def current_cell() -> str | None:
    """The executing cell: its index in a notebook run, else the frontend's cell id, else None."""
    cell = env_get("QLAYER_CELL")
    if cell is not None:
        return cell
    if "ipykernel" not in sys.modules:  # not in a kernel: nothing more to look at
        return None
    try:
        from IPython import get_ipython

        shell = get_ipython()
        kernel = getattr(shell, "kernel", None)
        if kernel is None:
            return None
        parent = kernel.get_parent("shell") if hasattr(kernel, "get_parent") else {}
        value = (parent or {}).get("metadata", {}).get("cellId")
    except Exception:  # a frontend or kernel without cell ids: no cell to name
        return None
    return str(value) if value else None
