"""``POST /v1/moderations`` of the loopback server: a deterministic, OpenAI-shaped answer.

An input is flagged for a category when it contains the marker ``flag:<category>`` (for
example ``flag:harassment`` or ``flag:sexual/minors``); an input without a marker is not
flagged. That is enough to test a moderation second opinion end to end through litellm.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

__all__ = ["CATEGORIES", "moderation"]

CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
_MARKER = re.compile(r"flag:([a-z/-]+)")


def _result(text: str) -> dict[str, Any]:
    marked = set(_MARKER.findall(text))
    categories = {name: name in marked for name in CATEGORIES}
    return {
        "flagged": any(categories.values()),
        "categories": categories,
        "category_scores": {name: 0.99 if on else 0.0001 for name, on in categories.items()},
        "category_applied_input_types": {name: ["text"] for name in CATEGORIES},
    }


def moderation(body: dict[str, Any]) -> dict[str, Any]:
    """The answer to a moderation request (``input`` a string or a list of strings)."""
    raw = body.get("input", "")
    inputs = raw if isinstance(raw, list) else [raw]
    model = body.get("model")
    return {
        "id": f"modr-{uuid.uuid4().hex[:24]}",
        "model": model if isinstance(model, str) else "omni-moderation-latest",
        "results": [_result(item if isinstance(item, str) else "") for item in inputs],
    }
