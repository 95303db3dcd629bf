"""The response cache: exact and semantic lookups over the store every process shares.

Each process appends its entries to its own segment under ``data_dir/cache/`` and keeps an
in-memory view of all segments: a dict by exact key and a ``VectorIndex`` for paraphrases.
Before each lookup it tails what other processes appended since (one directory listing and
one ``stat`` per segment when nothing changed). See ``docs/cache.md``.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quantumlayer_nb.cache._answer import (
    ANSWER_FIELDS,
    RECORD_VERSION,
    CachedAnswer,
    decode_vector,
    encode_vector,
    similar_to_excerpt,
)
from quantumlayer_nb.cache._guard import semantic_group
from quantumlayer_nb.cache._request import describe, exact_key, prompt_excerpt
from quantumlayer_nb.cache._segments import (
    SEGMENT_SUFFIX,
    CacheWarning,
    Rejected,
    SegmentWriter,
    cache_dir,
    compact,
    read_new_entries,
    seal,
)
from quantumlayer_nb.cache.embed import RECENT, Embedder, default_embedder
from quantumlayer_nb.cache.index import VectorIndex
from quantumlayer_nb.cache.models import CacheConfig, CacheMode
from quantumlayer_nb.errors import ReplayMiss

if TYPE_CHECKING:
    from quantumlayer_nb.cache._qdrant import QdrantServerIndex
    from quantumlayer_nb.config import Settings

__all__ = ["CachedAnswer", "ResponseCache", "cache_for"]

class ResponseCache:
    """Exact and semantic answers for one data folder; thread-safe. Use ``cache_for``.

    Args:
        data_dir: The project's data folder; segments go to ``data_dir/cache/``.
        config: The ``[cache]`` settings (``update_config`` swaps them later).
        embedder: Embeds the last user message; WordLlama by default.
    """

    def __init__(
        self, data_dir: Path, config: CacheConfig, *, embedder: Embedder | None = None
    ) -> None:
        self.data_dir = Path(data_dir)
        self.folder = cache_dir(self.data_dir)
        self.config = config
        self.embedder: Embedder = embedder if embedder is not None else default_embedder()
        self._lock = threading.Lock()
        self._writer = SegmentWriter(self.folder)
        self._entries: OrderedDict[str, CachedAnswer] = OrderedDict()
        self._index = VectorIndex()
        self._cursor: dict[str, int] = {}
        self._last_refresh = float("-inf")
        self._server: QdrantServerIndex | None = None
        self._rejected: dict[str, Rejected] = {}
        # What the lookup worked out about a request, for the store after its call.
        self._described: OrderedDict[tuple[str, str, str], tuple[Any, str | None]] = OrderedDict()
        self.integrity_failures = 0
        """How many stored entries failed their content check since this cache was opened."""
        self.compaction: threading.Thread | None = self._compact_when_many_segments()

    def _describe(
        self, key: str, model: str, messages: Sequence[Mapping[str, Any]],
        params: Mapping[str, Any] | None, scope: str,
    ) -> tuple[Any, str | None]:
        """The request's facts and semantic group, worked out once for its lookup and store.

        ``key`` is the request's exact key (it covers the messages and parameters).
        """
        memo = (key, model, scope)
        known = self._described.get(memo)
        if known is not None:
            return known
        facts = describe(model=model, messages=messages, params=params, scope=scope)
        group = semantic_group(facts.group, facts.last_user) if facts.last_user else None
        self._described[memo] = (facts, group)
        if len(self._described) > RECENT:
            self._described.popitem(last=False)
        return facts, group

    def update_config(self, config: CacheConfig) -> None:
        """Use ``config`` from now on (TTL, cap, threshold, mode defaults, server)."""
        self.config = config

    def __len__(self) -> int:
        """Number of answers currently indexed (after TTL-free refresh, before expiry)."""
        with self._lock:
            return len(self._entries)

    @staticmethod
    def request_key(
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        params: Mapping[str, Any] | None = None,
        scope: str,
    ) -> str:
        """Return the exact key of a request: hex SHA-256 of its normalised form.

        Strings are stripped at both ends, dict keys sorted, ``None`` parameters dropped; the
        model, the scope (the project), every message (system prompt included) and every
        parameter (temperature, max_tokens, response format, ...) count.
        """
        return exact_key(model=model, messages=messages, params=params, scope=scope)

    def _nearest_stored(self, messages: Sequence[Mapping[str, Any]]) -> str:
        """The stored request most like this one, for a replay miss to name (error path)."""
        import difflib

        wanted = prompt_excerpt(messages)
        with self._lock:
            stored = [a.request for a in self._entries.values() if a.request]
        if not stored:
            return "The store holds no request text to compare with. "
        best = max(stored, key=lambda text: difflib.SequenceMatcher(None, wanted, text).ratio())
        return f"The nearest stored request is {best!r}. "

    def lookup(
        self,
        key: str,
        *,
        messages: Sequence[Mapping[str, Any]],
        params: Mapping[str, Any] | None = None,
        mode: CacheMode | None = None,
        scope: str,
        model: str,
        semantic: bool = True,
    ) -> CachedAnswer | None:
        """Return a stored answer for the request, or None.

        The exact key is a dict lookup; the semantic path runs only on an exact miss, when
        ``semantic`` (this call's switch) and ``[cache] semantic`` are on and the request's
        temperature is 0 (or ``semantic_any_temperature``), and only when the guards agree
        (``_guard``). ``off`` and ``refresh`` never return a hit. ``replay`` answers from exact
        keys only, ignoring the TTL, so that a re-run gets exactly the recorded answers. An
        entry that failed its content check is never returned.

        Raises:
            ReplayMiss: In ``replay`` mode, when the store has no answer for ``key``, or the
                answer it has was edited after it was stored.
        """
        mode = mode or self.config.mode
        if mode in ("off", "refresh"):
            return None
        config = self.config
        now = time.time()
        not_before = now - config.ttl_s if config.ttl_s and mode != "replay" else None
        with self._lock:
            self._refresh_locked(now)
            hit = self._entries.get(key)
        server = self._server_index()
        if hit is None and server is not None:
            hit = server.get(key)
        if hit is not None and (not_before is None or hit.created >= not_before):
            return hit
        if mode == "replay":
            rejected = self._rejected.get(key)
            if rejected is not None:
                raise ReplayMiss(
                    f"Replay refused: the stored answer for model {model!r}, prompt "
                    f"{prompt_excerpt(messages)!r} (key {key}) in cache segment "
                    f"{self.folder / rejected.file} line {rejected.line} {rejected.reason}, "
                    "so it is not served. Run qlayer audit verify to see every such entry; "
                    "restore the segment from a backup, or record the answer again with cache "
                    "mode 'normal'."
                )
            raise ReplayMiss(
                f"Replay miss: the cache store in {self.folder} has no answer for model "
                f"{model!r}, prompt {prompt_excerpt(messages)!r} (key {key}). "
                f"{self._nearest_stored(messages)}Cache mode "
                "'replay' answers only from the store: run this once with cache mode 'normal' "
                '(QLAYER_CACHE__MODE=normal, or mode = "normal" under [cache]) to record it.'
            )
        if not config.semantic:
            return None
        facts, group = self._describe(key, model, messages, params, scope)
        if group is None or facts.last_user is None:  # nothing the guards can hold on to
            return None
        # Embedded now, before the provider call, even when no semantic search follows:
        # the store after the call needs the same vector (the embedder remembers the last
        # few), and the tokenizer releases the GIL, which right after a completion hands it
        # to litellm's logging thread and keeps the caller waiting (0.5-1 ms measured).
        vector = self.embedder.embed([facts.last_user])[0] if config.store else None
        if not semantic or not (facts.temperature_zero or config.semantic_any_temperature):
            return None
        if vector is None:
            vector = self.embedder.embed([facts.last_user])[0]
        temperature_zero_only = not config.semantic_any_temperature
        if server is not None:
            return server.search(
                group, vector, config.semantic_threshold, not_before, temperature_zero_only
            )
        with self._lock:
            found = self._index.search(
                group,
                vector,
                threshold=config.semantic_threshold,
                not_before=not_before,
                temperature_zero_only=temperature_zero_only,
            )
            answer = self._entries.get(found[0]) if found else None
        if found is None or answer is None:
            return None
        return replace(answer, kind="semantic", similarity=found[1])

    def store(
        self,
        key: str,
        *,
        messages: Sequence[Mapping[str, Any]],
        params: Mapping[str, Any] | None = None,
        scope: str,
        model: str,
        answer: CachedAnswer,
    ) -> CachedAnswer | None:
        """Append ``answer`` under ``key`` to this process's segment and index it.

        Stores the answer, the key, the semantic group (hashes of scope, model, system prompt,
        parameters, earlier turns and the guard signature), the embedding of the last user
        message and, for an entry that can answer semantically, that message's first 200
        characters, redacted (what a hit shows as "similar to"); never the system prompt or
        earlier turns. The line carries its content hash. A later answer for the same key
        replaces the earlier one. Does nothing when ``[cache] store = false``.

        Returns:
            The answer as stored (with ``created`` and ``key``), or None when not stored.

        Raises:
            CacheStoreError: The segment could not be written.
        """
        config = self.config
        if not config.store:
            return None
        facts, group = self._describe(key, model, messages, params, scope)
        vector = None
        if config.semantic and facts.last_user is not None and group is not None:
            vector = self.embedder.embed([facts.last_user])[0]
        # The excerpt a semantic hit shows ("similar to"): kept only for an entry that can
        # answer semantically (temperature 0, or any temperature when that is allowed).
        can_match = facts.temperature_zero or config.semantic_any_temperature
        request = similar_to_excerpt(facts.last_user) if vector is not None and can_match else None
        stored = replace(answer, kind="exact", created=time.time(), key=key, similarity=1.0,
                         request=request)
        record: dict[str, Any] = {
            "v": RECORD_VERSION,
            "key": key,
            "created": stored.created,
            "group": group or facts.group,
            "scope": scope,
            "model": model,
            "system_hash": facts.system_hash,
            "params_hash": facts.params_hash,
            "temperature": facts.temperature,
            "answer": {name: getattr(stored, name) for name in ANSWER_FIELDS},
        }
        if vector is not None:
            record["vector"] = encode_vector(vector)
        if request is not None:
            record["request"] = request
        with self._lock:
            written = self._writer.append(record)
            name = self._writer.name
            assert name is not None
            self._cursor[name] = self._cursor.get(name, 0) + written
            self._add_locked(record, vector)
        server = self._server_index()
        if server is not None:
            record["sha256"] = seal(record)  # the same hash the segment line carries
            server.upsert(record, vector, stored)
        return stored

    def refresh(self) -> int:
        """Read what other processes appended since the last refresh; return the count."""
        with self._lock:
            return self._refresh_locked(time.time(), force=True)

    def compact(self) -> tuple[int, int]:
        """Fold finished processes' segments into one, dropping replaced and expired answers.

        Safe while other processes run: only segments whose writer (on this host) has exited
        are folded. The in-memory view is not changed.

        Returns:
            ``(segments folded, entries kept)``.
        """
        config = self.config
        not_before = time.time() - config.ttl_s if config.ttl_s else None
        return compact(self.folder, not_before=not_before, max_entries=config.max_entries)

    def _compact_when_many_segments(self) -> threading.Thread | None:
        """Start folding finished segments in the background when they have piled up.

        Every process writes its own segment, so a project that runs many kernels and
        pipelines gathers many files; the first process to open the cache after
        ``compact_after_segments`` of them folds the finished ones. Worker processes of a
        batch never do (their CPU belongs to the batch).
        """
        limit = self.config.compact_after_segments
        if limit == 0 or multiprocessing.parent_process() is not None:
            return None
        try:
            count = sum(1 for e in os.scandir(self.folder) if e.name.endswith(SEGMENT_SUFFIX))
        except OSError:
            return None
        if count < limit:
            return None
        thread = threading.Thread(target=self._compact_quietly, name="qlayer-cache-compact",
                                  daemon=True)
        thread.start()
        return thread

    def _compact_quietly(self) -> None:
        from quantumlayer_nb.observability import get_logger

        logger = get_logger(__name__)
        try:
            folded, kept = self.compact()
        except (OSError, ValueError) as exc:  # a full disk, a folder gone: try next time
            logger.warning("Cache compaction in %s stopped: %s", self.folder, exc)
            return
        logger.info("Cache compaction in %s: %d segments folded, %d entries kept",
                    self.folder, folded, kept)

    def close(self) -> None:
        """Close this process's segment (the next store opens a new one)."""
        with self._lock:
            self._writer.close()

    def _refresh_locked(self, now: float, *, force: bool = False) -> int:
        if not force and now - self._last_refresh < self.config.refresh_interval_s:
            return 0
        self._last_refresh = now
        rejected: list[Rejected] = []
        records, self._cursor = read_new_entries(self.folder, self._cursor, rejected=rejected)
        if rejected:
            self._report_rejected(rejected)
        added = 0
        for record in records:
            try:
                vector = decode_vector(record["vector"]) if "vector" in record else None
                added += self._add_locked(record, vector)
            except (KeyError, TypeError, ValueError):
                continue  # a line written by a newer or broken writer: not an answer we trust
        return added

    def _report_rejected(self, rejected: list[Rejected]) -> None:
        """Count, remember and report entries that failed their content check."""
        from quantumlayer_nb.observability import get_logger

        self.integrity_failures += len(rejected)
        for item in rejected:
            if item.key is not None:
                self._rejected[item.key] = item
        first = rejected[0]
        message = (
            f"{len(rejected)} cache entr{'y' if len(rejected) == 1 else 'ies'} not served: "
            f"{self.folder / first.file} line {first.line} (key {first.key}) {first.reason}. "
            "Run qlayer audit verify to list them."
        )
        warnings.warn(CacheWarning(message), stacklevel=4)
        get_logger(__name__).warning(message)

    def _add_locked(self, record: Mapping[str, Any], vector: Any) -> int:
        key = str(record["key"])
        created = float(record["created"])
        previous = self._entries.get(key)
        if previous is not None and previous.created > created:
            return 0
        answer = CachedAnswer.from_record(record)
        self._rejected.pop(key, None)
        self._entries[key] = answer
        self._entries.move_to_end(key)
        if vector is not None:
            temperature = record.get("temperature")
            self._index.add(
                key,
                str(record["group"]),
                vector,
                created=created,
                temperature_zero=temperature is not None and float(temperature) == 0,
            )
        else:
            self._index.remove(key)
        while len(self._entries) > self.config.max_entries:
            oldest, _ = self._entries.popitem(last=False)
            self._index.remove(oldest)
        return 1

    def _server_index(self) -> QdrantServerIndex | None:
        url = self.config.qdrant_url
        if url is None:
            return None
        if self._server is None or self._server.url != url:
            from quantumlayer_nb.cache._qdrant import QdrantServerIndex

            self._server = QdrantServerIndex(url)
        return self._server

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.data_dir)!r}, entries={len(self._entries)})"


_BY_FOLDER: dict[Path, ResponseCache] = {}
_BY_FOLDER_LOCK = threading.Lock()


def cache_for(settings: Settings) -> ResponseCache:
    """Return this process's ``ResponseCache`` for ``settings.data_path``.

    One cache per process per data folder, created on first use; later calls update its
    ``[cache]`` configuration from ``settings``.
    """
    spelled = settings.data_path  # absolute: the hot path needs no filesystem call
    cache = _BY_FOLDER.get(spelled)
    if cache is not None and cache.config is settings.cache:
        return cache
    folder = spelled.resolve()
    with _BY_FOLDER_LOCK:
        cache = _BY_FOLDER.get(folder)
        if cache is None:
            cache = _BY_FOLDER[folder] = ResponseCache(folder, settings.cache)
        elif cache.config is not settings.cache:
            cache.update_config(settings.cache)
        _BY_FOLDER[spelled] = cache
        return cache


def _after_fork_in_child() -> None:
    global _BY_FOLDER_LOCK
    _BY_FOLDER_LOCK = threading.Lock()
    for cache in _BY_FOLDER.values():
        cache._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
