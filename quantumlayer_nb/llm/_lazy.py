"""Import litellm once, lazily, offline, and with the built-in recipe model registered.

``import litellm`` takes seconds and, unless told otherwise, fetches its cost map from the
network. Nothing in the package imports it at module load: the first call does, through
:func:`litellm_module`, or :func:`preload_in_background` starts it early (``%load_ext``).
"""

from __future__ import annotations

import logging
import os
import threading
from types import ModuleType

__all__ = ["litellm_module", "preload_in_background"]

_lock = threading.Lock()
_module: ModuleType | None = None
_preload: threading.Thread | None = None


def litellm_module() -> ModuleType:
    """The configured litellm module (imported on first use)."""
    if _module is not None:
        return _module
    return _import()


def _import() -> ModuleType:
    global _module
    with _lock:
        if _module is not None:
            return _module
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        os.environ.setdefault("LITELLM_TELEMETRY", "False")
        for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
            # litellm logs every call at INFO; our ledger and footer already say what happened.
            logging.getLogger(name).setLevel(logging.ERROR)
        import litellm

        litellm.telemetry = False
        litellm.suppress_debug_info = True
        litellm.drop_params = True
        from quantumlayer_nb.llm.recipes import register_recipe_model

        register_recipe_model(litellm)
        _module = litellm
        return litellm


def preload_in_background() -> threading.Thread:
    """Start importing litellm in a daemon thread so the first call does not wait for it."""
    global _preload
    with _lock:
        if _preload is None:
            _preload = threading.Thread(target=_import, name="qlayer-litellm-import", daemon=True)
            _preload.start()
        return _preload
