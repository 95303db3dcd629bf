"""Configuration of the response cache and store (``[cache]``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CacheConfig", "CacheMode"]

CacheMode = Literal["normal", "off", "refresh", "replay"]


class CacheConfig(BaseModel):
    """How answers are reused and stored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: CacheMode = Field(
        default="normal",
        description="normal: reuse; off: never reuse; refresh: call and overwrite; "
        "replay: answer only from the store (a miss raises ReplayMiss).",
    )
    semantic: bool = Field(default=True, description="Also match close paraphrases.")
    semantic_threshold: float = Field(
        default=0.7,
        gt=0,
        le=1,
        description="Cosine similarity a paraphrase must reach, once its guard signature "
        "(names, literals, direction words, functions, in order) equals the stored one's.",
    )
    semantic_any_temperature: bool = Field(
        default=False, description="Allow semantic hits when temperature is not 0."
    )
    ttl_s: float | None = Field(default=None, gt=0, description="Entries older than this expire.")
    max_entries: int = Field(default=100_000, gt=0, description="Size cap; oldest evicted first.")
    store: bool = Field(
        default=True,
        description="Record every answer (in every mode, off included) so replay works later.",
    )
    compact_after_segments: int = Field(
        default=32,
        ge=0,
        description="When a process opens the cache and finds at least this many segment "
        "files, it folds the finished writers' ones in a background thread (0: never).",
    )
    refresh_interval_s: float = Field(
        default=0.05,
        ge=0,
        description="Least seconds between two reads of other processes' new entries.",
    )
    qdrant_url: str | None = Field(
        default=None,
        description="A Qdrant server shared by a team: semantic search and exact keys "
        "missing locally go to it (untested path; see docs/cache.md).",
    )
