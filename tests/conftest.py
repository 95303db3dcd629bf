"""Shared fixtures: an isolated project folder wired to the loopback server."""

from __future__ import annotations

import asyncio
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from quantumlayer_nb.config import reset_configuration
from quantumlayer_nb.testing import LoopbackServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

PROVIDER_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_API_BASE",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "AZURE_API_KEY",
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh project folder as the working directory, with no provider keys set."""
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("QLAYER_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    reset_configuration()
    yield tmp_path
    reset_configuration()


@pytest.fixture
def loop_project(project: Path, loopback_server: LoopbackServer) -> Path:
    """A project whose qlayer.toml points the deployment 'loop' at the loopback server.

    'loop' is gpt-4o-mini, so litellm's cost map prices it; 'local' is an unknown model.
    """
    (project / "qlayer.toml").write_text(
        'project = "test"\nuser = "tester"\ndefault_route = "loop"\n'
        '[aliases]\nfast = "loop"\n'
        f'[deployments.loop]\nmodel = "openai/gpt-4o-mini"\napi_base = "{loopback_server.url}"\n'
        '[deployments.local]\nmodel = "openai/my-local-model"\n'
        f'api_base = "{loopback_server.url}"\n'
    )
    return project


@pytest.fixture
def event_loop_for_dask() -> Iterator[None]:
    """A current event loop in the main thread, as a plain process has, for dask's LocalCluster.

    An async test before this one (pytest-asyncio, pytest-jupyter) may leave the main thread
    with no current loop; dask's synchronous cluster start-up asks for one.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield
    asyncio.set_event_loop(asyncio.new_event_loop())  # not None: later tests ask for one too
    loop.close()


@pytest.fixture(autouse=True)
def _current_event_loop_for_jupyter_server(request: pytest.FixtureRequest) -> None:
    """pytest-jupyter's server fixtures run on jupyter_core's cached loop, while tornado
    makes each request's future on the thread's current loop. An earlier async test or Dask
    cluster may have left those two different (or closed): make them one loop."""
    if "jp_fetch" not in request.fixturenames and "jp_serverapp" not in request.fixturenames:
        return
    from jupyter_core.utils import ensure_event_loop

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.set_event_loop(ensure_event_loop(prefer_selector_loop=True))
