"""A loopback OpenAI-compatible server with fault injection, for tests and benchmarks.

Run it in a thread (:class:`LoopbackServer`) or as its own process
(:meth:`LoopbackServer.spawn`, so a client that pushes 1,000 concurrent requests does not
share the GIL with the server). Both are scripted through the same JSON control API under
``/_control/...``. Point litellm at it with
``litellm.completion(model="openai/<name>", api_base=server.url, api_key="sk-loopback")``.

How litellm reports each fault
------------------------------
Observed with litellm 1.110.2 and openai 3.57 (``litellm.completion``, ``acompletion`` and
``embedding`` with ``model="openai/..."``, ``num_retries=0, max_retries=0``), checked by
``tests/test_testing_server.py``:

================  ======  ==============================================================
fault             status  exception raised by litellm (``status_code`` on it)
================  ======  ==============================================================
rate_limit        429     ``litellm.RateLimitError`` (429). ``Retry-After`` is in
                          ``exc.response.headers["retry-after"]`` (an ``httpx.Response``)
                          and in ``exc.litellm_response_headers["retry-after"]``
                          (``httpx.Headers``); the server also sends ``retry-after-ms``.
server_error      500     ``litellm.InternalServerError`` (500)
unavailable       503     ``litellm.ServiceUnavailableError`` (503)
auth              401     ``litellm.AuthenticationError`` (401)
bad_request       400     ``litellm.BadRequestError`` (400)
not_found         404     ``litellm.NotFoundError`` (404)
hang              --      with ``timeout=0.5``: ``litellm.Timeout`` (408), a subclass of
                          ``openai.APITimeoutError`` / ``openai.APIConnectionError``
malformed_json    200     ``litellm.InternalServerError`` (500; the message holds the JSON
                          decode error). Streaming: ``MidStreamFallbackError`` (from
                          ``litellm.exceptions``, a ``litellm.ServiceUnavailableError``).
connection_reset  --      ``litellm.InternalServerError`` (500, message ``"Connection
                          error."``), NOT ``litellm.APIConnectionError``
content_policy    400     ``litellm.ContentPolicyViolationError`` (400)
context_length    400     ``litellm.ContextWindowExceededError`` (400)
================  ======  ==============================================================

Notes for an error mapping built on this table:

* Every class above except ``Timeout`` is an ``openai.APIStatusError``; none is a subclass
  of ``litellm.APIError`` (that is a sibling leaf), all are ``openai.APIError``.
* ``ContextWindowExceededError`` and ``ContentPolicyViolationError`` subclass
  ``litellm.BadRequestError``: test them before ``BadRequestError``.
* litellm recognises content-policy errors from the openai provider by the message text,
  not the ``code``: the server sends OpenAI's "Invalid prompt: your prompt was flagged as
  potentially violating our usage policy" wording. OpenAI's other wording ("rejected as a
  result of our safety system") comes back as a plain ``BadRequestError``.
* Context-window errors are recognised by "This model's maximum context length is".
* ``acompletion`` raises the same classes as ``completion``; streaming raises
  ``RateLimitError``, ``InternalServerError`` (reset) and ``Timeout`` (hang) as above.
* ``litellm.embedding``/``aembedding`` map faults the same way, but their openai path reads
  ``max_retries or litellm.DEFAULT_MAX_RETRIES``: ``max_retries=0`` still lets the openai
  SDK retry twice (3 requests; header ``x-stainless-retry-count``). Only
  ``litellm.DEFAULT_MAX_RETRIES = 0`` stops that. ``completion`` honours ``max_retries=0``.

Faults apply to ``/v1/chat/completions`` and ``/v1/embeddings``; queues, rules and the
default reply only to chat. See :mod:`quantumlayer_nb.testing._script` for the order in
which a request is answered. Model scripting matches the model name as received: for
``model="openai/coder"`` litellm sends ``"coder"``.
"""

from __future__ import annotations

import abc
import http.client
import json
import subprocess
import sys
import tempfile
import threading
import weakref
from types import TracebackType
from typing import IO, Any

from quantumlayer_nb.testing._api import ScriptingAPI, settings_payload
from quantumlayer_nb.testing._handler import LoopbackHTTPServer
from quantumlayer_nb.testing._models import DEFAULT_REPLY, LoopbackServerError, ScriptError
from quantumlayer_nb.testing._script import Script, Settings

__all__ = ["LoopbackServer", "SpawnedLoopbackServer"]


class _Lifecycle(ScriptingAPI):
    """Context-manager support shared by both server kinds."""

    @abc.abstractmethod
    def start(self) -> _Lifecycle:
        """Start serving; returns ``self``."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop serving (a no-op when not running)."""

    def __enter__(self) -> _Lifecycle:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class LoopbackServer(_Lifecycle):
    """The loopback server, running in a background thread of this process.

    Args:
        latency_ms: Delay before every answer (a sleep in the handler thread).
        default_reply: The answer when nothing else is scripted.
        models: What ``GET /v1/models`` lists (any model name is accepted anyway).
        host: Address to bind; keep the default ``127.0.0.1``.
        port: Port to bind; ``0`` picks a free one.
        chunk_delay_ms: Delay between streamed chunks.
        hang_seconds: How long the ``hang`` fault sleeps before answering.
        retry_after_s: ``Retry-After`` seconds sent with the ``rate_limit`` fault.
        embedding_dim: Dimension of ``/v1/embeddings`` vectors.

    Example:
        >>> with LoopbackServer() as srv:  # doctest: +SKIP
        ...     srv.queue("first answer")
        ...     srv.fail("rate_limit", times=1)
    """

    def __init__(
        self,
        latency_ms: float = 0,
        default_reply: str = DEFAULT_REPLY,
        models: list[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        chunk_delay_ms: float = 0,
        hang_seconds: float = 30,
        retry_after_s: float = 1,
        embedding_dim: int = 16,
    ) -> None:
        payload = settings_payload(
            latency_ms,
            default_reply,
            models,
            chunk_delay_ms,
            hang_seconds,
            retry_after_s,
            embedding_dim,
        )
        self._script = Script(validated_settings(payload))
        self._host = host
        self._requested_port = port
        self._httpd: LoopbackHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def spawn(
        cls,
        latency_ms: float = 0,
        default_reply: str = DEFAULT_REPLY,
        models: list[str] | None = None,
        **options: Any,
    ) -> SpawnedLoopbackServer:
        """Start the server in a separate Python process and return its started handle.

        Takes the same arguments as :class:`LoopbackServer` plus ``startup_timeout``.
        """
        server = SpawnedLoopbackServer(latency_ms, default_reply, models, **options)
        return server.start()

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise LoopbackServerError("The loopback server is not running: call start() first.")
        return int(self._httpd.server_address[1])

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> LoopbackServer:
        """Bind the port and serve in a daemon thread; returns ``self``."""
        if self._httpd is not None:
            return self
        try:
            httpd = LoopbackHTTPServer((self._host, self._requested_port), self._script)
        except OSError as exc:
            raise LoopbackServerError(
                f"Could not bind the loopback server to {self._host}:{self._requested_port}: "
                f"{exc}. Use port=0 to pick a free port."
            ) from exc
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"loopback-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake sleeping handlers and close every connection."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        httpd.stopping.set()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def _control(
        self, method: str, action: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        # A JSON round trip keeps the in-thread shortcut identical to the HTTP API.
        wire_payload = json.loads(json.dumps(payload or {}))
        result: dict[str, Any] = json.loads(
            json.dumps(self._script.control(method, action, wire_payload))
        )
        return result


class SpawnedLoopbackServer(_Lifecycle):
    """The loopback server in a child process (``python -m quantumlayer_nb.testing``).

    Same arguments as :class:`LoopbackServer`, plus ``startup_timeout`` (seconds to wait
    for the child to print its address). Scripting calls go over HTTP to ``/_control``.
    """

    def __init__(
        self,
        latency_ms: float = 0,
        default_reply: str = DEFAULT_REPLY,
        models: list[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        chunk_delay_ms: float = 0,
        hang_seconds: float = 30,
        retry_after_s: float = 1,
        embedding_dim: int = 16,
        startup_timeout: float = 30,
    ) -> None:
        self._settings = settings_payload(
            latency_ms,
            default_reply,
            models,
            chunk_delay_ms,
            hang_seconds,
            retry_after_s,
            embedding_dim,
        )
        validated_settings(self._settings)  # fail here, not in the child process
        self._host = host
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        if self._port is None:
            raise LoopbackServerError("The loopback server is not running: call start() first.")
        return self._port

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def start(self) -> SpawnedLoopbackServer:
        """Launch the child process and wait until it serves; returns ``self``."""
        if self._process is not None:
            return self
        command = [
            sys.executable, "-m", "quantumlayer_nb.testing",
            "--host", self._host, "--port", str(self._requested_port),
            "--settings-json", json.dumps(self._settings), "--exit-on-stdin-eof",
        ]  # fmt: skip
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed below, once read)
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr
        )
        self._process = process
        self._finalizer = weakref.finalize(self, _terminate, process)
        line = _read_line(process.stdout, self._startup_timeout)
        try:
            ready = json.loads(line)
            self._port = int(ready["port"])
        except (ValueError, KeyError, TypeError):
            self.stop()
            stderr.seek(0)
            detail = stderr.read().decode(errors="replace").strip()[-2000:]
            raise LoopbackServerError(
                f"The loopback server process did not start within {self._startup_timeout}s "
                f"(first output line: {line!r}). Its error output:\n{detail}\n"
                "Check that quantumlayer_nb is importable by this Python interpreter."
            ) from None
        finally:
            stderr.close()
        return self

    def stop(self) -> None:
        """Terminate the child process (SIGTERM, then SIGKILL after 5 s)."""
        if self._finalizer is not None:
            self._finalizer()
        self._process = None
        self._port = None

    def __enter__(self) -> SpawnedLoopbackServer:
        return self.start()

    def _control(
        self, method: str, action: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        body = json.dumps(payload or {}).encode() if method == "POST" else None
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(
                method, f"/_control/{action}", body=body,
                headers={"Content-Type": "application/json"},
            )  # fmt: skip
            response = connection.getresponse()
            status, raw = response.status, response.read()
        except OSError as exc:
            raise LoopbackServerError(
                f"Control call {method} /_control/{action} to {self.base_url} failed: {exc}. "
                "Is the loopback server process still running?"
            ) from exc
        finally:
            connection.close()
        result: dict[str, Any] = json.loads(raw)
        if status != 200:
            message = result.get("error", {}).get("message", raw.decode(errors="replace"))
            raise ScriptError(message)
        return result


def validated_settings(payload: dict[str, Any]) -> Settings:
    """Check a ``configure`` payload the way the control API does and return the settings.

    Raises:
        ScriptError: a setting is unknown or invalid.
    """
    probe = Script(Settings())
    probe.control("POST", "configure", payload)
    return probe.settings


def _read_line(stream: IO[bytes] | None, timeout: float) -> str:
    """Read one line from ``stream`` or give up after ``timeout`` seconds."""
    if stream is None:
        return ""
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0].decode(errors="replace").strip() if lines else ""


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            stream.close()
