"""The in-memory vector index each process keeps over the shared store.

Vectors are grouped by everything a semantic hit must share with the request (scope,
model, system prompt, parameters, earlier turns, numbers); a search is one matrix-vector
product over one group's rows, masked by expiry and temperature. With WordLlama's 256
dimensions that is well under a millisecond at 10,000 rows (``benchmarks/cache.py``), so no
embedded vector engine, and no lock on a folder, is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["VectorIndex"]

# Most groups hold one request and its rewordings: start small, double as they grow.
_INITIAL_ROWS = 2


@dataclass
class _Group:
    """The rows of one group, in growable numpy arrays (dead rows are masked, then packed)."""

    dim: int
    vectors: Any = None  # (capacity, dim) float32
    created: Any = None  # (capacity,) float64
    temperature_zero: Any = None  # (capacity,) bool
    alive: Any = None  # (capacity,) bool
    keys: list[str | None] = field(default_factory=list)
    dead: int = 0

    def __post_init__(self) -> None:
        self._allocate(_INITIAL_ROWS)

    def _allocate(self, capacity: int) -> None:
        import numpy as np

        used = len(self.keys)
        vectors = np.zeros((capacity, self.dim), dtype=np.float32)
        created = np.zeros(capacity, dtype=np.float64)
        temperature_zero = np.zeros(capacity, dtype=bool)
        alive = np.zeros(capacity, dtype=bool)
        if self.vectors is not None:
            vectors[:used] = self.vectors[:used]
            created[:used] = self.created[:used]
            temperature_zero[:used] = self.temperature_zero[:used]
            alive[:used] = self.alive[:used]
        self.vectors, self.created = vectors, created
        self.temperature_zero, self.alive = temperature_zero, alive


class VectorIndex:
    """Grouped cosine search over unit vectors. Not thread-safe: the cache holds its lock."""

    def __init__(self) -> None:
        self._groups: dict[str, _Group] = {}
        self._rows: dict[str, tuple[str, int]] = {}  # key -> (group, row)

    def __len__(self) -> int:
        return len(self._rows)

    def add(
        self,
        key: str,
        group: str,
        vector: npt.NDArray[np.float32],
        *,
        created: float,
        temperature_zero: bool,
    ) -> None:
        """Add (or replace) the vector of ``key`` in ``group``."""
        self.remove(key)
        rows = self._groups.get(group)
        if rows is None:
            rows = self._groups[group] = _Group(dim=int(vector.shape[0]))
        if len(rows.keys) == rows.vectors.shape[0]:
            if rows.dead * 2 > len(rows.keys):
                self._pack(group, rows)
                rows = self._groups[group]
            else:
                rows._allocate(rows.vectors.shape[0] * 2)
        row = len(rows.keys)
        rows.vectors[row] = vector
        rows.created[row] = created
        rows.temperature_zero[row] = temperature_zero
        rows.alive[row] = True
        rows.keys.append(key)
        self._rows[key] = (group, row)

    def remove(self, key: str) -> None:
        """Forget the vector of ``key`` (no error if it has none)."""
        where = self._rows.pop(key, None)
        if where is None:
            return
        rows = self._groups[where[0]]
        rows.alive[where[1]] = False
        rows.keys[where[1]] = None
        rows.dead += 1

    def search(
        self,
        group: str,
        vector: npt.NDArray[np.float32],
        *,
        threshold: float,
        not_before: float | None,
        temperature_zero_only: bool,
    ) -> tuple[str, float] | None:
        """Return the most similar live key in ``group`` at or above ``threshold``, if any.

        Args:
            group: The group the request belongs to.
            vector: The request's unit vector.
            threshold: The lowest cosine similarity accepted.
            not_before: Ignore rows created before this time (TTL), or None.
            temperature_zero_only: Ignore rows stored at a temperature other than 0.

        Returns:
            ``(key, similarity)`` or None.
        """
        import numpy as np

        rows = self._groups.get(group)
        if rows is None or len(rows.keys) == rows.dead:
            return None
        used = len(rows.keys)
        scores = rows.vectors[:used] @ vector
        usable = rows.alive[:used].copy()
        if not_before is not None:
            usable &= rows.created[:used] >= not_before
        if temperature_zero_only:
            usable &= rows.temperature_zero[:used]
        scores = np.where(usable, scores, -2.0)
        best = int(np.argmax(scores))
        score = float(scores[best])
        key = rows.keys[best]
        if score < threshold or key is None:
            return None
        return key, score

    def _pack(self, group: str, rows: _Group) -> None:
        """Drop dead rows of one group, renumbering the live ones."""
        import numpy as np

        live = np.flatnonzero(rows.alive[: len(rows.keys)])
        packed = _Group(dim=rows.dim)
        packed._allocate(max(_INITIAL_ROWS, 2 * len(live)))
        count = len(live)
        packed.vectors[:count] = rows.vectors[live]
        packed.created[:count] = rows.created[live]
        packed.temperature_zero[:count] = rows.temperature_zero[live]
        packed.alive[:count] = True
        packed.keys = [rows.keys[int(i)] for i in live]
        self._groups[group] = packed
        for row, key in enumerate(packed.keys):
            if key is not None:
                self._rows[key] = (group, row)
