"""A second OpenAI-compatible loopback server, on a different HTTP stack: aiohttp.

:class:`~quantumlayer_nb.testing.LoopbackServer` is built on the standard library's
``http.server`` (a thread per connection). This one is an ``aiohttp.web`` application (one
asyncio event loop, aiohttp's HTTP/1.1 parser, keep-alive), so a figure measured against
both does not depend on one server's quirks. It answers ``POST /v1/chat/completions``
(plain, with ``usage``; streamed with a final usage chunk) and ``GET /v1/models``, after
``latency_ms``, with a fixed reply; it has no scripting or fault injection.

Run it as its own process (it prints ``{"url": ..., "port": ...}`` once it serves)::

    python -m quantumlayer_nb.testing.aioserver --port 0 --latency-ms 200

or from Python: ``with AiohttpLoopbackServer(latency_ms=200) as server: server.url``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from types import TracebackType
from typing import Any

from quantumlayer_nb.testing._models import DEFAULT_REPLY, LoopbackServerError

__all__ = ["AiohttpLoopbackServer", "main"]


def _completion(model: str, reply: str, prompt_tokens: int) -> dict[str, Any]:
    completion_tokens = max(1, len(reply) // 4)
    return {
        "id": f"chatcmpl-aio{time.monotonic_ns()}", "object": "chat.completion",
        "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": reply}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def _app(latency_s: float, reply: str) -> Any:
    from aiohttp import web

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        model = str(body.get("model", "loopback"))
        prompt_tokens = max(1, sum(len(str(m.get("content", ""))) for m in
                                   body.get("messages", [])) // 4)
        if latency_s:
            await asyncio.sleep(latency_s)
        answer = _completion(model, reply, prompt_tokens)
        if not body.get("stream"):
            return web.json_response(answer)
        stream = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await stream.prepare(request)
        base = {"id": answer["id"], "object": "chat.completion.chunk",
                "created": answer["created"], "model": model}
        pieces = [{"index": 0, "delta": {"role": "assistant", "content": reply},
                   "finish_reason": None},
                  {"index": 0, "delta": {}, "finish_reason": "stop"}]
        for piece in pieces:
            await stream.write(f"data: {json.dumps({**base, 'choices': [piece]})}\n\n".encode())
        usage = {**base, "choices": [], "usage": answer["usage"]}
        await stream.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
        await stream.write_eof()
        return stream

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [
            {"id": "loopback", "object": "model", "owned_by": "loopback"}]})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/chat/completions", chat)
    app.router.add_get("/v1/models", models)
    return app


def main(argv: list[str] | None = None) -> int:
    """Serve until stdin closes or a signal; print the address as one JSON line first."""
    parser = argparse.ArgumentParser(prog="python -m quantumlayer_nb.testing.aioserver")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--reply", default=DEFAULT_REPLY)
    args = parser.parse_args(argv)

    from aiohttp import web

    async def serve() -> None:
        runner = web.AppRunner(_app(args.latency_ms / 1000.0, args.reply),
                               access_log=None, handle_signals=True)
        await runner.setup()
        site = web.TCPSite(runner, args.host, args.port, backlog=2048)
        await site.start()
        port = runner.addresses[0][1]
        print(json.dumps({"url": f"http://{args.host}:{port}/v1", "port": port}), flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.buffer.read)  # until the parent goes
        await runner.cleanup()

    asyncio.run(serve())
    return 0


class AiohttpLoopbackServer:
    """The aiohttp loopback server in a child process; a context manager.

    Args:
        latency_ms: delay before every answer (an ``asyncio.sleep``).
        reply: the assistant's answer.
    """

    def __init__(self, latency_ms: float = 0.0, reply: str = DEFAULT_REPLY) -> None:
        self.latency_ms, self.reply = latency_ms, reply
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The ``api_base`` to give litellm."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> AiohttpLoopbackServer:
        """Start the child process and wait until it serves."""
        command = [sys.executable, "-m", "quantumlayer_nb.testing.aioserver",
                   "--latency-ms", str(self.latency_ms), "--reply", self.reply]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE)
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        try:
            self.port = int(json.loads(line)["port"])
        except (ValueError, KeyError, TypeError):
            self.stop()
            raise LoopbackServerError(
                f"The aiohttp loopback server did not start (its first line: {line!r}); "
                "check that aiohttp is installed.") from None
        return self

    def stop(self) -> None:
        """Stop the child process."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> AiohttpLoopbackServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


if __name__ == "__main__":
    sys.exit(main())
