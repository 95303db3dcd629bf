"""Helpers shared by the server extension's tests: events, projects, a real server process."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tornado.httpclient import HTTPClientError

from quantumlayer_nb.ledger import Ledger

REPO = Path(__file__).resolve().parent.parent
SERVER_CONFIG = {"ServerApp": {"jpserver_extensions": {"quantumlayer_nb": True}}}


def call_event(n: int = 0, **fields: Any) -> dict[str, Any]:
    """A successful call event as the pipeline writes it."""
    event: dict[str, Any] = {
        "kind": "call", "project": "test", "user": "tester", "call_id": f"call-{n:06d}",
        "attempt": 0, "deployment": "loop", "model_requested": "loop",
        "model_served": "gpt-4o-mini", "tokens_in": 100, "tokens_out": 20,
        "cost_usd": 0.001, "latency_ms": 100.0 + n, "outcome": "ok",
        "data": {"format": "code", "metadata": {}, "reason": "requested"},
    }
    event.update(fields)
    return event


def at(minutes_ago: float) -> str:
    """An ISO timestamp ``minutes_ago`` minutes before now (UTC)."""
    moment = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    return moment.isoformat(timespec="microseconds")


def write_events(data_dir: Path, events: list[dict[str, Any]]) -> None:
    """Append events through a ledger of their own (a segment of their own)."""
    ledger = Ledger(data_dir)
    try:
        for event in events:  # as the pipeline writes them: fields it adds are not refused
            ledger.append_trusted(event)
    finally:
        ledger.close()


class Api:
    """Requests to the test server, run on its event loop (the tests themselves are sync)."""

    def __init__(self, jp_fetch: Any, loop: Any) -> None:
        self.jp_fetch, self.loop = jp_fetch, loop

    def status(self, endpoint: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        async def fetch() -> Any:  # made while the loop runs: its future is on that loop
            return await self.jp_fetch("qlayer", "api", endpoint, **kwargs)

        try:
            response = self.loop.run_until_complete(fetch())
        except HTTPClientError as err:
            assert err.response is not None
            return err.code, json.loads(err.response.body or b"{}")
        return response.code, json.loads(response.body)

    def get(self, endpoint: str, **params: Any) -> dict[str, Any]:
        code, body = self.status(endpoint, params=params)
        assert code == 200, body
        return body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RunningServer:
    """A Jupyter server process with the extension enabled, on loopback."""

    def __init__(self, root: Path, port: int, token: str, process: subprocess.Popen[bytes]):
        self.root, self.port, self.token, self.process = root, port, token, process
        self.url = f"http://127.0.0.1:{port}"

    def request(self, path: str, method: str = "GET", token: bool = True
                ) -> tuple[int, dict[str, Any]]:
        """One request; returns (status, JSON body)."""
        headers = {"Authorization": f"token {self.token}"} if token else {}
        data = b"" if method == "POST" else None
        req = urllib.request.Request(self.url + path, method=method, headers=headers, data=data)
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as err:
            body = err.read()
            try:
                return err.code, json.loads(body or b"{}")
            except ValueError:
                return err.code, {"raw": body.decode("utf-8", "replace")}


@contextmanager
def jupyter_server(root: Path, env: dict[str, str] | None = None) -> Iterator[RunningServer]:
    """Start ``jupyter server`` with the extension on a free loopback port; stop it after."""
    port, token = free_port(), secrets.token_hex(16)
    config_dir = root / ".jupyter-config"
    config_dir.mkdir(exist_ok=True)
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(SERVER_CONFIG))
    environ = {**os.environ, "JUPYTER_CONFIG_DIR": str(config_dir),
               "LITELLM_LOCAL_MODEL_COST_MAP": "True", **(env or {})}
    # The server's log goes to a file: a pipe nobody reads fills up with the warnings of
    # many 400s (fuzzing sends hundreds) and then blocks the server's event loop.
    log = (root / ".jupyter-server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", f"--port={port}", "--ip=127.0.0.1",
         "--no-browser", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--ServerApp.port_retries=0", "--allow-root", "--log-level=WARN"],
        cwd=root, env=environ, stdout=subprocess.DEVNULL, stderr=log)
    server = RunningServer(root, port, token, process)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError("jupyter server exited: "
                                   + (root / ".jupyter-server.log").read_text())
            try:
                status, _ = server.request("/qlayer/api/openapi.json")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("jupyter server did not answer within 60 s")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
