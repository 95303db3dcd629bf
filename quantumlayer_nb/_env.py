"""Environment reads cheap enough for the request path.

``os.environ.get`` encodes the name, decodes the value and, for a missing variable, raises
and catches a ``KeyError``: about a microsecond each, and a call reads a few dozen variables
(key variables for redaction, ``QLAYER_*`` for settings). On POSIX the process environment
is kept as a bytes-to-bytes dict behind ``os.environ``, which every ``os.environ[...] = ...``
updates; reading it directly costs a dict lookup. Elsewhere this falls back to
``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

__all__ = ["env_get", "env_names_with_prefix", "env_size", "env_values"]

_RAW: dict[bytes, bytes] | None = None
if os.name == "posix":
    _candidate = getattr(os.environ, "_data", None)
    if isinstance(_candidate, dict) and all(isinstance(k, bytes) for k in list(_candidate)[:1]):
        _RAW = _candidate

_ENCODED: dict[str, bytes] = {}


def env_get(name: str) -> str | None:
    """The value of environment variable ``name``, or None when it is not set."""
    if _RAW is None:
        return os.environ.get(name)
    key = _ENCODED.get(name)
    if key is None:
        key = _ENCODED[name] = os.fsencode(name)
    raw = _RAW.get(key)
    return None if raw is None else os.fsdecode(raw)


_ENCODED_NAMES: dict[tuple[str, ...], tuple[bytes, ...]] = {}


def env_values(names: tuple[str, ...]) -> list[str]:
    """The values of those of ``names`` that are set, in order."""
    if _RAW is None:
        return [value for name in names if (value := os.environ.get(name)) is not None]
    keys = _ENCODED_NAMES.get(names)
    if keys is None:
        keys = _ENCODED_NAMES[names] = tuple(os.fsencode(name) for name in names)
    get = _RAW.get
    return [os.fsdecode(raw) for key in keys if (raw := get(key)) is not None]


def env_size() -> int:
    """How many variables the environment holds (a cheap change detector)."""
    return len(_RAW) if _RAW is not None else len(os.environ)


def env_names_with_prefix(prefix: str) -> Iterator[str]:
    """The names of the variables that start with ``prefix``."""
    if _RAW is None:
        yield from (name for name in os.environ if name.startswith(prefix))
        return
    encoded = os.fsencode(prefix)
    for key in list(_RAW):
        if key.startswith(encoded):
            yield os.fsdecode(key)
