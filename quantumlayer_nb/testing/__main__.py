"""Run the loopback server as its own process.

``python -m quantumlayer_nb.testing --port 0 --latency-ms 200`` prints one JSON line,
``{"url": "http://127.0.0.1:<port>/v1", "port": <port>}``, once it serves, then serves
until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from types import FrameType

from quantumlayer_nb.testing._api import settings_payload
from quantumlayer_nb.testing._models import DEFAULT_REPLY, LoopbackServerError
from quantumlayer_nb.testing.server import LoopbackServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m quantumlayer_nb.testing",
        description="Serve a loopback OpenAI-compatible API with fault injection.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (0: a free one)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay per answer")
    parser.add_argument("--chunk-delay-ms", type=float, default=0.0, help="delay per chunk")
    parser.add_argument("--hang-seconds", type=float, default=30.0, help="sleep of 'hang'")
    parser.add_argument("--retry-after-s", type=float, default=1.0, help="'rate_limit' hint")
    parser.add_argument("--embedding-dim", type=int, default=16, help="embedding dimension")
    parser.add_argument(
        "--model", action="append", dest="models", help="a model to list (repeatable)"
    )
    parser.add_argument("--default-reply", default=DEFAULT_REPLY, help="the default answer")
    parser.add_argument(
        "--settings-json", help="all settings as one JSON object (overrides the flags)"
    )
    parser.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="stop when stdin closes (so the server dies with the process that spawned it)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Serve until a signal (or stdin EOF with ``--exit-on-stdin-eof``); return the exit code."""
    args = _parser().parse_args(argv)
    settings = settings_payload(
        args.latency_ms, args.default_reply, args.models, args.chunk_delay_ms,
        args.hang_seconds, args.retry_after_s, args.embedding_dim,
    )  # fmt: skip
    if args.settings_json:
        settings.update(json.loads(args.settings_json))
    try:
        server = LoopbackServer(host=args.host, port=args.port, **settings).start()
    except LoopbackServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.exit_on_stdin_eof:

        def wait_for_eof() -> None:
            sys.stdin.buffer.read()
            done.set()

        threading.Thread(target=wait_for_eof, daemon=True).start()
    print(json.dumps({"url": server.url, "port": server.port}), flush=True)
    while not done.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
