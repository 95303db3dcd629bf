"""What a cache entry holds: the stored answer, its vector, the excerpt a hit shows."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ANSWER_FIELDS",
    "RECORD_VERSION",
    "SIMILAR_TO_CHARS",
    "CachedAnswer",
    "decode_vector",
    "encode_vector",
    "similar_to_excerpt",
]

RECORD_VERSION = 2
SIMILAR_TO_CHARS = 200
ANSWER_FIELDS = ("text", "model_served", "tokens_in", "tokens_out", "cost_usd", "finish_reason")


@dataclass(frozen=True)
class CachedAnswer:
    """A stored answer, as returned by a hit.

    Attributes:
        text: The response text.
        model_served: The model that produced it originally.
        tokens_in: Prompt tokens of the original call, if known.
        tokens_out: Completion tokens of the original call, if known.
        cost_usd: What the original call cost (what this hit saved), None if unknown.
        finish_reason: The original finish reason, if known.
        kind: ``"exact"`` or ``"semantic"``.
        created: When the answer was stored (Unix time); set by the cache.
        key: The exact key it was stored under; set by the cache.
        similarity: Cosine similarity of a semantic hit (1.0 for an exact hit).
        request: The stored request's last user message, redacted and cut to 200
            characters (what a semantic hit is similar to); None for entries stored without
            an embedding.
    """

    text: str
    model_served: str
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None
    finish_reason: str | None = None
    kind: str = "exact"
    created: float = 0.0
    key: str = ""
    similarity: float = 1.0
    request: str | None = None

    @classmethod
    def from_record(
        cls, record: Mapping[str, Any], *, kind: str = "exact", similarity: float = 1.0
    ) -> CachedAnswer:
        """The answer of a stored record (a segment line or a Qdrant payload)."""
        fields = record["answer"]
        return cls(
            text=str(fields["text"]),
            model_served=str(fields["model_served"]),
            tokens_in=fields.get("tokens_in"),
            tokens_out=fields.get("tokens_out"),
            cost_usd=fields.get("cost_usd"),
            finish_reason=fields.get("finish_reason"),
            kind=kind,
            created=float(record["created"]),
            key=str(record["key"]),
            similarity=similarity,
            request=str(record["request"]) if isinstance(record.get("request"), str) else None,
        )


def similar_to_excerpt(text: str | None) -> str | None:
    """The stored request's text as a hit may show it: redacted, at most 200 characters."""
    if text is None:
        return None
    from quantumlayer_nb.safety.secrets import redact_text

    clean = redact_text(text)
    return clean if len(clean) <= SIMILAR_TO_CHARS else clean[: SIMILAR_TO_CHARS - 1] + "…"


def encode_vector(vector: Any) -> str:
    return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")


def decode_vector(text: str) -> Any:
    import numpy as np

    return np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float32)
