"""The notebook's cells as the user wrote them: history and tracebacks for fix and explain."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["previous_cell", "user_traceback"]


def _raw_history(ipython: Any) -> list[str]:
    """The cells as typed (``In`` holds IPython's transformed source)."""
    manager = getattr(ipython, "history_manager", None)
    raw = getattr(manager, "input_hist_raw", None)
    return [str(x) for x in (raw if raw else ipython.user_ns.get("In") or [])]


def _is_qlayer_cell(source: str) -> bool:
    stripped = source.lstrip()
    return stripped.startswith(("%qlayer", "%%qlayer")) or bool(
        re.match(r"get_ipython\(\)\.run_(line|cell)_magic\(['\"]qlayer['\"]", stripped))


def previous_cell(ipython: Any, which: str | None = None) -> tuple[str, int]:
    """(source as typed, execution count) of cell ``which`` or the last non-%qlayer cell."""
    from quantumlayer_nb.jupyter._parser import LINE_USAGE, MagicUsageError

    history = _raw_history(ipython)
    if which:
        if not which.isdigit() or not 0 < int(which) < len(history):
            raise MagicUsageError(f"There is no cell {which!r}; give an execution count "
                                  "like 3 (the number in In [3]).", LINE_USAGE)
        return history[int(which)], int(which)
    for number in range(len(history) - 2, 0, -1):  # the last entry is this %qlayer line
        source = history[number]
        if source.strip() and not _is_qlayer_cell(source):
            return source, number
    raise MagicUsageError("There is no previous cell to use. Run a cell first.", LINE_USAGE)


_INTERNAL = re.compile(r"[\\/](IPython|ipykernel|traitlets|tornado|asyncio|runpy)[\\/]")


def user_traceback(ipython: Any, error: BaseException, tb: Any) -> str:
    """The error as the user would read it: their cells' frames, no IPython machinery.

    Frames from cells are named ``Cell In[3], line 2`` (never the kernel's temporary file);
    frames of IPython, ipykernel and the standard event loop are left out; library paths
    are cut to the part after ``site-packages``. Secrets are redacted.
    """
    import traceback

    from quantumlayer_nb.safety.secrets import redact_text

    lines = ["Traceback (most recent call last):"]
    formatter = getattr(getattr(ipython, "compile", None), "format_code_name", None)
    for frame in traceback.extract_tb(tb):
        cell = formatter(frame.filename) if callable(formatter) else None
        if cell is not None:
            where = f"  {cell[0]} {cell[1]}, line {frame.lineno}"
        elif _INTERNAL.search(frame.filename) or frame.filename.startswith("<"):
            continue
        else:
            path = re.split(r"site-packages[\\/]", frame.filename)[-1]
            where = f'  File "{path}", line {frame.lineno}, in {frame.name}'
        lines.append(where)
        if frame.line:
            lines.append(f"    {frame.line.strip()}")
    lines += [line.rstrip("\n") for line in traceback.format_exception_only(type(error), error)]
    from quantumlayer_nb.config import get_settings

    key_vars = tuple(get_settings().safety.key_env_vars)  # the deployments' key variables too
    return redact_text("\n".join(lines), key_vars)[-3000:]
