"""Fill a recipe's slots from the request text and the notebook context.

What is taken from where:

- ``file``: file names in the request (``sales.csv``, ``data/x.parquet``), in order.
- ``dataframe``: DataFrame names of the context mentioned in the request; else the context
  DataFrame that owns most of the columns mentioned; else the context DataFrames in order.
  Without a context, a name the request calls a table (``the sales dataframe``, ``table
  orders``, ``group sales by ...``).
- ``column``: columns of the context DataFrames named in the request (``unit price`` matches
  ``unit_price``; quoted names too). A slot with ``cues`` (``by``, ``per``) first takes the
  column right after one of its cue words. Without a context, quoted strings and the word after
  a cue (or after ``column``) are used.
- ``number``: numbers in the request that are not part of a file name.
- ``string``: quoted strings not used as a column; then the word after a cue.
- ``identifier``: the word after a cue (``as``, ``named``), if it is a Python name.

A ``name=value`` pair naming one of the recipe's slots (``top 5 by revenue, n=3``) sets it
outright. Anything not found keeps the recipe's default; ``missing_columns`` then tells which column
slots a context table cannot satisfy, so the model can ask for them instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from quantumlayer_nb._context import ContextVariable
from quantumlayer_nb.llm._recipe_loader import Recipe, Slot, is_safe_name

__all__ = ["fill_slots", "missing_columns"]

# A quoted name never spans lines: a newline inside quotes is not a column name.
_QUOTED = re.compile(r"\"([^\"\n]+)\"|'([^'\n]+)'|`([^`\n]+)`|“([^”\n]+)”")
_TABLE_WORDS = frozenset(
    {
        "dataframe", "df", "table", "frame", "pivot", "new", "whole", "same", "wide", "long",
        "entire", "full", "each", "one", "other", "first", "second", "last", "lookup",
        "summary", "result", "output",
    }
)
_TABLE_NAME = re.compile(
    r"\b([A-Za-z_]\w*)\s+(?:data\s*frame|dataframe|df|table|frame)\b"
    r"|\b(?:data\s*frame|dataframe|table|frame)\s+(?:called\s+|named\s+)?`?([A-Za-z_]\w*)`?"
    r"|\bgroup\s+(?:the\s+)?([A-Za-z_]\w*)\s+(?:rows\s+)?by\b",
    re.IGNORECASE,
)
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


_GROUP_CUES = ("by", "per", "each", "within", "across")
_TYPED = ("datetime",)


def _role(slot: Slot) -> str | None:
    """What a column slot holds, from its name and help: datetime, number or category."""
    name, help_text = slot.name.lower(), slot.help.lower()
    if name in {"date", "date_column", "time", "start", "end"} or any(
        word in help_text for word in ("date", "time")
    ):
        return "datetime"
    if name in {"by", "color", "columns", "index"} or any(
        word in help_text for word in ("group", "per value", "partition", "labels", "colour")
    ):
        return "category"
    if name in {"value", "values", "y"} or any(
        word in help_text for word in ("numeric", "summed", "averaged", "to sum", "ranked")
    ):
        return "number"
    return None


def _fits(slot: Slot, column: str, dtype: str) -> bool:
    role = _role(slot)
    numeric = dtype.lower().startswith(("int", "uint", "float"))
    if role == "number":
        return numeric
    if role == "datetime":
        return dtype.startswith("datetime") or (
            not numeric and any(w in column.lower() for w in ("date", "time", "month", "day"))
        )
    if role == "category":
        return not numeric and not dtype.startswith("datetime")
    return True


def _first_frame_slot(recipe: Recipe) -> str:
    return next((s.name for s in recipe.slots if s.kind == "dataframe"), "")


def _tables_named(request: str) -> list[str]:
    """Names the request calls a table, without a context to check them against."""
    names: list[str] = []
    for match in _TABLE_NAME.finditer(request):
        name = next(g for g in match.groups() if g)
        lowered = name.lower()
        if lowered in _NOT_NAMES or lowered in _FILLER or lowered in _TABLE_WORDS:
            continue
        if is_safe_name(name) and name not in names:
            names.append(name)
    return names


def missing_columns(
    recipe: Recipe, values: dict[str, str | float], context: Sequence[ContextVariable]
) -> tuple[list[Slot], list[str]]:
    """Column slots whose value is not a column of the tables the recipe will use.

    Only meaningful with a context that describes DataFrames; recipes without a DataFrame
    slot (they read a file) are not checked.

    Returns:
        ``(slots, columns)``: the unsatisfied non-optional column slots, and the columns
        that the chosen tables do have (to show the user).
    """
    frames = {v.name: v for v in context if v.kind == "DataFrame"}
    chosen = [
        frames[str(values[s.name])]
        for s in recipe.slots
        if s.kind == "dataframe" and str(values[s.name]) in frames
    ]
    if not chosen:
        return [], []
    available = [c for frame in chosen for c in frame.columns]
    missing = [
        slot
        for slot in recipe.slots
        if slot.kind == "column" and not slot.optional and str(values[slot.name]) not in available
    ]
    return missing, list(dict.fromkeys(available))


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
    request, explicit = _explicit_values(recipe, request)
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
    if not frames:
        frame_order = _tables_named(request)
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
    dtypes = {c: d for frame in frames for c, d in frame.dtypes.items()}
    for slot in column_slots:  # first pass: cue words ("by month" -> the group key)
        pool = [m for m in column_pool if m not in chosen.values()]
        cues = slot.cues or (_GROUP_CUES if _role(slot) == "category" else ())
        hit = _after_cue(pool, request, cues)
        if hit is None and not frames and slot.cues:
            hit = next(iter(_word_after(request, slot.cues)), None)
        if hit is not None:
            chosen[slot.name] = hit

    def free() -> list[_Mention]:
        return [m for m in column_pool if all(m.start != c.start for c in chosen.values())]

    for slot in column_slots:  # second pass: mentions whose type fits the slot
        if slot.name not in chosen and frames:
            fitting = [m for m in free() if _fits(slot, m.value, dtypes.get(m.value, ""))]
            if fitting:
                chosen[slot.name] = fitting[0]
    for slot in column_slots:  # third pass: remaining mentions in order
        if slot.name not in chosen and (pool := free()):
            chosen[slot.name] = pool[0]
    if frames:  # last: a date slot nobody named, when the table has exactly one date column
        table = next((f for f in frames if f.name == values.get(_first_frame_slot(recipe))), None)
        used = {m.value for m in chosen.values()}
        for slot in column_slots:
            role = _role(slot)
            if slot.name in chosen or slot.optional or table is None or role not in _TYPED:
                continue
            candidates = [
                c for c in table.columns if c not in used and _fits(slot, c, table.dtypes[c])
            ]
            if len(candidates) == 1:
                chosen[slot.name] = _Mention(len(request), candidates[0])
                used.add(candidates[0])
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
    values.update(explicit)
    return values


_EXPLICIT = re.compile(
    r"(?<![\w.])([A-Za-z_]\w*)\s*=\s*(\"[^\"\n]*\"|'[^'\n]*'|[^\s,;()\"']+)"
)


def _explicit_values(recipe: Recipe, request: str) -> tuple[str, dict[str, str | float]]:
    """``name=value`` pairs naming the recipe's slots (``n=2``, ``by='region'``).

    They win over everything else and are cut from the request, so they are not read
    twice. Values are still written through ``render_value`` (literals or checked names).
    """
    slots = {slot.name: slot for slot in recipe.slots}
    found: dict[str, str | float] = {}
    kept: list[str] = []
    position = 0
    for match in _EXPLICIT.finditer(request):
        slot = slots.get(match.group(1))
        if slot is None:
            continue
        raw = match.group(2)
        text = raw[1:-1] if raw[:1] in {"'", '"'} else raw
        if slot.kind == "number":
            try:
                found[slot.name] = float(text)
            except ValueError:
                continue
        else:
            found[slot.name] = text
        kept.append(request[position : match.start()])
        position = match.end()
    kept.append(request[position:])
    return " ".join(part.strip() for part in kept if part.strip()), found
