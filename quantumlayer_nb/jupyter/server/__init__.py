"""The Jupyter server extension: the sidebar's REST API under ``/qlayer/api/``.

Enabled by ``jupyter-config/server-config/quantumlayer_nb.json`` (installed with the
package), or by hand with ``jupyter server extension enable quantumlayer_nb``. It finds the
project from the server's ``root_dir`` (its ``qlayer.toml`` or ``[tool.qlayer]``) and reads
that project's data folder; ``QLAYER_DATA_DIR`` or ``c.QLayerServer.data_dir`` names the
folder instead. Loading it imports neither litellm nor duckdb nor any model: the server
only reads files. See docs/server-api.md for the endpoints.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from traitlets import Unicode
from traitlets.config import Configurable

__all__ = ["QLayerServer", "_jupyter_server_extension_points",
           "_load_jupyter_server_extension"]


class QLayerServer(Configurable):
    """Settings of the server extension (``c.QLayerServer.<name>`` in jupyter_server_config)."""

    data_dir = Unicode(
        "",
        help="The project's data folder to read (default: QLAYER_DATA_DIR, else the data_dir "
        "of the project found from the server's root_dir).",
    ).tag(config=True)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "quantumlayer_nb.jupyter.server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Add the handlers to the server and start reading the ledger in the background."""
    from quantumlayer_nb.jupyter.server.handlers import ServerState, handlers

    config = QLayerServer(parent=serverapp)
    chosen = config.data_dir or os.environ.get("QLAYER_DATA_DIR", "")
    root = Path(getattr(serverapp, "root_dir", None) or os.getcwd()).expanduser()
    data_dir = Path(chosen).expanduser() if chosen else None
    if data_dir is not None and not data_dir.is_absolute():
        data_dir = root / data_dir
    state = ServerState(root, data_dir)
    base_url = serverapp.web_app.settings.get("base_url", "/")
    serverapp.web_app.add_handlers(".*$", handlers(base_url, state))
    serverapp.web_app.settings["qlayer_state"] = state
    # The first read of a large ledger takes a while: do it before the first poll asks.
    threading.Thread(target=_warm_up, args=(state,), name="qlayer-ledger-warmup",
                     daemon=True).start()
    serverapp.log.info("quantumlayer_nb: sidebar API at %sqlayer/api/ reading %s", base_url,
                       state.data_path)


def _warm_up(state: Any) -> None:
    try:
        state.refresh()
    except Exception:  # the first request reads again and reports what is wrong
        return
