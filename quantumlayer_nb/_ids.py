"""Ids for calls and events, made without a system call.

``uuid.uuid4()`` reads ``os.urandom``, a system call that releases the GIL; on the request
path that hands the interpreter to litellm's logging thread and the caller waits for it.
Ids only need to be unique, not secret, so they come from the process's ``random``
generator (seeded from the OS at start-up and again in every forked child).
"""

from __future__ import annotations

import random

__all__ = ["new_id"]

_bits = random.getrandbits


def new_id() -> str:
    """A random 128-bit id as 32 hex digits, like ``uuid.uuid4().hex``."""
    return f"{_bits(128):032x}"
