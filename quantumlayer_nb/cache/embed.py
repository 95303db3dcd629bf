"""Sentence embeddings for the semantic cache: an ``Embedder`` protocol and WordLlama.

WordLlama's weights ship inside its wheel, so the default embedder never touches the
network. It is loaded once per process, on the first semantic lookup or store.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["Embedder", "WordLlamaEmbedder", "default_embedder"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors of one fixed dimension."""

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed ``texts``.

        Args:
            texts: The texts, in order.

        Returns:
            A ``(len(texts), dim)`` float32 array whose rows have L2 norm 1.
        """
        ...


RECENT = 1024
"""Requests remembered between their lookup and their store (a batch has up to its
concurrency in flight between the two)."""


class WordLlamaEmbedder:
    """The default embedder: WordLlama (256 dimensions), loaded lazily and thread-safely."""

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()
        # A request is embedded at lookup and again at store: remember the last requests,
        # as many as a batch keeps in flight between the two.
        self._recent: OrderedDict[str, Any] = OrderedDict()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                # WordLlama's own weights and tokenizer, read from its wheel without importing
                # the package (its import configures the root logger and takes 0.1-0.3 s);
                # the vectors are WordLlama.embed's (tests/test_recipes_model.py checks it).
                from quantumlayer_nb.llm._recipe_embed import load_embedder

                self._model = load_embedder()
            return self._model

    def embed(self, texts: Sequence[str], remember: bool = True) -> npt.NDArray[np.float32]:
        """Embed ``texts`` into unit-length float32 rows (see ``Embedder.embed``).

        ``remember=False`` keeps a single text out of the memo of recent requests (the
        content policy embeds its own form of a prompt, which the cache never asks for).
        """
        import numpy as np

        if len(texts) == 1 and texts[0] in self._recent:
            return self._recent[texts[0]]  # type: ignore[no-any-return]
        model = self._model if self._model is not None else self._load()
        vectors = model.embed(list(texts), norm=True)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(texts) == 1 and remember:
            if len(self._recent) >= RECENT:
                with contextlib.suppress(KeyError):  # another thread may have popped it
                    self._recent.popitem(last=False)
            vectors.setflags(write=False)
            self._recent[texts[0]] = vectors
        return vectors


_DEFAULT: WordLlamaEmbedder | None = None
_DEFAULT_LOCK = threading.Lock()


def default_embedder() -> WordLlamaEmbedder:
    """Return this process's shared WordLlama embedder (not loaded until first used)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = WordLlamaEmbedder()
        return _DEFAULT
