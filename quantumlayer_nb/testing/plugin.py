"""pytest plugin (entry point ``quantumlayer_nb``): loopback server fixtures.

* ``loopback_server``: a fresh in-thread :class:`LoopbackServer` per test, stopped after it.
* ``loopback_server_session``: one server for the whole session; call ``reset()`` yourself
  where a test needs a clean script.

Importing this module stays light: the server loads on first use of a fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from quantumlayer_nb.testing.server import LoopbackServer

__all__ = ["loopback_server", "loopback_server_session"]


@pytest.fixture
def loopback_server() -> Iterator[LoopbackServer]:
    """A fresh loopback server on a free port of 127.0.0.1, stopped after the test."""
    from quantumlayer_nb.testing.server import LoopbackServer

    with LoopbackServer() as server:
        yield server


@pytest.fixture(scope="session")
def loopback_server_session() -> Iterator[LoopbackServer]:
    """One loopback server shared by the session (``reset()`` it where needed)."""
    from quantumlayer_nb.testing.server import LoopbackServer

    with LoopbackServer() as server:
        yield server
