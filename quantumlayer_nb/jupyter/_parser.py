"""Argument parsing for the ``%qlayer`` / ``%%qlayer`` magics.

argparse does the work, but a bad option must give a usage line, not ``SystemExit`` or a
traceback: :class:`_Parser` raises :class:`MagicUsageError` instead of exiting.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import dataclass, field
from typing import Any, NoReturn

from quantumlayer_nb.errors import RequestError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "CELL_USAGE",
    "LINE_USAGE",
    "CellOptions",
    "EvalOptions",
    "MagicUsageError",
    "parse_cell_line",
    "parse_config_pairs",
    "parse_eval",
    "split_config_words",
    "split_line",
]

CELL_USAGE = (
    "usage: %%qlayer [-m MODEL_OR_ROUTE] [-f code|markdown|text] [--system TEXT] "
    "[--context VAR[,VAR]] [--no-insert] [--stream] [--tag TAG] [--estimate]"
)
LINE_USAGE = (
    "usage: %qlayer fix | explain [CELL] | models | usage | budget | config KEY=VALUE ... | "
    "eval SUITE [--models a,b] [--n N] [--k K[,K]] [--samples FILE] [--repair-rounds R] | help"
)
FORMATS = ("code", "markdown", "text")


class MagicUsageError(RequestError):
    """A magic was called with an unknown option or a bad value."""

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(f"{message}\n{usage}")
        self.usage = usage


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises :class:`MagicUsageError` instead of exiting."""

    def __init__(self, usage_line: str, **kwargs: Any) -> None:
        super().__init__(add_help=False, exit_on_error=False, **kwargs)
        self.usage_line = usage_line

    def error(self, message: str) -> NoReturn:
        raise MagicUsageError(message[:1].upper() + message[1:] + ".", self.usage_line)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise MagicUsageError((message or "Invalid arguments.").strip(), self.usage_line)


def split_line(line: str, usage: str) -> list[str]:
    """Split a magic's line like a shell would, with a usage error on unbalanced quotes."""
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise MagicUsageError(f"Cannot read the options: {exc}.", usage) from None


def _parse(parser: _Parser, words: list[str]) -> argparse.Namespace:
    try:
        return parser.parse_args(words)
    except argparse.ArgumentError as exc:
        parser.error(str(exc))


@dataclass
class CellOptions:
    """The options of one ``%%qlayer`` cell."""

    model: str | None = None
    format: str = "code"
    system: str | None = None
    context: list[str] = field(default_factory=list)
    insert: bool = True
    stream: bool = False
    tags: list[str] = field(default_factory=list)
    estimate: bool = False


def _cell_parser() -> _Parser:
    parser = _Parser(CELL_USAGE, prog="%%qlayer")
    parser.add_argument("-m", "--model", default=None)
    parser.add_argument("-f", "--format", default="code", choices=FORMATS)
    parser.add_argument("--system", default=None)
    parser.add_argument("--context", default=None)
    parser.add_argument("--no-insert", action="store_true")
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--tag", action="append", default=[])
    parser.add_argument("--estimate", action="store_true")
    return parser


def parse_cell_line(line: str) -> CellOptions:
    """Read the options of ``%%qlayer``.

    Raises:
        MagicUsageError: an unknown option or a bad value.
    """
    args = _parse(_cell_parser(), split_line(line, CELL_USAGE))
    context = [name.strip() for name in (args.context or "").split(",") if name.strip()]
    for name in context:
        if not name.isidentifier():
            raise MagicUsageError(f"--context takes variable names; {name!r} is not one.",
                                  CELL_USAGE)
    return CellOptions(model=args.model, format=args.format, system=args.system,
                       context=context, insert=not args.no_insert, stream=args.stream,
                       tags=list(args.tag), estimate=args.estimate)


@dataclass
class EvalOptions:
    """The options of ``%qlayer eval``."""

    suite: str
    models: list[str]
    n: int
    k: list[int]
    samples: str | None
    repair_rounds: int = 0


def parse_eval(words: list[str]) -> EvalOptions:
    """Read ``eval SUITE [--models a,b] [--n N] [--k K[,K]] [--samples FILE]``.

    Raises:
        MagicUsageError: a missing suite, an unknown option or a bad number.
    """
    parser = _Parser(LINE_USAGE, prog="%qlayer eval")
    parser.add_argument("suite")
    parser.add_argument("--models", default="")
    parser.add_argument("--n", type=int, default=1)
    parser.add_argument("--k", default="1")
    parser.add_argument("--samples", default=None)
    parser.add_argument("--repair-rounds", type=int, default=0)
    args = _parse(parser, words)
    try:
        ks = [int(value) for value in args.k.split(",") if value.strip()]
    except ValueError:
        raise MagicUsageError(f"--k takes whole numbers like 1,5; got {args.k!r}.",
                              LINE_USAGE) from None
    if args.n < 1 or not ks or min(ks) < 1:
        raise MagicUsageError("--n and --k must be at least 1.", LINE_USAGE)
    if args.repair_rounds < 0:
        raise MagicUsageError("--repair-rounds must be 0 or more.", LINE_USAGE)
    models = [name.strip() for name in args.models.split(",") if name.strip()]
    return EvalOptions(suite=args.suite, models=models, n=args.n, k=ks, samples=args.samples,
                       repair_rounds=args.repair_rounds)


_CLOSERS = {"[": "]", "{": "}", "(": ")"}


def split_config_words(text: str) -> list[str]:
    """Split ``config``'s ``KEY=VALUE`` pairs on spaces outside quotes and brackets.

    Quotes are kept, so ``budgets=[{"scope": "project", "limit_usd": 5}]`` reaches
    :func:`parse_value` as the JSON it is (a shell-like split would strip them).

    Raises:
        MagicUsageError: an unclosed quote or bracket.
    """
    words: list[str] = []
    current: list[str] = []
    stack: list[str] = []
    quote: str | None = None
    escaped = False
    for char in text:
        if quote is not None:
            current.append(char)
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = None
            continue
        if char in "\"'":
            quote = char
        elif char in _CLOSERS:
            stack.append(_CLOSERS[char])
        elif stack and char == stack[-1]:
            stack.pop()
        elif char.isspace() and not stack:
            if current:
                words.append("".join(current))
                current = []
            continue
        current.append(char)
    if quote is not None or stack:
        missing = quote if quote is not None else stack[-1]
        raise MagicUsageError(f"Cannot read the options: {missing!r} is never closed.",
                              LINE_USAGE)
    if current:
        words.append("".join(current))
    return words


def parse_value(text: str) -> Any:
    """Read a config value: JSON or TOML literal (``true``, ``3``, ``[1, 2]``), else a string.

    A value in matching quotes that is neither (``'it''s'``) is taken without its quotes.
    """
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        pass
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def parse_config_pairs(words: list[str]) -> dict[str, Any]:
    """Turn ``KEY=VALUE`` words into a nested dict (``cache.mode=off`` -> ``{"cache": ...}``).

    Raises:
        MagicUsageError: no pair, or a word without ``=``.
    """
    if not words:
        raise MagicUsageError("config needs at least one KEY=VALUE.", LINE_USAGE)
    result: dict[str, Any] = {}
    for word in words:
        key, sep, raw = word.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(part.isidentifier() for part in parts):
            raise MagicUsageError(f"config takes KEY=VALUE pairs; got {word!r}.", LINE_USAGE)
        node = result
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise MagicUsageError(f"{key!r} conflicts with an earlier pair.", LINE_USAGE)
            node = child
        node[parts[-1]] = parse_value(raw)
    return result
