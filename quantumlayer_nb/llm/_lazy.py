"""Import litellm once, lazily, offline, and with the built-in recipe model registered.

``import litellm`` takes seconds and, unless told otherwise, fetches its cost map from the
network. Nothing in the package imports it at module load: the first call to a real model
does, through :func:`litellm_module`, or :func:`preload_in_background` starts it early
(``%load_ext``). The built-in ``qlayer/recipes`` never needs it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from types import ModuleType

__all__ = ["litellm_module", "no_unread_logging", "preload_in_background"]

_log = logging.getLogger(__name__)
_lock = threading.Lock()
_module: ModuleType | None = None
_preload: threading.Thread | None = None


def litellm_module() -> ModuleType:
    """The configured litellm module (imported on first use)."""
    if _module is not None:
        return _module
    return _import()


_CALLBACK_LISTS = (
    "success_callback", "_async_success_callback", "callbacks", "input_callback",
    "_async_input_callback", "service_callback", "audit_log_callbacks",
)


@contextlib.contextmanager
def no_unread_logging(litellm: ModuleType) -> Iterator[None]:
    """Around one call: skip litellm's success logging when nothing would read it.

    After every completion litellm hands its success handler to a thread of its own, which
    rebuilds the cost and a logging payload for the callbacks configured in litellm. With no
    callback configured that work is read by nobody, and it competes with the caller for the
    interpreter (about a millisecond per call; more in a batch). The ledger, the cost and the
    usage come from the response itself, not from that handler. When the user has configured
    any litellm callback or ``litellm.max_budget``, or litellm no longer offers the switch,
    nothing changes.
    """
    flag = _internal_call_flag()
    if (flag is None or any(getattr(litellm, name, None) for name in _CALLBACK_LISTS)
            or bool(getattr(litellm, "max_budget", None))):  # its budget is counted there
        yield
        return
    token = flag.set(True)
    try:
        yield
    finally:
        flag.reset(token)


@functools.cache
def _internal_call_flag() -> ContextVar[bool] | None:
    """litellm's "nested call, logged by its parent" switch, or None where it is absent."""
    try:
        from litellm._internal_context import is_internal_call
    except ImportError:
        return None
    return is_internal_call if isinstance(is_internal_call, ContextVar) else None


def _import() -> ModuleType:
    global _module
    with _lock:
        if _module is not None:
            return _module
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        os.environ.setdefault("LITELLM_TELEMETRY", "False")
        # litellm logs every call at INFO; our ledger and footer already say what happened.
        # Its own variable quiets its own handler; the loggers' levels stay the user's.
        os.environ.setdefault("LITELLM_LOG", "ERROR")
        import litellm

        litellm.telemetry = False
        litellm.suppress_debug_info = True
        litellm.drop_params = True
        from quantumlayer_nb.llm._recipe_litellm import register_recipe_model

        register_recipe_model(litellm)
        _module = litellm
        return litellm


def preload_in_background() -> threading.Thread:
    """Start loading, in a daemon thread, what the first call will need.

    When the default model is the built-in ``qlayer/recipes`` (no provider configured),
    that is the recipe index; litellm is not needed for it (the client answers it in
    process) and is imported later, on first use of a real model. Otherwise it is litellm.
    """
    global _preload
    with _lock:
        if _preload is None:
            _preload = threading.Thread(target=_warm, name="qlayer-preload", daemon=True)
            _preload.start()
        return _preload


def _warm() -> None:
    try:
        from quantumlayer_nb.config import RECIPES_MODEL, get_settings

        offline = get_settings().resolved_default() == RECIPES_MODEL
        if offline:
            from quantumlayer_nb.llm._recipe_index import get_index

            get_index()
            return
    except Exception:  # a broken configuration is reported by the first call, not here
        _log.debug("preload: configuration not readable; importing litellm", exc_info=True)
    _import()
