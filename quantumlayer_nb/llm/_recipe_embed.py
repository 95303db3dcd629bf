"""WordLlama embeddings for the recipe index, without importing the ``wordllama`` package.

WordLlama's model is a token-embedding matrix: a text's vector is the average of its
tokens' rows, normalised. Importing the package costs more than the model (it pulls in
``requests``, its training and clustering modules, and configures the root logger with
``logging.basicConfig``), so this module reads the same two files it ships (the
safetensors weights and the tokenizer) and computes the same vectors: a test checks them
against ``WordLlama.embed``. When the files are not where this version of the package keeps
them, ``load_embedder`` falls back to the package itself, with the root logger protected.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from quantumlayer_nb.errors import ConfigError

__all__ = ["TokenAverageEmbedder", "load_embedder", "wordllama_folder"]

_WEIGHTS = ("weights", "l2_supercat_256.safetensors")
_TOKENIZER = ("tokenizers", "l2_supercat_tokenizer_config.json")


def wordllama_folder() -> Path:
    """The installed ``wordllama`` package folder (never imported here).

    Raises:
        ConfigError: The package is not installed.
    """
    spec = importlib.util.find_spec("wordllama")
    if spec is None or spec.origin is None:
        raise ConfigError(
            "qlayer/recipes needs the wordllama package to embed requests, and it is not "
            "installed: pip install wordllama (a dependency of quantumlayer_nb)."
        )
    return Path(spec.origin).parent


class TokenAverageEmbedder:
    """Average-of-token-embeddings model, read from a safetensors file and a tokenizer."""

    def __init__(self, weights: Path, tokenizer: Path) -> None:
        """Load the embedding matrix and the tokenizer."""
        import numpy as np
        from safetensors import safe_open
        from tokenizers import Tokenizer

        with safe_open(str(weights), framework="np", device="cpu") as tensors:
            matrix = tensors.get_tensor("embedding.weight")
        self._matrix = np.ascontiguousarray(matrix.astype(np.float32))
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.enable_padding()
        self._tokenizer.no_truncation()

    def embed(self, texts: Sequence[str], norm: bool = True, batch_size: int = 64) -> Any:
        """Vectors of ``texts``, one row each (unit length when ``norm``)."""
        import numpy as np

        if len(texts) == 1:  # one text (every call's cache key): no batch, no thread pool
            ids = np.array(self._tokenizer.encode(texts[0], add_special_tokens=False).ids,
                           dtype=np.int32)
            np.clip(ids, 0, self._matrix.shape[0] - 1, out=ids)
            pooled = (np.sum(self._matrix[ids], axis=0, dtype=np.float32)
                      / np.float32(max(len(ids), 1)))[np.newaxis, :]
            if norm:
                pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            return pooled
        rows = []
        for start in range(0, len(texts), batch_size):
            encoded = self._tokenizer.encode_batch(
                list(texts[start : start + batch_size]), add_special_tokens=False
            )
            ids = np.array([e.ids for e in encoded], dtype=np.int32)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.float32)
            np.clip(ids, 0, self._matrix.shape[0] - 1, out=ids)
            tokens = self._matrix[ids]
            counts = np.maximum(mask.sum(axis=1, keepdims=True), 1.0).astype(np.float32)
            pooled = np.sum(tokens * mask[..., np.newaxis], axis=1, dtype=np.float32) / counts
            if norm:  # an empty text stays a zero vector instead of NaN
                pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            rows.append(pooled)
        if not rows:
            return np.zeros((0, self._matrix.shape[1]), dtype=np.float32)
        return np.concatenate(rows)


def _package_embedder(folder: Path) -> Any:
    root = logging.getLogger()
    guard = logging.NullHandler()
    protect = not root.handlers
    level = root.level
    if protect:  # logging.basicConfig does nothing when the root logger has a handler
        root.addHandler(guard)
    try:
        from wordllama import WordLlama

        # The weights ship inside the wheel: point at them and forbid downloads.
        return WordLlama.load(cache_dir=folder, disable_download=True)
    finally:
        if protect:
            root.removeHandler(guard)
        root.setLevel(level)


def load_embedder() -> Any:
    """The embedding model of the recipe index (an object with ``embed(texts, norm=True)``)."""
    folder = wordllama_folder()
    weights, tokenizer = folder.joinpath(*_WEIGHTS), folder.joinpath(*_TOKENIZER)
    if weights.is_file() and tokenizer.is_file():
        return TokenAverageEmbedder(weights, tokenizer)
    return _package_embedder(folder)
