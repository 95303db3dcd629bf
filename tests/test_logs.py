"""Structured logs: JSON or text, every message and string field redacted."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from quantumlayer_nb.observability import configure_logging, get_logger
from quantumlayer_nb.observability.logs import PACKAGE_LOGGER, JsonFormatter

FAKE_KEY = "sk-" + "proj-" + "A1b2" * 10  # built at run time so no key sits in the source


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """The package's log output, as JSON lines at DEBUG, in a string buffer."""
    buffer = io.StringIO()
    handler = configure_logging(format="json", level="DEBUG", stream=buffer)
    yield buffer
    logging.getLogger(PACKAGE_LOGGER).removeHandler(handler)


def _records(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_json_record_has_level_logger_and_message(stream: io.StringIO) -> None:
    get_logger("quantumlayer_nb.routing").info("picked %s", "loop")
    (record,) = _records(stream)
    assert record["level"] == "INFO"
    assert record["logger"] == "quantumlayer_nb.routing"
    assert record["message"] == "picked loop"
    assert str(record["ts"]).endswith("+00:00")


def test_extra_fields_are_json_fields(stream: io.StringIO) -> None:
    get_logger("quantumlayer_nb.cache").debug("hit", extra={"call_id": "c1", "latency_ms": 3.5})
    (record,) = _records(stream)
    assert record["call_id"] == "c1"
    assert record["latency_ms"] == 3.5


def test_planted_key_in_message_never_appears(stream: io.StringIO) -> None:
    get_logger("quantumlayer_nb.llm").warning(f"provider said: bad key {FAKE_KEY}")
    output = stream.getvalue()
    assert FAKE_KEY not in output
    assert "[REDACTED:" in output


def test_planted_key_in_format_argument_never_appears(stream: io.StringIO) -> None:
    get_logger("quantumlayer_nb.llm").error("request headers: %s", {"Authorization": FAKE_KEY})
    assert FAKE_KEY not in stream.getvalue()
    assert _records(stream)[0]["message"] != ""


def test_planted_key_in_extra_field_never_appears(stream: io.StringIO) -> None:
    log = get_logger("quantumlayer_nb.llm")
    log.info("sent", extra={"prompt": f"use {FAKE_KEY}", "tags": [f"k={FAKE_KEY}"]})
    output = stream.getvalue()
    assert FAKE_KEY not in output
    assert _records(stream)[0]["prompt"] != f"use {FAKE_KEY}"


def test_planted_key_in_exception_text_never_appears(stream: io.StringIO) -> None:
    try:
        raise RuntimeError(f"401 for key {FAKE_KEY}")
    except RuntimeError:
        get_logger("quantumlayer_nb.llm").exception("call failed")
    record = _records(stream)[0]
    assert FAKE_KEY not in stream.getvalue()
    assert "RuntimeError" in str(record["exception"])


def test_records_reaching_other_handlers_are_redacted_too() -> None:
    """A handler the program installs (here on the root logger) sees redacted records."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        log = get_logger("quantumlayer_nb.elsewhere")
        log.setLevel(logging.INFO)
        log.info("key=%s", FAKE_KEY)
    finally:
        root.removeHandler(handler)
    assert buffer.getvalue().startswith("key=[REDACTED:")
    assert FAKE_KEY not in buffer.getvalue()


def test_names_outside_the_package_are_put_under_it() -> None:
    assert get_logger("myplugin").name == "quantumlayer_nb.myplugin"


def test_text_format_is_redacted() -> None:
    buffer = io.StringIO()
    handler = configure_logging(format="text", level="INFO", stream=buffer)
    try:
        get_logger("quantumlayer_nb.x").info("token %s", FAKE_KEY)
    finally:
        logging.getLogger(PACKAGE_LOGGER).removeHandler(handler)
    assert " INFO quantumlayer_nb.x: token [REDACTED:" in buffer.getvalue()
    assert FAKE_KEY not in buffer.getvalue()


def test_json_formatter_redacts_records_from_any_logger() -> None:
    record = logging.LogRecord("other", logging.INFO, __file__, 1, "k %s", (FAKE_KEY,), None)
    assert FAKE_KEY not in JsonFormatter().format(record)


def test_bad_format_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="'yaml' is not 'text' or 'json'"):
        configure_logging(format="yaml")  # type: ignore[arg-type]


_CHILD = """
    from quantumlayer_nb.observability import get_logger
    log = get_logger("quantumlayer_nb.child")
    log.debug("debug line")
    log.info("key %s", "sk-" + "proj-" + "A1b2" * 10)
"""


def _run_child(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("QLAYER_LOG")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_CHILD)],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_env_json_format_and_level_configure_stderr_logs() -> None:
    result = _run_child({"QLAYER_LOG_FORMAT": "json", "QLAYER_LOG_LEVEL": "DEBUG"})
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert records[0]["message"] == "debug line"
    assert str(records[1]["message"]).startswith("key [REDACTED:")
    assert FAKE_KEY not in result.stderr


def test_env_level_filters_lower_levels() -> None:
    result = _run_child({"QLAYER_LOG_LEVEL": "WARNING"})
    assert result.stderr == ""


def test_no_log_variables_means_no_output() -> None:
    result = _run_child({})
    assert result.stderr == ""
    assert result.stdout == ""
