"""The kernel side of the lab extension's contract for generated cells.

On ``%load_ext`` the kernel opens a comm to the target ``quantumlayer_nb.frontend``; the lab
extension answers ``{"frontend": "jupyterlab", "version": 1}`` and the frontend is then
present: the magics display generated code as one ``application/vnd.quantumlayer.cell+json``
output (insert a cell, or replace one after a diff) instead of calling ``set_next_input``.
No answer (classic notebook, VS Code, papermill, a terminal) keeps ``set_next_input``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from typing import Any

__all__ = ["CELL_MIME", "FRONTEND_TARGET", "cell_bundle", "frontend_present",
           "open_frontend_comm"]

FRONTEND_TARGET = "quantumlayer_nb.frontend"
CELL_MIME = "application/vnd.quantumlayer.cell+json"


class _Frontend:
    """Whether the JupyterLab extension answered on its comm (see :func:`frontend_present`)."""

    present = False
    comm: Any = None


def frontend_present() -> bool:
    """True once the lab extension answered the ``quantumlayer_nb.frontend`` comm."""
    return _Frontend.present


def open_frontend_comm(ipython: Any) -> None:
    """Ask the lab extension, if any, to answer: generated cells then go through it."""
    _Frontend.present = False
    if _Frontend.comm is not None:  # a reload: the new comm's answer is the one that counts
        with contextlib.suppress(Exception):  # already closed by the frontend or the kernel
            _Frontend.comm.close()
        _Frontend.comm = None
    if getattr(ipython, "kernel", None) is None:
        return  # a terminal or plain IPython: no frontend to ask
    try:
        from comm import create_comm

        channel = create_comm(target_name=FRONTEND_TARGET, data={"version": 1})
    except Exception:  # no comm support in this kernel: stay on set_next_input
        return

    def answered(message: dict[str, Any]) -> None:
        data = (message.get("content") or {}).get("data") or {}
        if isinstance(data, dict) and data.get("frontend") and _Frontend.comm is channel:
            _Frontend.present = True

    def closed(_message: dict[str, Any]) -> None:
        if _Frontend.comm is channel:
            _Frontend.present = False

    channel.on_msg(answered)
    channel.on_close(closed)
    _Frontend.comm = channel


def cell_bundle(generation: Any, action: str, original: str | None,
                 target: int | None) -> dict[str, Any]:
    """The output the lab extension turns into an inserted cell or a diff to accept."""
    created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    note = (f"qlayer: code inserted as the next cell (call {generation.call_id})"
            if action == "insert" else
            f"qlayer: a corrected cell [{target}] is shown as a diff to accept "
            f"(call {generation.call_id})")
    return {
        CELL_MIME: {
            "version": 1, "action": action, "code": generation.code,
            "metadata": {"quantumlayer": {
                "call_id": generation.call_id, "model": generation.model_served,
                "prompt_hash": generation.prompt_hash,
                "tokens": {"in": generation.tokens_in, "out": generation.tokens_out,
                           "estimated": bool(getattr(generation, "tokens_estimated", False))},
                "cost_usd": generation.cost_usd, "created": created}},
            "original": original, "target_execution_count": target,
        },
        "text/plain": note,
    }
