"""A Qdrant server as the team's shared semantic index (``[cache] qdrant_url``).

UNTESTED against a real server: the test suite runs this code through qdrant-client's
in-memory mode (``qdrant_url = ":memory:"``), which exercises the same calls but not the
network transport. The local store is still written; the server adds exact keys and
paraphrases stored by other machines.
"""

from __future__ import annotations

import threading
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quantumlayer_nb.cache.store import CachedAnswer

__all__ = ["COLLECTION", "QdrantServerIndex"]

COLLECTION = "qlayer_cache"


def _point_id(key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"qlayer-cache:{key}"))


class QdrantServerIndex:
    """Upserts entries to, and searches, one collection on a Qdrant server."""

    def __init__(self, url: str) -> None:
        from qdrant_client import QdrantClient

        self.url = url
        self._client = (
            QdrantClient(location=":memory:") if url == ":memory:" else QdrantClient(url=url)
        )
        self._ready = False
        self._lock = threading.Lock()

    def _ensure_collection(self, dim: int) -> None:
        from qdrant_client import models

        with self._lock:
            if self._ready:
                return
            if not self._client.collection_exists(COLLECTION):
                self._client.create_collection(
                    COLLECTION,
                    vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE),
                )
            # Payload indexes speed up the server's filters; the in-memory mode has none.
            fields = () if self.url == ":memory:" else (("group", "keyword"), ("created", "float"))
            for field, schema in fields:
                self._client.create_payload_index(COLLECTION, field, field_schema=schema)  # type: ignore[arg-type]
            self._ready = True

    def upsert(self, record: dict[str, Any], vector: Any, answer: CachedAnswer) -> None:
        """Store one entry (its vector, or a zero-free placeholder when it has none)."""
        from qdrant_client import models

        if vector is None:
            return  # the server path is for sharing paraphrases; exact-only entries stay local
        self._ensure_collection(int(vector.shape[0]))
        payload = dict(record)  # the vector too: the content hash covers it
        payload["temperature_zero"] = record.get("temperature") == 0
        self._client.upsert(
            COLLECTION,
            points=[
                models.PointStruct(
                    id=_point_id(answer.key), vector=vector.tolist(), payload=payload
                )
            ],
        )

    def get(self, key: str) -> CachedAnswer | None:
        """The entry stored under exactly ``key``, if the server has it."""
        if not self._client.collection_exists(COLLECTION):
            return None
        points = self._client.retrieve(COLLECTION, ids=[_point_id(key)], with_payload=True)
        return _answer(points[0].payload, "exact", 1.0) if points else None

    def search(
        self,
        group: str,
        vector: Any,
        threshold: float,
        not_before: float | None,
        temperature_zero_only: bool,
    ) -> CachedAnswer | None:
        """The closest entry of ``group`` at or above ``threshold``, if any."""
        from qdrant_client import models

        if not self._client.collection_exists(COLLECTION):
            return None
        must: list[models.Condition] = [
            models.FieldCondition(key="group", match=models.MatchValue(value=group))
        ]
        if not_before is not None:
            must.append(models.FieldCondition(key="created", range=models.Range(gte=not_before)))
        if temperature_zero_only:
            must.append(
                models.FieldCondition(key="temperature_zero", match=models.MatchValue(value=True))
            )
        found = self._client.query_points(
            COLLECTION,
            query=vector.tolist(),
            query_filter=models.Filter(must=must),
            limit=1,
            score_threshold=threshold,
            with_payload=True,
        ).points
        return _answer(found[0].payload, "semantic", float(found[0].score)) if found else None


def _answer(payload: dict[str, Any] | None, kind: str, similarity: float) -> CachedAnswer | None:
    from quantumlayer_nb.cache._segments import sealed
    from quantumlayer_nb.cache.store import CachedAnswer

    if not payload:
        return None
    record = {k: v for k, v in payload.items() if k != "temperature_zero"}
    if not sealed(record):
        from quantumlayer_nb.observability import get_logger

        get_logger(__name__).warning(
            "Cache entry %s on the Qdrant server %s does not match its content hash: it was "
            "edited after it was stored, so it is not served.", record.get("key"), COLLECTION)
        return None
    return CachedAnswer.from_record(record, kind=kind, similarity=similarity)
