"""Checks on the arguments of a request, before anything is resolved, hashed or sent.

``check_request`` runs first in ``generate``/``agenerate``: each bad argument becomes a
:class:`~quantumlayer_nb.errors.RequestError` that names the argument, what was given (with
any secret in it redacted) and what is accepted, instead of a TypeError, an OverflowError or a
UnicodeEncodeError from deep inside the cache, the router or litellm. It also returns the
metadata to keep on the ledger, with every secret in it redacted.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Mapping
from typing import Any

from quantumlayer_nb.config import MAX_TIMEOUT_S
from quantumlayer_nb.errors import RequestError
from quantumlayer_nb.safety.secrets import placeholder_for, redact_text

__all__ = [
    "FORMATS",
    "MAX_METADATA_DEPTH",
    "MAX_TOKENS_LIMIT",
    "check_request",
    "check_text",
    "echo",
    "redact_metadata",
]

FORMATS = ("code", "text", "markdown")
MAX_TOKENS_LIMIT = 2**31 - 1
"""No model produces more; larger values overflow the 32-bit fields of some providers."""
MAX_METADATA_DEPTH = 32
"""Metadata nested deeper than this is refused (it is stored on every ledger event)."""

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Metadata keys whose string values are secrets whatever they look like.
_SECRET_KEY = re.compile(
    r"(?i)(?:^|[_.\-\s])(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey"
    r"|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?|authorization|auth)$"
)


def echo(value: object, limit: int = 80) -> str:
    """``repr(value)`` for an error message: shortened, with any secret in it redacted."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return redact_text(text)


def check_text(text: str, what: str) -> None:
    """Refuse text that cannot be encoded as UTF-8 (lone surrogates).

    Such text comes from bytes that were not UTF-8: a command-line argument or a file in
    another encoding, decoded by Python with ``surrogateescape``. It could not be hashed for
    the cache, stored on the ledger or sent to any provider.

    Raises:
        RequestError: naming where the bad character is and how to fix the source.
    """
    if text.isascii():
        return
    bad = _LONE_SURROGATE.search(text)
    if bad is not None:
        raise RequestError(
            f"The {what} holds a character that is not text: a lone surrogate "
            f"U+{ord(bad.group()):04X} at position {bad.start()}, which is what Python makes "
            "of bytes that are not UTF-8 (a file or command-line argument in another "
            "encoding). Decode the source with its real encoding, or remove the character "
            "(text.encode('utf-8', 'replace').decode())."
        )


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_temperature(temperature: object) -> None:
    if temperature is None:
        return
    if not _is_number(temperature):
        raise RequestError(
            f"temperature={echo(temperature)} is a {type(temperature).__name__}; pass a number "
            "from 0 to 2 (0 for repeatable code), or None for the model's default."
        )
    if not 0 <= float(temperature) <= 2:  # type: ignore[arg-type]  # a Real, checked above
        raise RequestError(
            f"temperature={temperature} is outside 0..2. Use 0 for repeatable code."
        )


def _check_max_tokens(max_tokens: object) -> None:
    if max_tokens is None:
        return
    if not isinstance(max_tokens, numbers.Integral) or isinstance(max_tokens, bool):
        raise RequestError(
            f"max_tokens={echo(max_tokens)} is a {type(max_tokens).__name__}; pass a whole "
            "number of tokens such as 512 (an int, not a float, string or bool), or None for "
            "the model's limit."
        )
    if not 0 < int(max_tokens) <= MAX_TOKENS_LIMIT:
        raise RequestError(
            f"max_tokens={max_tokens} must be a positive number of tokens, at most "
            f"{MAX_TOKENS_LIMIT:,}."
        )


def _check_timeout(timeout: object) -> None:
    if timeout is None:
        return
    if not _is_number(timeout):
        raise RequestError(
            f"timeout={echo(timeout)} is a {type(timeout).__name__}; pass a number of "
            "seconds such as 30, or None for the configured timeout."
        )
    seconds = float(timeout)  # type: ignore[arg-type]  # a Real, checked above
    if not math.isfinite(seconds) or not 0 < seconds <= MAX_TIMEOUT_S:
        raise RequestError(
            f"timeout={timeout} must be a positive, finite number of seconds, at most "
            f"{MAX_TIMEOUT_S:g} (a week). Pass None for the configured timeout."
        )


def check_request(
    prompt: object,
    format: object,
    temperature: object,
    max_tokens: object,
    timeout: object,
    metadata: object,
    system: object = None,
) -> dict[str, Any]:
    """Check the arguments of ``generate`` and return the metadata to store, redacted.

    Args:
        prompt: What the code should do (non-empty text).
        format: One of ``FORMATS``.
        temperature: None or a number from 0 to 2.
        max_tokens: None or a positive int (a bool, float or string is refused).
        timeout: None or a positive, finite number of seconds up to ``MAX_TIMEOUT_S``.
        metadata: None or a mapping with text keys, JSON-serialisable, finite numbers only.
        system: None or the system prompt (text).

    Returns:
        A copy of ``metadata`` with every secret in it redacted (empty when None).

    Raises:
        RequestError: the first argument that is not acceptable, and what is.
    """
    if not isinstance(prompt, str):
        raise RequestError(
            f"The prompt must be text (a str), not {type(prompt).__name__}. Say what the code "
            "should do, in plain language."
        )
    if not prompt.strip():
        raise RequestError("The prompt is empty. Say what the code should do, in plain language.")
    check_text(prompt, "prompt")
    if system is not None:
        if not isinstance(system, str):
            raise RequestError(f"system must be text (a str) or None, not {type(system).__name__}.")
        check_text(system, "system prompt")
    if not isinstance(format, str) or format not in FORMATS:
        raise RequestError(f"format={echo(format)} is not one of {', '.join(FORMATS)}.")
    _check_temperature(temperature)
    _check_max_tokens(max_tokens)
    _check_timeout(timeout)
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise RequestError(
            f"metadata must be a mapping such as {{'tags': ['etl']}}, not "
            f"{type(metadata).__name__}."
        )
    return redact_metadata(metadata)


def redact_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Return a JSON-safe copy of ``metadata`` with every secret in it redacted.

    Strings are passed through the secret scanner; the string value of a key named like a
    secret (``password``, ``api_key``, ``token``, ...) is replaced whatever it looks like.

    Raises:
        RequestError: a key is not text, a value is not JSON (or a non-finite number),
            text is undecodable, or the nesting is deeper than ``MAX_METADATA_DEPTH``.
    """
    redacted = _redact_value(metadata, "metadata", 0)
    assert isinstance(redacted, dict)
    try:
        json.dumps(redacted, allow_nan=False)
    except (TypeError, ValueError) as exc:  # pragma: no cover - _redact_value checked each
        raise RequestError(f"metadata must be JSON-serialisable ({exc}).") from exc
    return redacted


def _redact_value(value: Any, where: str, depth: int) -> Any:
    if depth > MAX_METADATA_DEPTH:
        raise RequestError(
            f"metadata is nested deeper than {MAX_METADATA_DEPTH} levels (at {where[:80]}). "
            "Keep it flat: a few tags, ids and notes."
        )
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        check_text(value, f"metadata value at {where[:80]}")
        return redact_text(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        if not math.isfinite(number):
            raise RequestError(
                f"metadata value at {where[:80]} is {number}, which JSON cannot hold. "
                "Store a finite number, or the text 'inf' / 'nan'."
            )
        return number
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise RequestError(
                    f"metadata keys must be text; {where[:80]} has the key {echo(key)} "
                    f"({type(key).__name__}). Convert it with str()."
                )
            check_text(key, f"metadata key in {where[:80]}")
            name = redact_text(key)
            out[name] = _redact_value(item, f"{where}[{name!r}]", depth + 1)
            if out[name] == item and isinstance(item, str) and item and _SECRET_KEY.search(key):
                out[name] = placeholder_for("metadata_secret", item)  # of no known shape
        return out
    if isinstance(value, (list, tuple)):
        return [_redact_value(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
    raise RequestError(
        f"metadata value at {where[:80]} is a {type(value).__name__}, which is not JSON. "
        "Use text, numbers, booleans, None, lists and mappings (str() anything else)."
    )
