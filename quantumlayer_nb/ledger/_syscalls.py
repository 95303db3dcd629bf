"""Small writes that keep the GIL.

``os.write`` releases the GIL for every call. Right after a completion, litellm starts its
own logging work in a background thread; if the ledger's write releases the GIL at that
moment, that thread takes it and the caller waits for litellm's bookkeeping before
``generate`` can return. A ledger line is a few hundred bytes into the page cache (a few
microseconds), so it is written through libc with the GIL held, the way a C extension
would; litellm's thread then runs while the caller waits on its next request instead.
Where libc cannot be loaded this way, ``os.write``/``os.pwrite`` are used.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
from collections.abc import Callable
from typing import Any

__all__ = ["pwrite_holding_gil", "write_holding_gil"]


def _libc_functions() -> tuple[Any, Any] | None:
    if os.name != "posix":
        return None
    try:
        libc = ctypes.PyDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        write, pwrite = libc.write, libc.pwrite
    except (OSError, AttributeError):
        return None
    write.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
    write.restype = ctypes.c_ssize_t
    pwrite.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_longlong]
    pwrite.restype = ctypes.c_ssize_t
    return write, pwrite


_LIBC = _libc_functions()


def _retry_on_eintr(call: Callable[[], int]) -> int:
    while True:
        written = call()
        if written >= 0:
            return written
        code = ctypes.get_errno()
        if code != errno.EINTR:
            raise OSError(code, os.strerror(code))


def write_holding_gil(fd: int, data: bytes) -> int:
    """``os.write`` without releasing the GIL; returns the bytes written."""
    if _LIBC is None:
        return os.write(fd, data)
    write = _LIBC[0]
    return _retry_on_eintr(lambda: int(write(fd, data, len(data))))


def pwrite_holding_gil(fd: int, data: bytes, offset: int) -> int:
    """``os.pwrite`` without releasing the GIL; returns the bytes written."""
    if _LIBC is None:
        return os.pwrite(fd, data, offset)
    pwrite = _LIBC[1]
    return _retry_on_eintr(lambda: int(pwrite(fd, data, len(data), offset)))
