"""Anchors: where every segment's chain stood at one moment, to keep outside the ledger.

The chain and the head records live in the same folder, so someone who can write that folder
can rewrite an unclosed segment and its head consistently. An anchor, published or kept
where they cannot write, pins each segment's event at ``seq`` to its hash; since every event
chains to the one before, that pins every earlier event too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from quantumlayer_nb.errors import LedgerError
from quantumlayer_nb.ledger._chain import SEGMENT_SUFFIX, canonical_json

if TYPE_CHECKING:
    from quantumlayer_nb.ledger.audit import AuditFinding

__all__ = ["ANCHOR_VERSION", "anchor_digest", "check_anchor", "make_anchor"]

ANCHOR_VERSION = 1


def anchor_digest(document: Mapping[str, Any]) -> str:
    """SHA-256 hex of an anchor's canonical JSON without its ``digest`` field."""
    body = {k: v for k, v in document.items() if k != "digest"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def make_anchor(heads: Mapping[str, tuple[int, str]]) -> dict[str, Any]:
    """Build the anchor document for ``segment -> (seq, hash)`` of each segment's last event."""
    document: dict[str, Any] = {
        "v": ANCHOR_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "segments": [
            {"segment": name, "seq": seq, "hash": digest}
            for name, (seq, digest) in sorted(heads.items())
        ],
    }
    document["digest"] = anchor_digest(document)
    return document


def _entries(anchor: Mapping[str, Any]) -> list[tuple[str, int, str]]:
    problem = "it is not an anchor written by qlayer audit anchor"
    segments = anchor.get("segments")
    if anchor.get("v") != ANCHOR_VERSION or not isinstance(segments, list):
        raise LedgerError(f"Cannot check the anchor: {problem}.")
    if anchor.get("digest") != anchor_digest(anchor):
        raise LedgerError(
            "Cannot check the anchor: its digest does not match its content, so the anchor "
            "itself was edited. Use the copy you published (compare its digest)."
        )
    entries = []
    for item in segments:
        try:
            entries.append((str(item["segment"]), int(item["seq"]), str(item["hash"])))
        except (KeyError, TypeError, ValueError) as err:
            raise LedgerError(f"Cannot check the anchor: {problem} ({err}).") from err
    return entries


def check_anchor(
    anchor: Mapping[str, Any], chains: Mapping[str, Sequence[str]]
) -> list[AuditFinding]:
    """Findings for every anchored event that is no longer where the anchor put it.

    Args:
        anchor: The anchor document (``make_anchor``).
        chains: Segment id -> the hashes of its events that verified, in seq order.

    Raises:
        LedgerError: The anchor is malformed or its digest does not match.
    """
    from quantumlayer_nb.ledger.audit import AuditFinding

    findings = []
    for segment, seq, digest in _entries(anchor):
        hashes = chains.get(segment)
        if hashes is None:
            message = (f"the segment {segment}{SEGMENT_SUFFIX} named by the anchor is gone: it "
                       "was deleted after the anchor was made.")
            findings.append(AuditFinding(segment=segment, seq=seq, kind="missing",
                                         message=message))
        elif len(hashes) > seq and hashes[seq] != digest:
            message = (f"event seq {seq} of {segment}{SEGMENT_SUFFIX} is not the one the "
                       "anchor recorded: the segment was rewritten after the anchor was made.")
            findings.append(AuditFinding(segment=segment, seq=seq, line=seq + 1,
                                         kind="tampered", message=message))
        elif len(hashes) <= seq:
            message = (f"{segment}{SEGMENT_SUFFIX} verifies only up to seq {len(hashes) - 1} "
                       f"but the anchor recorded seq {seq}: events were removed or rewritten "
                       "after the anchor was made.")
            findings.append(AuditFinding(segment=segment, seq=len(hashes), kind="truncated",
                                         message=message))
    return findings
