"""The recipe index: which recipes exist, their embeddings, and searching them.

Recipes come from the built-in library (``recipe_library/``), from packages exposing the entry
point group ``quantumlayer_nb.recipes`` and from folders given to ``configure``. Every title
and description is embedded with WordLlama's model (``_recipe_embed``; the weights ship in
its wheel and are never downloaded) into one normalised numpy matrix; a search is one
matrix-vector product (a few hundred rows), and the best recipe is the one whose closest
description has the highest cosine similarity.

The matrix is kept between processes in a cache folder, in a file named by a hash of every
embedded text and of the embedding model, so a changed library (or model) is embedded again
and an unchanged one is read back in milliseconds. Writes go to a temporary file that is
renamed into place, so concurrent processes never read half a file.

The model and the index are loaded on first use, once per process, under a lock;
``configure`` only marks the index stale, so the next request rebuilds it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from quantumlayer_nb.errors import ConfigError
from quantumlayer_nb.llm._recipe_embed import load_embedder, wordllama_folder
from quantumlayer_nb.llm._recipe_loader import Recipe, check_unique, load_recipe_dir

__all__ = [
    "DEFAULT_THRESHOLD",
    "ENTRY_POINT_GROUP",
    "LIBRARY_DIR",
    "RecipeIndex",
    "cache_folder",
    "configure",
    "get_index",
    "load_all_recipes",
    "threshold",
]

LIBRARY_DIR = Path(__file__).parent / "recipe_library"
ENTRY_POINT_GROUP = "quantumlayer_nb.recipes"
DEFAULT_THRESHOLD = 0.4
_CACHE_VERSION = "1"

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
        _embedder = load_embedder()
    return _embedder


def _embedder_fingerprint() -> str:
    """Names and sizes of the shipped WordLlama weights: changes when the model does."""
    folder = wordllama_folder()
    parts = [type(_load_embedder()).__name__]
    for path in sorted(folder.rglob("*.safetensors")) + sorted(folder.rglob("*.json")):
        try:
            parts.append(f"{path.relative_to(folder)}:{path.stat().st_size}")
        except OSError:
            continue
    return "|".join(parts)


def cache_folder() -> Path:
    """Where embedded libraries are kept: ``$QLAYER_CACHE_DIR``, else the user cache folder."""
    explicit = os.environ.get("QLAYER_CACHE_DIR")
    if explicit:
        return Path(explicit) / "recipe_index"
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "quantumlayer_nb" / "recipe_index"


def _texts_of(recipes: Sequence[Recipe]) -> tuple[list[str], list[int]]:
    texts: list[str] = []
    owners: list[int] = []
    for number, recipe in enumerate(recipes):
        for text in (recipe.title, *recipe.descriptions):
            texts.append(text)
            owners.append(number)
    return texts, owners


def _cache_key(texts: Sequence[str]) -> str:
    digest = hashlib.sha256(_CACHE_VERSION.encode())
    digest.update(_embedder_fingerprint().encode())
    for text in texts:
        digest.update(b"\0" + text.encode("utf-8"))
    return digest.hexdigest()[:32]


def _read_cached(path: Path, rows: int) -> Any:
    import numpy as np

    try:
        matrix = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if matrix.ndim != 2 or matrix.shape[0] != rows or matrix.dtype != np.float32:
        return None
    return matrix


def _write_cached(path: Path, matrix: Any) -> None:
    import numpy as np

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=path.stem, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                np.save(out, matrix, allow_pickle=False)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as exc:  # a read-only home: the index is simply rebuilt next time
        _log.debug("recipe index not cached in %s: %s", path.parent, exc)


class RecipeIndex:
    """Embedded titles and descriptions of a set of recipes, searchable by cosine similarity.

    Attributes:
        recipes: The indexed recipes, in library order.
        build_seconds: Time taken to embed (or read back) the matrix.
        from_cache: Whether the matrix was read from the cache folder.
    """

    def __init__(self, recipes: Sequence[Recipe], embedder: Any, *, cache: bool = True) -> None:
        """Embed every title and description of ``recipes`` (or read them from the cache)."""
        import numpy as np

        started = time.perf_counter()
        self.recipes = list(recipes)
        self._embedder = embedder
        texts, owners = _texts_of(self.recipes)
        self._owners = np.asarray(owners, dtype=np.int64)
        self.from_cache = False
        matrix = None
        path = cache_folder() / f"{_cache_key(texts)}.npy" if cache and texts else None
        if path is not None and path.exists():
            matrix = _read_cached(path, len(texts))
            self.from_cache = matrix is not None
        if matrix is None:
            matrix = (
                np.asarray(embedder.embed(texts, norm=True), dtype=np.float32)
                if texts
                else np.zeros((0, 1), dtype=np.float32)
            )
            if path is not None:
                _write_cached(path, matrix)
        self._matrix = matrix
        self.build_seconds = time.perf_counter() - started

    def search(self, request: str, limit: int = 5) -> list[tuple[Recipe, float]]:
        """Return up to ``limit`` recipes, best first, scored by their closest description."""
        import numpy as np

        if not self.recipes or not request.strip():
            return []
        vector = np.asarray(self._embedder.embed([request], norm=True)[0], dtype=np.float32)
        scores = self._matrix @ vector
        best = np.full(len(self.recipes), -np.inf, dtype=np.float64)
        np.maximum.at(best, self._owners, scores.astype(np.float64))
        order = np.argsort(-best, kind="stable")[:limit]
        return [(self.recipes[int(i)], float(best[int(i)])) for i in order]


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


def threshold() -> float:
    """The similarity a recipe needs to answer."""
    return _threshold


def get_index() -> RecipeIndex:
    """Return the index, loading WordLlama and the embedded library on first use."""
    global _index
    index = _index
    if index is not None:
        return index
    with _lock:
        if _index is None:
            _index = RecipeIndex(load_all_recipes(_extra_dirs), _load_embedder())
            _log.debug(
                "recipe index: %d recipes in %.3f s (%s)",
                len(_index.recipes),
                _index.build_seconds,
                "cached" if _index.from_cache else "embedded",
            )
        return _index
