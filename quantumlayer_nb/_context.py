"""Describe notebook variables compactly, so a model (or the recipe retriever) can use them.

``describe_context`` writes one block per variable; ``parse_context`` reads the same text back
into ``ContextVariable`` records. The format is line based::

    df: DataFrame, shape (120, 3)
      columns: {'month': 'datetime64[us]', 'revenue': 'float64', 'region': 'str'}
      head:
        month | revenue | region
        2024-01-01 00:00:00 | 10.5 | north
    api_key: <redacted>

The first line of a block is ``name: kind ...`` (no indent); detail lines are indented. The
``columns`` line is a Python dict literal (column -> dtype), so names with commas survive.

pandas and numpy are never imported here: objects are recognised by their type's module and
attributes, so describing a DataFrame costs nothing when pandas is already loaded and nothing
at all when it is not.
"""

from __future__ import annotations

import ast
import re
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

__all__ = [
    "CONTEXT_HEADER",
    "ContextVariable",
    "compose_user_message",
    "describe_context",
    "parse_context",
    "split_user_message",
]

CONTEXT_HEADER = "### Context"
_SEPARATOR = "\n\n" + CONTEXT_HEADER + "\n"
_SECRET_NAME = re.compile(r"key|token|secret|password|passwd|credential", re.IGNORECASE)
_SKIPPED_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit"})
_HEAD_ROWS = 3
_CELL_CHARS = 20
_HEAD_COLUMNS = 8
_MAX_COLUMNS_WHEN_SHORT = 20
_BLOCK_START = re.compile(r"^([A-Za-z_][\w.]*): (.*)$")


@dataclass
class ContextVariable:
    """One variable read back from a context description.

    Attributes:
        name: The variable's name in the notebook.
        kind: ``DataFrame``, ``Series``, ``ndarray``, ``dict``, ``list``, ``str``, ``int``, ...,
            or ``redacted``.
        columns: Column names (DataFrames only; empty otherwise).
        dtypes: Column name -> dtype text (DataFrames), or ``{name: dtype}`` for a Series.
    """

    name: str
    kind: str
    columns: list[str] = field(default_factory=list)
    dtypes: dict[str, str] = field(default_factory=dict)


def is_secret_name(name: str) -> bool:
    """Tell whether a variable or column name looks like it holds a secret."""
    return bool(_SECRET_NAME.search(name))


def _short(value: object, limit: int = _CELL_CHARS) -> str:
    text = str(value).replace("\n", " ").replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _type_of(obj: object) -> tuple[str, str]:
    cls = type(obj)
    return cls.__module__.split(".")[0], cls.__name__


def _is_dataframe(obj: object) -> bool:
    module, name = _type_of(obj)
    return (
        module in {"pandas", "polars"}
        and name == "DataFrame"
        and all(hasattr(obj, attr) for attr in ("columns", "shape", "dtypes"))
    )


def _head_rows(obj: object) -> list[list[object]]:
    head = obj.head(_HEAD_ROWS)  # type: ignore[attr-defined]
    if hasattr(head, "itertuples"):
        return [list(row) for row in head.itertuples(index=False, name=None)]
    if hasattr(head, "rows"):
        return [list(row) for row in head.rows()]
    return []


def _describe_dataframe(name: str, obj: object, *, with_head: bool, max_columns: int) -> str:
    columns = [str(c) for c in obj.columns]  # type: ignore[attr-defined]
    dtypes = [str(d) for d in obj.dtypes]  # type: ignore[attr-defined]
    shape = tuple(obj.shape)  # type: ignore[attr-defined]
    shown = dict(list(zip(columns, dtypes, strict=False))[:max_columns])
    lines = [f"{name}: DataFrame, shape {shape}", f"  columns: {shown!r}"]
    if len(columns) > max_columns:
        lines[-1] += f" (+{len(columns) - max_columns} more columns)"
    if with_head and shape[0]:
        cols = columns[:_HEAD_COLUMNS]
        lines.append("  head:")
        lines.append("    " + " | ".join(_short(c) for c in cols))
        for row in _head_rows(obj):
            cells = [
                "<redacted>" if is_secret_name(col) else _short(value)
                for col, value in zip(cols, row, strict=False)
            ]
            lines.append("    " + " | ".join(cells))
    return "\n".join(lines)


def _describe_value(name: str, obj: object) -> str:
    module, type_name = _type_of(obj)
    if module in {"pandas", "polars"} and type_name == "Series" and hasattr(obj, "dtype"):
        series_name = getattr(obj, "name", None)
        return (
            f"{name}: Series {str(series_name)!r}, length {len(obj)}, "  # type: ignore[arg-type]
            f"dtype {obj.dtype}"
        )
    if module == "numpy" and hasattr(obj, "shape") and hasattr(obj, "dtype"):
        if getattr(obj, "ndim", 1) == 0:
            return f"{name}: {obj.dtype} = {_short(obj, 40)}"
        return f"{name}: ndarray, shape {tuple(obj.shape)}, dtype {obj.dtype}"
    if isinstance(obj, str):
        return f"{name}: str, len {len(obj)}: {obj[:40]!r}{'…' if len(obj) > 40 else ''}"
    if obj is None or isinstance(obj, (bool, int, float, complex)):
        return f"{name}: {type(obj).__name__} = {_short(obj, 40)}"
    if isinstance(obj, Mapping):
        keys = [_short(k) for k in list(obj.keys())[:5]]
        more = ", …" if len(obj) > 5 else ""
        return f"{name}: {type_name}, len {len(obj)}, keys [{', '.join(keys)}{more}]"
    if isinstance(obj, (list, tuple, set, frozenset)):
        return f"{name}: {type_name}, len {len(obj)}"
    return f"{name}: {type_name}"


def _wanted(name: str, obj: object) -> bool:
    if name.startswith("_") or name in _SKIPPED_NAMES:
        return False
    return not isinstance(
        obj, (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type)
    )


def describe_context(variables: Mapping[str, object], *, max_chars: int = 2000) -> str:
    """Describe notebook variables compactly, without ever showing a secret's value.

    Names starting with ``_``, modules, functions, classes and IPython's ``In``/``Out`` are
    skipped. Variables whose name contains key, token, secret, password, passwd or credential
    (any case) are shown as ``<redacted>``; so are DataFrame cells of such columns.

    Args:
        variables: Name -> object, e.g. a filtered ``globals()`` of the notebook.
        max_chars: Upper bound on the length of the description. Head rows go first, then
            long column lists are cut, then trailing variables are left out.

    Returns:
        The description (without the ``### Context`` header); empty if nothing is described.
    """
    items = [(name, obj) for name, obj in variables.items() if _wanted(name, obj)]

    def render(with_head: bool, max_columns: int) -> Iterator[str]:
        for name, obj in items:
            if is_secret_name(name):
                yield f"{name}: <redacted>"
            elif _is_dataframe(obj):
                yield _describe_dataframe(name, obj, with_head=with_head, max_columns=max_columns)
            else:
                yield _describe_value(name, obj)

    def fit(blocks: Iterator[str]) -> tuple[list[str], bool]:
        # Stop as soon as the text is too long: describing the rest would be thrown away,
        # which made many variables cost quadratic time.
        taken: list[str] = []
        size = -1
        for block in blocks:
            taken.append(block)
            size += len(block) + 1
            if size > max_chars:
                return taken, False
        return taken, True

    for with_head, max_columns in ((True, 10_000), (False, 10_000)):
        blocks, complete = fit(render(with_head, max_columns))
        if complete:
            return "\n".join(blocks)
    blocks, complete = fit(render(False, _MAX_COLUMNS_WHEN_SHORT))
    text = "\n".join(blocks)
    if complete:
        return text[:max_chars]
    # Too long: keep the leading blocks that fit together with a line saying how many
    # variables are left out (``blocks`` holds at most max_chars worth, so this is cheap).
    while len(blocks) > 1:
        blocks.pop()
        left_out = len(items) - len(blocks)
        text = "\n".join([*blocks, f"… {left_out} more variables not shown"])
        if len(text) <= max_chars:
            break
    return text[:max_chars]


def compose_user_message(prompt: str, context_text: str | None) -> str:
    """Join a request and a context description into one user message.

    Args:
        prompt: What the user asked.
        context_text: Output of ``describe_context``; ``None`` or empty for no context.

    Returns:
        ``prompt``, a blank line, ``### Context`` and the description; or ``prompt`` alone.
    """
    if not context_text:
        return prompt
    return prompt + _SEPARATOR + context_text


def split_user_message(content: str) -> tuple[str, str | None]:
    """Undo ``compose_user_message``.

    Args:
        content: A user message, with or without a context section.

    Returns:
        ``(prompt, context_text)``; ``context_text`` is ``None`` when there is no context.
    """
    prompt, separator, context_text = content.partition(_SEPARATOR)
    if not separator:
        if content.endswith("\n\n" + CONTEXT_HEADER):
            return content[: -len(CONTEXT_HEADER) - 2], None
        return content, None
    return prompt, context_text or None


def _literal_dict(text: str) -> dict[str, str]:
    end = text.rfind("}")
    try:
        value = ast.literal_eval(text[: end + 1])
    except (ValueError, SyntaxError):
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def parse_context(text: str) -> list[ContextVariable]:
    """Read back the variables that ``describe_context`` described.

    Lines that do not follow the format are ignored, so a truncated description still
    yields the variables it shows.

    Args:
        text: A context description (with or without the ``### Context`` header line).

    Returns:
        One ``ContextVariable`` per described variable, in order.
    """
    variables: list[ContextVariable] = []
    for line in text.splitlines():
        if not line.strip() or line.strip() == CONTEXT_HEADER:
            continue
        if not line.startswith(" "):
            match = _BLOCK_START.match(line)
            if match is None:
                continue
            name, rest = match.groups()
            kind = "redacted" if rest == "<redacted>" else re.split(r"[ ,]", rest, maxsplit=1)[0]
            variable = ContextVariable(name=name, kind=kind)
            if kind == "Series":
                dtype = re.search(r"dtype (\S+)$", rest)
                if dtype:
                    variable.dtypes = {name: dtype.group(1)}
            variables.append(variable)
        elif variables and line.strip().startswith("columns: "):
            dtypes = _literal_dict(line.strip()[len("columns: ") :])
            variables[-1].dtypes = dtypes
            variables[-1].columns = list(dtypes)
    return variables
