"""The response cache and store: exact and semantic, shared by every process.

Every answer is appended to the project's store (``data_dir/cache/``, one segment per
process), so a re-run in ``replay`` mode answers exactly and for free; exact and semantic
hits in ``normal`` mode save calls. Each process indexes all segments in memory and picks up
what other kernels, papermill runs and the CLI append, without any lock.

Example::

    from quantumlayer_nb.cache import CachedAnswer, cache_for

    cache = cache_for(settings)
    key = cache.request_key(model=model, messages=messages, params=params, scope=project)
    hit = cache.lookup(key, messages=messages, params=params, scope=project, model=model)
    if hit is None:
        cache.store(key, messages=messages, params=params, scope=project, model=model,
                    answer=CachedAnswer(text=text, model_served=served, tokens_in=10,
                                        tokens_out=20, cost_usd=0.001, finish_reason="stop"))
"""

from __future__ import annotations

from quantumlayer_nb.cache._segments import CacheStoreError, CacheWarning
from quantumlayer_nb.cache.embed import Embedder, WordLlamaEmbedder, default_embedder
from quantumlayer_nb.cache.models import CacheConfig, CacheMode
from quantumlayer_nb.cache.store import CachedAnswer, ResponseCache, cache_for

__all__ = [
    "CacheConfig",
    "CacheMode",
    "CacheStoreError",
    "CacheWarning",
    "CachedAnswer",
    "Embedder",
    "ResponseCache",
    "WordLlamaEmbedder",
    "cache_for",
    "default_embedder",
]
