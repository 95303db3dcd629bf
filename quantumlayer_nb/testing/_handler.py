"""The HTTP side of the loopback server: a threading HTTP/1.1 server and its handler."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import struct
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from quantumlayer_nb.testing import _moderation, _wire
from quantumlayer_nb.testing._models import Fault, ScriptError
from quantumlayer_nb.testing._script import Plan, Script

__all__ = ["LoopbackHTTPServer"]

_JSON = "application/json"


class LoopbackHTTPServer(http.server.ThreadingHTTPServer):
    """A thread per connection, so a slow or hanging answer never blocks the others."""

    daemon_threads = True
    # The default backlog of 5 drops connections when hundreds arrive at once.
    request_queue_size = 2048

    def __init__(self, address: tuple[str, int], script: Script) -> None:
        self.script = script
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket, *, open_: bool) -> None:
        """Remember open connections so :meth:`close_connections` can end idle keep-alives."""
        with self._connections_lock:
            if open_:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def close_connections(self) -> None:
        """Shut every open connection down (wakes handler threads blocked on a read)."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "QLayerLoopback/1"
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus
    # delayed ACKs add ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    server: LoopbackHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, open_=True)

    def finish(self) -> None:
        self.server.track(self.connection, open_=False)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay silent: tests and benchmarks send thousands of requests."""

    # -- dispatch ----------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        try:
            body = self._read_json()
        except ValueError as exc:
            self._send_json(400, _error(f"Request body is not valid JSON: {exc}."))
            return
        path = urlsplit(self.path).path.rstrip("/")
        if path.startswith("/_control/"):
            self._control(method, path.removeprefix("/_control/"), body)
            return
        route = path.removeprefix("/v1")
        if (method, route) == ("GET", "/models"):
            self._record(method, path, body)
            self._send_json(200, self._models())
        elif (method, route) == ("POST", "/chat/completions"):
            self._record(method, path, body)
            self._chat(body)
        elif (method, route) == ("POST", "/embeddings"):
            self._record(method, path, body)
            self._embeddings(body)
        elif (method, route) == ("POST", "/moderations"):
            self._record(method, path, body)
            self._send_json(200, _moderation.moderation(body))
        else:
            message = (
                f"No endpoint {method} {path}. The loopback server serves POST "
                "/v1/chat/completions, POST /v1/embeddings, POST /v1/moderations, GET /v1/models "
                "and /_control/*."
            )
            self._send_json(404, _error(message, code="unknown_url"))

    def _read_json(self) -> dict[str, Any]:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raw = self._read_chunked()
        else:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not raw.strip():
            return {}
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return data

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _record(self, method: str, path: str, body: dict[str, Any]) -> None:
        model = body.get("model")
        self.server.script.record(
            {
                "path": path,
                "method": method,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "json": body,
                "model": model if isinstance(model, str) else None,
                "timestamp": time.time(),
            }
        )

    # -- endpoints ---------------------------------------------------------------------

    def _control(self, method: str, action: str, body: dict[str, Any]) -> None:
        try:
            result = self.server.script.control(method, action, body)
        except ScriptError as exc:
            self._send_json(400, _error(str(exc), code="invalid_control_call"))
            return
        self._send_json(200, result)

    def _models(self) -> dict[str, Any]:
        created = int(time.time())
        models = self.server.script.settings.models
        return {
            "object": "list",
            "data": [
                {"id": m, "object": "model", "created": created, "owned_by": "loopback"}
                for m in models
            ],
        }

    def _chat(self, body: dict[str, Any]) -> None:
        model = body.get("model")
        plan = self.server.script.answer(
            model if isinstance(model, str) else None,
            _wire.last_user_message(body),
            chat=True,
        )
        if not self._before_answer(body, plan):
            return
        if body.get("stream"):
            self._stream(body, plan)
        elif plan.fault is Fault.MALFORMED_JSON:
            self._send_bytes(200, b'{"id": "chatcmpl-broken", "choices": [{"index": 0, ', _JSON)
        else:
            self._send_json(200, _wire.chat_completion(body, plan))

    def _embeddings(self, body: dict[str, Any]) -> None:
        model = body.get("model")
        plan = self.server.script.answer(model if isinstance(model, str) else None, "", chat=False)
        if not self._before_answer(body, plan):
            return
        if plan.fault is Fault.MALFORMED_JSON:
            self._send_bytes(200, b'{"object": "list", "data": [', _JSON)
            return
        self._send_json(200, _wire.embeddings(body, self.server.script.settings.embedding_dim))

    def _before_answer(self, body: dict[str, Any], plan: Plan) -> bool:
        """Apply latency and faults; return False when the request is already answered."""
        if plan.fault is Fault.CONNECTION_RESET:
            self._reset_connection()
            return False
        delay = plan.latency_s + (plan.hang_s if plan.fault is Fault.HANG else 0.0)
        if delay > 0 and self.server.stopping.wait(delay):
            self.close_connection = True
            return False
        if _wire.is_error_fault(plan.fault):
            assert plan.fault is not None
            status, error = _wire.error_body(plan.fault, body, plan)
            headers = {}
            if plan.fault is Fault.RATE_LIMIT:
                headers["Retry-After"] = f"{plan.retry_after_s:g}"
                headers["retry-after-ms"] = f"{plan.retry_after_s * 1000:.0f}"
            self._send_json(status, error, headers)
            return False
        return True

    def _stream(self, body: dict[str, Any], plan: Plan) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if plan.fault is Fault.MALFORMED_JSON:
            events = [b'data: {"id": "chatcmpl-broken", "choices": [\n\n', b"data: [DONE]\n\n"]
        else:
            events = _wire.stream_events(body, plan)
        try:
            for index, event in enumerate(events):
                if index and plan.chunk_delay_s and self.server.stopping.wait(plan.chunk_delay_s):
                    self.close_connection = True
                    return
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client went away mid-stream
            self.close_connection = True

    # -- low level ---------------------------------------------------------------------

    def _reset_connection(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.rfile.close()
        self.connection.close()

    def _send_json(
        self, status: int, obj: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self._send_bytes(status, json.dumps(obj).encode(), _JSON, headers)

    def _send_bytes(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (e.g. after a hang); nothing to answer
            self.close_connection = True


def _error(message: str, *, code: str | None = None) -> dict[str, Any]:
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    }
