"""Fill a recipe's slots from the request text and the notebook context.

What is taken from where:

- ``file``: file names in the request (``sales.csv``, ``data/x.parquet``), in order.
- ``dataframe``: DataFrame names of the context mentioned in the request; else the context
  DataFrame that owns most of the columns mentioned; else the context DataFrames in order.
- ``column``: columns of the context DataFrames named in the request (``unit price`` matches
  ``unit_price``; quoted names too). A slot with ``cues`` (``by``, ``per``) first takes the
  column right after one of its cue words. Without a context, quoted strings and the word after
  a cue (or after ``column``) are used.
- ``number``: numbers in the request that are not part of a file name.
- ``string``: quoted strings not used as a column; then the word after a cue.
- ``identifier``: the word after a cue (``as``, ``named``), if it is a Python name.

Anything not found keeps the recipe's default.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from quantumlayer_nb._context import ContextVariable
from quantumlayer_nb.llm._recipe_loader import Recipe

__all__ = ["fill_slots"]

_QUOTED = re.compile(r"\"([^\"]+)\"|'([^']+)'|`([^`]+)`|“([^”]+)”")
_FILE = re.compile(
    r"(?<![\w/.-])((?:[\w.-]+/)*[\w-][\w.-]*\.(?:csv|tsv|parquet|pq|json|jsonl|ndjson|xlsx|xls|"
    r"txt|feather|arrow|pkl|pickle|db|sqlite|duckdb|png|svg|pdf|html|md|zip|gz|toml|yaml|yml))"
    r"(?![\w])",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]*[A-Za-z_])")
_WORD = re.compile(r"[A-Za-z_][\w]*")


def _words(text: str) -> list[str]:
    return text.split()


_FILLER = frozenset(
    _words("the a an each every column columns field col value values my this that its their of to")
)
_NOT_NAMES = frozenset(
    _words(
        "and or with in on for from into per by as then it them data dataframe df table "
        "frame file chart plot graph histogram bar line scatter pie box boxplot heatmap "
        "rows row all total sum average mean count number distribution top"
    )
)
# Without a context, a column is guessed as the word after one of these.
_GENERIC_CUES = tuple(
    _words(
        "column columns by per of on vs versus against sum total average mean median plot "
        "count sort where"
    )
)


@dataclass
class _Mention:
    start: int
    value: str


def _column_mentions(text: str, columns: Sequence[str]) -> list[_Mention]:
    lower = text.lower()
    found: list[_Mention] = []
    taken: list[tuple[int, int]] = []
    # Longest names first, so "unit_price" wins over "price" at the same place.
    for column in sorted(set(columns), key=len, reverse=True):
        variants = {column.lower(), column.lower().replace("_", " ")}
        for variant in variants:
            pattern = r"(?<![\w])" + re.escape(variant) + r"(?![\w])"
            for match in re.finditer(pattern, lower):
                span = (match.start(), match.end())
                if any(s < span[1] and span[0] < e for s, e in taken):
                    continue
                taken.append(span)
                found.append(_Mention(match.start(), column))
    return sorted(found, key=lambda m: m.start)


def _word_after(text: str, cues: Sequence[str], start: int = 0) -> list[_Mention]:
    """Words that follow a cue word (skipping filler such as 'the' or 'column')."""
    words = [(m.start(), m.group(0)) for m in _WORD.finditer(text)]
    out: list[_Mention] = []
    for i, (_pos, word) in enumerate(words):
        if word.lower() not in cues:
            continue
        j = i + 1
        while j < len(words) and words[j][1].lower() in _FILLER:
            j += 1
        if j < len(words) and words[j][1].lower() not in _NOT_NAMES:
            mention = _Mention(words[j][0], words[j][1])
            if mention not in out:
                out.append(mention)
    return [m for m in out if m.start >= start]


def _after_cue(mentions: Sequence[_Mention], text: str, cues: Sequence[str]) -> _Mention | None:
    """The first mention that directly follows one of ``cues`` (filler words allowed between)."""
    if not cues:
        return None
    for mention in mentions:
        before = _WORD.findall(text[: mention.start])
        while before and before[-1].lower() in _FILLER:
            before.pop()
        if before and before[-1].lower() in cues:
            return mention
        # "month as rows": the cue follows the name, after "as".
        after = [w.lower() for w in _WORD.findall(text[mention.start + len(mention.value) :])[:3]]
        if len(after) >= 2 and after[0] == "as" and after[1] in cues:
            return mention
    return None


def fill_slots(
    recipe: Recipe, request: str, context: Sequence[ContextVariable]
) -> dict[str, str | float]:
    """Choose a value for every slot of ``recipe``.

    Args:
        recipe: The retrieved recipe.
        request: The user's request (without the context section).
        context: Variables parsed from the context section (may be empty).

    Returns:
        Slot name -> value, for every slot (defaults where nothing was found).
    """
    values: dict[str, str | float] = {slot.name: slot.default for slot in recipe.slots}
    quoted = [
        _Mention(m.start(), next(g for g in m.groups() if g)) for m in _QUOTED.finditer(request)
    ]
    files = [_Mention(m.start(), m.group(1)) for m in _FILE.finditer(request)]
    file_spans = [(m.start(), m.end()) for m in _FILE.finditer(request)]
    numbers = [
        _Mention(m.start(), m.group(0))
        for m in _NUMBER.finditer(request)
        if not any(s <= m.start() < e for s, e in file_spans)
    ]
    quoted = [q for q in quoted if q.value not in {f.value for f in files}]

    frames = [v for v in context if v.kind == "DataFrame"]
    all_columns = [c for frame in frames for c in frame.columns]
    columns = _column_mentions(request, all_columns)
    names_in_request = {m.group(0) for m in _WORD.finditer(request)}

    # DataFrames: mentioned by name, then the owner of most mentioned columns, then in order.
    mentioned_frames = sorted(
        (f for f in frames if f.name in names_in_request),
        key=lambda f: request.find(f.name),
    )
    by_owner = sorted(frames, key=lambda f: -sum(1 for m in columns if m.value in f.columns))
    frame_order = [f.name for f in mentioned_frames]
    frame_order += [f.name for f in by_owner if f.name not in frame_order]
    for slot, name in zip(
        (s for s in recipe.slots if s.kind == "dataframe"), frame_order, strict=False
    ):
        values[slot.name] = name

    used_quotes: set[str] = set()
    column_pool = list(columns)
    if not frames:
        column_pool = sorted(quoted + _word_after(request, _GENERIC_CUES), key=lambda m: m.start)
    column_slots = [s for s in recipe.slots if s.kind == "column"]
    chosen: dict[str, _Mention] = {}
    for slot in column_slots:  # first pass: cue words ("by month" -> the group key)
        pool = [m for m in column_pool if m not in chosen.values()]
        hit = _after_cue(pool, request, slot.cues)
        if hit is None and not frames and slot.cues:
            hit = next(iter(_word_after(request, slot.cues)), None)
        if hit is not None:
            chosen[slot.name] = hit
    for slot in column_slots:  # second pass: remaining mentions in order
        if slot.name in chosen:
            continue
        pool = [m for m in column_pool if all(m.start != c.start for c in chosen.values())]
        if pool:
            chosen[slot.name] = pool[0]
    for name, mention in chosen.items():
        values[name] = mention.value
        used_quotes.add(mention.value)

    for slot, mention in zip((s for s in recipe.slots if s.kind == "file"), files, strict=False):
        values[slot.name] = mention.value
    for slot, mention in zip(
        (s for s in recipe.slots if s.kind == "number"), numbers, strict=False
    ):
        values[slot.name] = float(mention.value)

    free_quotes = [q for q in quoted if q.value not in used_quotes]
    for slot in (s for s in recipe.slots if s.kind == "string"):
        if free_quotes:
            values[slot.name] = free_quotes.pop(0).value
        elif slot.cues and (after := _word_after(request, slot.cues)):
            values[slot.name] = after[0].value
    for slot in (s for s in recipe.slots if s.kind == "identifier" and s.cues):
        after = [m for m in _word_after(request, slot.cues) if m.value.isidentifier()]
        if after:
            values[slot.name] = after[0].value
    return values
