"""Structured, redacted logs for the package's ``logging`` loggers.

Every logger from :func:`get_logger` passes its records through
:func:`quantumlayer_nb.safety.redact_text` - the message, every string field given with
``extra=``, the exception text - before any handler sees them, so a key that ends up in a
message is never written out, whatever handler the program installs.

Output is off by default (a library should not print). ``QLAYER_LOG_LEVEL`` (``DEBUG``,
``INFO``, ...) or ``QLAYER_LOG_FORMAT`` (``text`` or ``json``) turns on a stderr handler on
the ``quantumlayer_nb`` logger; :func:`configure_logging` does the same from code.

The package never configures the root logger. Some dependencies do when they are imported
(wordllama calls ``logging.basicConfig(level=INFO)``, which would make every library's INFO
records, matplotlib's among them, print in red under a notebook's cells): the modules in
``ROOT_LOGGING_OFFENDERS`` are imported under :func:`root_logging_preserved`, which puts the
root logger's handlers and level back as they were.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import IO, Any, Literal

__all__ = ["JsonFormatter", "RedactingFilter", "configure_logging", "get_logger",
           "root_logging_preserved"]

PACKAGE_LOGGER = "quantumlayer_nb"
LogFormat = Literal["text", "json"]

_STANDARD_FIELDS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None))
) | {"message", "asctime", "taskName", "_qlayer_redacted"}
_lock = threading.Lock()
_configured = False
_handler: logging.Handler | None = None


def _redact(text: str) -> str:
    from quantumlayer_nb.safety.secrets import redact_text

    return redact_text(text)


def _redact_value(value: Any) -> Any:
    """Redact strings, also inside lists, tuples and dicts; leave other values alone."""
    if isinstance(value, str):
        return _redact(value)
    if isinstance(value, Mapping):
        return {key: _redact_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value(item) for item in value)
    return value


class RedactingFilter(logging.Filter):
    """Redact a record's message, string fields, exception and stack text, once."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place with secrets replaced; always keep it."""
        if getattr(record, "_qlayer_redacted", False):
            return True
        record.msg = _redact(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_FIELDS:
                setattr(record, key, _redact_value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _redact(record.exc_text)
        if record.stack_info:
            record.stack_info = _redact(record.stack_info)
        record._qlayer_redacted = True
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, the ``extra`` fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as one line of JSON, every string redacted."""
        payload: dict[str, Any] = {
            "ts": _dt.datetime.fromtimestamp(record.created, _dt.timezone.utc).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": _redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_FIELDS:
                payload[key] = _redact_value(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exception"] = _redact(record.exc_text)
        if record.stack_info:
            payload["stack"] = _redact(record.stack_info)
        return json.dumps(payload, ensure_ascii=False, default=lambda o: _redact(str(o)))


class _TextFormatter(logging.Formatter):
    """The usual one-line text format, redacted as a whole."""

    def format(self, record: logging.LogRecord) -> str:
        return _redact(super().format(record))


def configure_logging(
    format: LogFormat | None = None,
    level: int | str | None = None,
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Send the package's logs to ``stream`` (default stderr) as text or JSON lines.

    Args:
        format: ``"text"`` or ``"json"``; default ``QLAYER_LOG_FORMAT``, else text.
        level: A level name or number; default ``QLAYER_LOG_LEVEL``, else ``INFO``.
        stream: Where to write; default ``sys.stderr``.

    Returns:
        The handler now attached to the ``quantumlayer_nb`` logger (it replaces the one
        installed by an earlier call).

    Raises:
        ValueError: ``format`` or ``level`` is not a known value.
    """
    global _handler, _configured
    chosen = (format or os.environ.get("QLAYER_LOG_FORMAT") or "text").strip().lower()
    if chosen not in ("text", "json"):
        raise ValueError(f"Log format {chosen!r} is not 'text' or 'json'. Pick one of those.")
    wanted = level if level is not None else os.environ.get("QLAYER_LOG_LEVEL") or "INFO"
    numeric = logging.getLevelName(wanted.upper()) if isinstance(wanted, str) else wanted
    if not isinstance(numeric, int):
        raise ValueError(
            f"Log level {wanted!r} is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL."
        )
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if chosen == "json"
        else _TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(RedactingFilter())
    package = logging.getLogger(PACKAGE_LOGGER)
    with _lock:
        if _handler is not None:
            package.removeHandler(_handler)
        package.addHandler(handler)
        package.setLevel(numeric)
        _handler, _configured = handler, True
    return handler


def _configure_once() -> None:
    global _configured
    with _lock:
        if _configured:
            return
        _configured = True
    if os.environ.get("QLAYER_LOG_FORMAT") or os.environ.get("QLAYER_LOG_LEVEL"):
        try:
            configure_logging()
            return
        except ValueError as exc:
            configure_logging(format="text", level="INFO")
            logging.getLogger(PACKAGE_LOGGER).warning("%s Using text logs at INFO.", exc)
            return
    logging.getLogger(PACKAGE_LOGGER).addHandler(logging.NullHandler())


def get_logger(name: str) -> logging.Logger:
    """Return the package logger ``name``, with redaction of every record it emits.

    Args:
        name: A module name such as ``__name__``; names outside the package are put
            under ``quantumlayer_nb.``.

    Returns:
        A standard ``logging.Logger``.
    """
    if name != PACKAGE_LOGGER and not name.startswith(PACKAGE_LOGGER + "."):
        name = f"{PACKAGE_LOGGER}.{name}"
    _configure_once()
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger


ROOT_LOGGING_OFFENDERS = frozenset({"wordllama"})
"""Top-level modules that configure the root logger when imported."""


@contextmanager
def root_logging_preserved() -> Iterator[None]:
    """Undo, on exit, what the code inside did to the root logger's handlers and level."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)


class _PreservingLoader(Loader):
    def __init__(self, inner: Loader) -> None:
        self._inner = inner

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with root_logging_preserved():
            self._inner.exec_module(module)

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ...
        return getattr(self._inner, name)


class _RootLoggingGuard(MetaPathFinder):
    """Imports the offenders' packages so that their import leaves the root logger alone."""

    def __init__(self, names: frozenset[str]) -> None:
        self._names = names
        self._busy = threading.local()

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if fullname.partition(".")[0] not in self._names or getattr(self._busy, "on", False):
            return None
        import importlib.util

        self._busy.on = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._busy.on = False
        if spec is None or spec.loader is None:
            return None
        spec.loader = _PreservingLoader(spec.loader)
        return spec


def _install_guard() -> None:
    if not any(isinstance(finder, _RootLoggingGuard) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RootLoggingGuard(ROOT_LOGGING_OFFENDERS))


_install_guard()
