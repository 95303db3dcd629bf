"""The recipe index: which recipes exist, their embeddings, and answering a request.

Recipes come from the built-in library (``recipe_library/``), from packages exposing the entry
point group ``quantumlayer_nb.recipes`` and from folders given to ``configure``. Every
description is embedded with WordLlama (weights ship in its wheel; never downloaded) and kept
in an in-memory Qdrant collection (``:memory:``: a folder would lock to one process). The
best recipe is the one whose closest description has the highest cosine similarity.

The model and the index are built on first use, once per process, under a lock; ``configure``
only marks the index stale, so the next request rebuilds it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from quantumlayer_nb._context import parse_context, split_user_message
from quantumlayer_nb.errors import ConfigError
from quantumlayer_nb.llm._recipe_loader import (
    Recipe,
    check_unique,
    fill_template,
    load_recipe_dir,
    render_value,
)
from quantumlayer_nb.llm._recipe_slots import fill_slots

__all__ = [
    "DEFAULT_THRESHOLD",
    "ENTRY_POINT_GROUP",
    "LIBRARY_DIR",
    "RecipeAnswer",
    "RecipeIndex",
    "answer",
    "configure",
    "get_index",
    "load_all_recipes",
]

LIBRARY_DIR = Path(__file__).parent / "recipe_library"
ENTRY_POINT_GROUP = "quantumlayer_nb.recipes"
DEFAULT_THRESHOLD = 0.4
_COLLECTION = "recipes"
_NO_MATCH_ADVICE = (
    "qlayer/recipes is retrieval over built-in notebook recipes, not a language model: "
    "configure a model in qlayer.toml or set OPENAI_API_KEY (or another provider key) for "
    "free-form requests, or rephrase the request closer to a recipe (see docs/recipes.md)."
)

_log = logging.getLogger(__name__)
_lock = threading.RLock()
_extra_dirs: tuple[Path, ...] = ()
_threshold = DEFAULT_THRESHOLD
_embedder: Any = None
_index: RecipeIndex | None = None


def _entry_point_dirs() -> list[Path]:
    folders = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            target = entry.load()
            folder = target() if callable(target) else target
        except Exception as exc:
            raise ConfigError(
                f"Recipe entry point {entry.name!r} ({entry.value}) failed to load: {exc}. "
                "Fix or uninstall the package that provides it."
            ) from exc
        if not isinstance(folder, (str, Path)):
            raise ConfigError(
                f"Recipe entry point {entry.name!r} ({entry.value}) gave {folder!r}; it must be "
                "a folder path or a callable returning one."
            )
        folders.append(Path(folder))
    return folders


def load_all_recipes(extra_dirs: Sequence[Path] = ()) -> list[Recipe]:
    """Load the built-in library, entry-point folders and ``extra_dirs``, in that order.

    Raises:
        ConfigError: A folder is missing, a file is invalid, or two recipes share an id.
    """
    recipes = load_recipe_dir(LIBRARY_DIR)
    for folder in [*_entry_point_dirs(), *extra_dirs]:
        recipes.extend(load_recipe_dir(Path(folder)))
    check_unique(recipes)
    return recipes


def _load_embedder() -> Any:
    global _embedder
    if _embedder is None:
        import wordllama
        from wordllama import WordLlama

        # The default load() looks in a user cache folder and may try the network; the
        # weights ship inside the wheel, so point at them and forbid downloads.
        _embedder = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    return _embedder


class RecipeIndex:
    """Embedded descriptions of a set of recipes, searchable by cosine similarity."""

    def __init__(self, recipes: Sequence[Recipe], embedder: Any) -> None:
        """Embed every title and description of ``recipes`` into an in-memory collection."""
        from qdrant_client import QdrantClient, models

        started = time.perf_counter()
        self.recipes = list(recipes)
        self._embedder = embedder
        texts: list[str] = []
        owners: list[int] = []
        for number, recipe in enumerate(self.recipes):
            for text in (recipe.title, *recipe.descriptions):
                texts.append(text)
                owners.append(number)
        vectors = embedder.embed(texts, norm=True)
        self._client = QdrantClient(location=":memory:")
        self._client.create_collection(
            _COLLECTION,
            vectors_config=models.VectorParams(
                size=int(vectors.shape[1]), distance=models.Distance.COSINE
            ),
        )
        self._client.upsert(
            _COLLECTION,
            points=[
                models.PointStruct(id=i, vector=vectors[i].tolist(), payload={"recipe": owner})
                for i, owner in enumerate(owners)
            ],
        )
        self.build_seconds = time.perf_counter() - started

    def search(self, request: str, limit: int = 5) -> list[tuple[Recipe, float]]:
        """Return up to ``limit`` recipes, best first, scored by their closest description."""
        vector = self._embedder.embed([request], norm=True)[0].tolist()
        hits = self._client.query_points(_COLLECTION, query=vector, limit=limit * 6).points
        ranked: dict[int, float] = {}
        for hit in hits:
            owner = int((hit.payload or {})["recipe"])
            ranked.setdefault(owner, float(hit.score))
        return [(self.recipes[i], score) for i, score in list(ranked.items())[:limit]]


def configure(extra_dirs: Sequence[Path] | None = None, threshold: float | None = None) -> None:
    """Set user recipe folders and/or the similarity threshold; the index rebuilds lazily.

    The folders' files are read and validated at once; embedding waits for the next request.

    Raises:
        ConfigError: The threshold is outside [0, 1], a folder is missing, a recipe file is
            invalid, or two recipes share an id.
    """
    global _extra_dirs, _threshold, _index
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise ConfigError(
            f"Recipe threshold {threshold} is outside [0, 1]; use e.g. {DEFAULT_THRESHOLD}."
        )
    with _lock:
        if extra_dirs is not None:
            folders = tuple(Path(d) for d in extra_dirs)
            # Read the files now (cheap) so a broken recipe is reported here, not at the
            # next request; embedding waits for the next request.
            load_all_recipes(folders)
            _extra_dirs = folders
            _index = None
        if threshold is not None:
            _threshold = threshold


def get_index() -> RecipeIndex:
    """Return the index, building it (and loading WordLlama) on first use."""
    global _index
    index = _index
    if index is not None:
        return index
    with _lock:
        if _index is None:
            _index = RecipeIndex(load_all_recipes(_extra_dirs), _load_embedder())
            _log.debug(
                "recipe index: %d recipes embedded in %.3f s",
                len(_index.recipes),
                _index.build_seconds,
            )
        return _index


@dataclass(frozen=True)
class RecipeAnswer:
    """What the recipe model answers to one request."""

    text: str
    recipe: Recipe | None
    score: float
    slots: dict[str, str | float]


def answer(content: str) -> RecipeAnswer:
    """Answer one user message (request, optionally followed by a context section).

    Returns:
        A fenced Python block with the filled recipe, or an honest no-match message.
    """
    request, context_text = split_user_message(content)
    index = get_index()
    threshold = _threshold
    best = index.search(request, limit=1)
    if not best or best[0][1] < threshold:
        closest = (
            f"closest: {best[0][0].title!r}, similarity {best[0][1]:.2f}, "
            if best
            else "the library is empty, "
        )
        return RecipeAnswer(
            f"No recipe matches this request ({closest}threshold {threshold:.2f}). "
            + _NO_MATCH_ADVICE,
            None,
            best[0][1] if best else 0.0,
            {},
        )
    recipe, score = best[0]
    context = parse_context(context_text) if context_text else []
    slots = fill_slots(recipe, request, context)
    for slot in recipe.slots:
        try:
            render_value(slot.kind, slots[slot.name])
        except ValueError:  # a word from the prompt that cannot be a name: keep the default
            slots[slot.name] = slot.default
    code = fill_template(recipe, slots)
    shown = ", ".join(f"{name}={_plain(value)}" for name, value in slots.items())
    header = f"# recipe: {recipe.id} — slots: {shown}" if shown else f"# recipe: {recipe.id}"
    return RecipeAnswer(f"```python\n{header}\n{code}```", recipe, score, slots)


def _plain(value: str | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
