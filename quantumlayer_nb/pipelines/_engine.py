"""The papermill engine ``qlayer``: papermill's own nbclient engine that tells the kernel which
cell is running, so every ledger event made by that cell carries its index.

Registered on the ``papermill.engine`` entry point (and by :func:`ensure_registered` for an
environment installed without entry points). Before each code cell it runs one silent
statement (no history, no execution count) that sets ``QLAYER_CELL`` in the kernel.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from nbclient.util import run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.utils import merge_kwargs, remove_args

__all__ = ["ENGINE_NAME", "QLayerEngine", "ensure_registered"]

ENGINE_NAME = "qlayer"


class _CellTellingClient(PapermillNotebookClient):  # type: ignore[misc]
    """A papermill client that sets ``QLAYER_CELL`` in the kernel before each code cell."""

    async def async_execute_cell(self, cell: Any, cell_index: int, *args: Any,
                                 **kwargs: Any) -> Any:
        if cell.cell_type == "code" and self.kc is not None:
            code = f"__import__('os').environ['QLAYER_CELL'] = {str(cell_index)!r}"
            msg_id = self.kc.execute(code, silent=True, store_history=False)
            await self.async_wait_for_reply(msg_id, cell)
        return await super().async_execute_cell(cell, cell_index, *args, **kwargs)

    execute_cell = run_sync(async_execute_cell)  # nbclient binds the sync twin per class


class QLayerEngine(NBClientEngine):  # type: ignore[misc]
    """papermill's nbclient engine, with the cell index passed to the kernel."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str | None,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: int = 60,
        execution_timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        kwargs = remove_args(["input_path"], **kwargs)
        safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
        final_kwargs = merge_kwargs(
            safe_kwargs,
            timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logging.getLogger("papermill"),
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        log = os.environ.get("QLAYER_KERNEL_LOG")
        if not log:
            return _CellTellingClient(nb_man, **final_kwargs).execute()
        # The kernel's own stderr (its start-up warnings, a crash) goes to the run's log file,
        # not into the outputs of whatever notebook started the run.
        with open(log, "ab") as stderr:
            return _CellTellingClient(nb_man, **final_kwargs).execute(stderr=stderr)


def ensure_registered() -> str:
    """Register the engine with papermill if its entry point was not loaded; its name."""
    if ENGINE_NAME not in papermill_engines._engines:
        papermill_engines.register(ENGINE_NAME, QLayerEngine)
    return ENGINE_NAME
