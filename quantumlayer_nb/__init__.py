"""quantumlayer_nb: LLM-written notebook code you can trust — generate, route, evaluate, audit.

The public API. Names load on first use, so ``import quantumlayer_nb`` stays fast and
imports neither litellm nor qdrant nor pydantic models until they are needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "AsyncGenerationStream",
    "CascadeReport",
    "EvalReport",
    "Generation",
    "GenerationStream",
    "Settings",
    "__version__",
    "aevaluate",
    "agenerate",
    "agenerate_many",
    "configure",
    "errors",
    "evaluate",
    "generate",
    "generate_many",
    "get_settings",
    "load_ipython_extension",
    "record",
    "register_check",
    "run_notebook",
    "unload_ipython_extension",
    "usage",
]

_LAZY: dict[str, tuple[str, str]] = {
    "AsyncGenerationStream": ("quantumlayer_nb._api", "AsyncGenerationStream"),
    "Generation": ("quantumlayer_nb.generation", "Generation"),
    "GenerationStream": ("quantumlayer_nb._api", "GenerationStream"),
    "Settings": ("quantumlayer_nb.config", "Settings"),
    "agenerate": ("quantumlayer_nb._api", "agenerate"),
    "agenerate_many": ("quantumlayer_nb._batch", "agenerate_many"),
    "generate_many": ("quantumlayer_nb._batch", "generate_many"),
    "CascadeReport": ("quantumlayer_nb.routing.cascade", "CascadeReport"),
    "register_check": ("quantumlayer_nb.routing.cascade", "register_check"),
    "aevaluate": ("quantumlayer_nb.eval", "aevaluate"),
    "evaluate": ("quantumlayer_nb.eval", "evaluate"),
    "EvalReport": ("quantumlayer_nb.eval", "EvalReport"),
    "configure": ("quantumlayer_nb.config", "configure"),
    "generate": ("quantumlayer_nb._api", "generate"),
    "get_settings": ("quantumlayer_nb.config", "get_settings"),
    "usage": ("quantumlayer_nb._usage", "usage"),
    "record": ("quantumlayer_nb.pipelines.recorded", "record"),
    "run_notebook": ("quantumlayer_nb.pipelines.runs", "run_notebook"),
}

if TYPE_CHECKING:
    from quantumlayer_nb import errors
    from quantumlayer_nb._api import AsyncGenerationStream, GenerationStream, agenerate, generate
    from quantumlayer_nb._batch import agenerate_many, generate_many
    from quantumlayer_nb._usage import usage
    from quantumlayer_nb.config import Settings, configure, get_settings
    from quantumlayer_nb.eval import EvalReport, aevaluate, evaluate
    from quantumlayer_nb.generation import Generation
    from quantumlayer_nb.pipelines.recorded import record
    from quantumlayer_nb.pipelines.runs import run_notebook
    from quantumlayer_nb.routing.cascade import CascadeReport, register_check


def __getattr__(name: str) -> Any:
    if name == "errors":
        return importlib.import_module("quantumlayer_nb.errors")
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'quantumlayer_nb' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module_name), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext quantumlayer_nb``: register the magics, start litellm's import."""
    from quantumlayer_nb.jupyter.magics import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext quantumlayer_nb``."""
    from quantumlayer_nb.jupyter.magics import unload

    unload(ipython)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Where jupyter_server finds the sidebar's API (this imports nothing)."""
    return [{"module": "quantumlayer_nb.jupyter.server"}]
