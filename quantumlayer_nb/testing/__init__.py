"""Testing tools: a loopback OpenAI-compatible server with fault injection.

``LoopbackServer`` answers ``/v1/chat/completions`` (plain and streamed),
``/v1/embeddings``, ``/v1/moderations`` (flags an input holding ``flag:<category>``) and
``/v1/models`` on 127.0.0.1, scripted through Python methods or the
``/_control/...`` JSON API. The pytest plugin provides the ``loopback_server`` and
``loopback_server_session`` fixtures.
"""

from __future__ import annotations

from quantumlayer_nb.testing._models import (
    DEFAULT_REPLY,
    Fault,
    LoopbackServerError,
    Reply,
    ScriptError,
)
from quantumlayer_nb.testing.server import LoopbackServer, SpawnedLoopbackServer

__all__ = [
    "DEFAULT_REPLY",
    "Fault",
    "LoopbackServer",
    "LoopbackServerError",
    "Reply",
    "ScriptError",
    "SpawnedLoopbackServer",
]
