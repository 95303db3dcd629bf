"""The offline model ``qlayer/recipes``: retrieval over tested notebook recipes.

``qlayer/recipes`` is not a language model. It picks the closest recipe of the library by
embedding similarity, fills its slots from the request and the notebook context, and answers
with the code in a ```python block, in prose for text requests, or says plainly that nothing
matches (see ``_recipe_answer``).

Importing this module is cheap: the litellm handler (``RecipeLLM``, ``recipe_handler``,
``register_recipe_model``) lives in ``_recipe_litellm`` and is imported, with litellm, only
when one of those names is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quantumlayer_nb.llm._recipe_index import DEFAULT_THRESHOLD, configure

if TYPE_CHECKING:
    from quantumlayer_nb.llm._recipe_litellm import (
        RecipeLLM,
        recipe_handler,
        register_recipe_model,
    )

__all__ = [
    "MODEL_NAME",
    "PROVIDER",
    "RecipeLLM",
    "configure_recipes",
    "recipe_handler",
    "register_recipe_model",
]

PROVIDER = "qlayer"
MODEL_NAME = "qlayer/recipes"
_LITELLM_NAMES = frozenset({"RecipeLLM", "recipe_handler", "register_recipe_model"})


def __getattr__(name: str) -> Any:
    if name in _LITELLM_NAMES:
        from quantumlayer_nb.llm import _recipe_litellm

        return getattr(_recipe_litellm, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def configure_recipes(extra_dirs: Sequence[Path] = (), threshold: float | None = None) -> None:
    """Add user recipe folders and/or set the similarity threshold.

    Given folders replace those given before; called with no argument, it resets both
    (no user folders, default threshold) and rescans the entry points. The index is rebuilt
    on the next request, not now.

    Args:
        extra_dirs: Folders of recipe TOML files (same format as the built-in library).
        threshold: Minimum cosine similarity in [0, 1] for a recipe to answer.

    Raises:
        ConfigError: The threshold is outside [0, 1].
    """
    if not extra_dirs and threshold is None:
        configure(extra_dirs=(), threshold=DEFAULT_THRESHOLD)
    else:
        configure(extra_dirs=tuple(extra_dirs) or None, threshold=threshold)
