"""Normalising a request into its exact key and its semantic group.

The exact key covers everything that shapes the answer: model, scope, every message
(system prompt included) and the parameters. The semantic group covers the same minus the
wording of the last user message, which is compared by embedding instead; numbers and
negations in that message go into the group too, because bag-of-words embeddings barely
see them ("top 5" and "top 50" embed almost alike).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["RequestFacts", "describe", "exact_key", "prompt_excerpt"]

KEY_VERSION = 1
EXCERPT_CHARS = 80
# "no index" is "without the index": each negation counts, whichever word says it.
_NEGATION = dict.fromkeys(("no", "never", "without", "dont", "nor"), "not")  # and every "n't"
_GUARD = re.compile(r"\d+(?:[.,]\d+)*|\b(?:not|no|never|without|except|\w+n['’]t|dont|nor)\b")


def _sha(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    # generate() refuses lone surrogates; a caller of the cache API may not, and a key must
    # never raise (surrogatepass leaves the key of every valid text unchanged).
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _normal_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {str(k): v.strip() if isinstance(v, str) else v for k, v in message.items()}
        for message in messages
    ]


def _normal_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        str(k): v.strip() if isinstance(v, str) else v
        for k, v in (params or {}).items()
        if v is not None
    }


def exact_key(
    *,
    model: str,
    messages: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any] | None,
    scope: str,
) -> str:
    """Return the hex SHA-256 of the normalised request (see ``ResponseCache.request_key``)."""
    return _sha(
        {
            "v": KEY_VERSION,
            "model": model.strip(),
            "scope": scope.strip(),
            "messages": _normal_messages(messages),
            "params": _normal_params(params),
        }
    )


def last_user_text(messages: Sequence[Mapping[str, Any]]) -> str | None:
    """The content of the last user message, stripped, or None if there is none."""
    for message in reversed(messages):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            return str(message["content"]).strip()
    return None


def prompt_excerpt(messages: Sequence[Mapping[str, Any]]) -> str:
    """The first 80 characters of the last user message, for error messages."""
    text = last_user_text(messages) or ""
    return text[:EXCERPT_CHARS] + ("..." if len(text) > EXCERPT_CHARS else "")


@dataclass(frozen=True)
class RequestFacts:
    """What the semantic path needs to know about a request (never the raw prompt)."""

    group: str
    system_hash: str
    params_hash: str
    temperature: float | None
    last_user: str | None

    @property
    def temperature_zero(self) -> bool:
        """Whether the request asked for temperature 0 (a missing temperature is not 0)."""
        return self.temperature is not None and self.temperature == 0


def describe(
    *,
    model: str,
    messages: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any] | None,
    scope: str,
) -> RequestFacts:
    """Split a request into its semantic group and the text to embed."""
    normal = _normal_messages(messages)
    system = [m for m in normal if m.get("role") == "system"]
    last_user_at = max((i for i, m in enumerate(normal) if m.get("role") == "user"), default=-1)
    earlier = [m for i, m in enumerate(normal) if m.get("role") != "system" and i != last_user_at]
    text = last_user_text(messages)
    guard = [_NEGATION.get(word, "not" if word.endswith(("n't", "n’t")) else word)
             for word in _GUARD.findall(text.lower())] if text else []
    params_all = _normal_params(params)
    raw_temperature = params_all.pop("temperature", None)
    try:
        temperature = float(raw_temperature) if raw_temperature is not None else None
    except (TypeError, ValueError):
        temperature = None
    system_hash, params_hash = _sha(system), _sha(params_all)
    group = _sha(
        {
            "v": KEY_VERSION,
            "model": model.strip(),
            "scope": scope.strip(),
            "system": system_hash,
            "params": params_hash,
            "earlier": _sha(earlier),
            "guard": guard,
        }
    )
    return RequestFacts(group, system_hash, params_hash, temperature, text)
