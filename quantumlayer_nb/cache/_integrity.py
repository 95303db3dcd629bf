"""Checking every cache entry against its content hash, for ``qlayer audit verify``.

The cache serves no entry that fails its hash (see ``_segments.check_line``); this walks the
whole store to list them, with the file, line and key of each, so that an edit is seen even
for an entry no one has asked for yet.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from quantumlayer_nb.cache._segments import SEGMENT_SUFFIX, cache_dir, check_line

__all__ = ["StoreProblem", "StoreReport", "verify_store"]


@dataclass(frozen=True)
class StoreProblem:
    """One cache line that is not served (``damage``), or a remark about a segment."""

    file: str
    line: int | None
    key: str | None
    kind: Literal["tampered", "torn"]
    message: str
    damage: bool = True


@dataclass
class StoreReport:
    """What ``verify_store`` found: segments read, entries that verified, problems."""

    segments: int = 0
    entries: int = 0
    problems: list[StoreProblem] = field(default_factory=list)


def verify_store(data_dir: Path) -> StoreReport:
    """Check every complete line of every cache segment under ``data_dir/cache/``.

    Args:
        data_dir: The project's data folder.

    Returns:
        A ``StoreReport``: every line that is not JSON, lacks its content hash or does not
        match it is a ``tampered`` problem; an incomplete last line (a writer killed while
        writing) is a ``torn`` remark.
    """
    from quantumlayer_nb.ledger._chain import writer_alive

    folder = cache_dir(data_dir)
    report = StoreReport()
    try:
        names = sorted(e.name for e in os.scandir(folder) if e.name.endswith(SEGMENT_SUFFIX))
    except (FileNotFoundError, NotADirectoryError):
        return report
    for name in names:
        try:
            raw = (folder / name).read_bytes()
        except OSError as err:
            report.problems.append(StoreProblem(
                name, None, None, "tampered", f"could not be read ({err}); check its permissions."
            ))
            continue
        report.segments += 1
        *lines, tail = raw.split(b"\n")
        for number, line in enumerate(lines, start=1):
            record, reason = check_line(line)
            if reason is None:
                report.entries += 1
                continue
            key = record.get("key") if record is not None else None
            key = key if isinstance(key, str) else None
            report.problems.append(StoreProblem(
                name, number, key, "tampered",
                f"the entry {reason}, so it is never served. Restore {name} from a backup, "
                "or delete it (its answers are fetched again when asked for).",
            ))
        if tail and writer_alive(name[: -len(SEGMENT_SUFFIX)]) is not True:
            report.problems.append(StoreProblem(
                name, len(lines) + 1, None, "torn",
                f"the last line is incomplete ({len(tail)} bytes, no newline): its writer was "
                "killed while writing it; that answer was never stored.",
                damage=False,
            ))
    return report
