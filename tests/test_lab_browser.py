"""JupyterLab in real Chromium: a %%qlayer cell inserts code (through the lab extension) and
shows its footer, and a batch's progress widget moves while the cell runs.

Needs Debian's ``chromium`` (``apt-get install chromium``) and Playwright for Python
(``pip install playwright``; its own browser download is not used). In CI a missing browser
fails the test.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quantumlayer_nb.testing import LoopbackServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
BATCH = 8

BATCH_CELL = f"""import quantumlayer_nb as qlayer
from IPython.display import display
from quantumlayer_nb.jupyter.widgets import ProgressWidget

bar = ProgressWidget(total={BATCH}, description="batch")
display(bar)
results = qlayer.generate_many(
    [f"print the number {{i}}" for i in range({BATCH})], concurrency=2, on_progress=bar
)
bar.finish()
"""


def _require_browser() -> None:
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append("Chromium is not installed: apt-get install chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("Playwright is not installed: pip install playwright")
    if missing:
        if os.environ.get("CI"):
            pytest.fail("; ".join(missing))
        pytest.skip("; ".join(missing))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _notebook(cells: list[str]) -> dict[str, Any]:
    return {
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {},
                   "outputs": [], "source": source} for i, source in enumerate(cells)],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[str]:
    """JupyterLab on loopback in a project wired to a spawned loopback server; its URL."""
    _require_browser()
    server = LoopbackServer.spawn(latency_ms=250)
    (tmp_path / "qlayer.toml").write_text(
        'project = "lab"\nuser = "tester"\ndefault_route = "loop"\n'
        f'[deployments.loop]\nmodel = "openai/gpt-4o-mini"\napi_base = "{server.url}"\n'
    )
    (tmp_path / "work.ipynb").write_text(json.dumps(_notebook(
        ["%load_ext quantumlayer_nb", "%%qlayer\nprint hello", BATCH_CELL])))
    token, port = secrets.token_hex(16), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QLAYER_")}
    env.update({"OPENAI_API_KEY": "sk-loopback", "JUPYTER_RUNTIME_DIR": str(tmp_path / ".rt"),
                "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / ".ws"),
                "JUPYTER_CONFIG_DIR": str(tmp_path / ".cfg")})
    log = (tmp_path / "lab.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.token={token}",
         f"--port={port}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={tmp_path}",
         "--allow-root"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("JupyterLab did not start:\n"
                                       + (tmp_path / "lab.log").read_text()[-3000:]) from None
                time.sleep(0.3)
        yield f"{base}/lab/tree/work.ipynb?token={token}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        server.stop()
        shutil.rmtree(tmp_path / ".rt", ignore_errors=True)


def _run_cell(page: Any, marker: str) -> None:
    """Run the cell whose source holds ``marker`` (Ctrl+Enter in its editor), once it runs."""
    cell = page.locator(".jp-Notebook .jp-CodeCell", has_text=marker).first
    prompt = cell.locator(".jp-InputPrompt")
    for _ in range(10):
        dialog = page.locator(".jp-Dialog")
        if dialog.count():
            text = dialog.first.inner_text()
            if "Select Kernel" not in text:
                raise AssertionError(f"a dialog is in the way: {text!r}")
            # Under load JupyterLab may ask for the kernel before its specs arrive; the
            # preselected choice is the notebook's own kernel.
            dialog.first.locator(".jp-mod-accept").click()
            dialog.first.wait_for(state="detached", timeout=10_000)
        cell.locator(".cm-content").click()
        page.keyboard.press("Control+Enter")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if prompt.inner_text().strip() not in ("[ ]:", ""):
                return
            time.sleep(0.1)
    raise AssertionError(f"the cell with {marker!r} did not start")


def test_lab_inserts_generated_cell_and_progress_widget_moves(lab: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(lab)
            page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
            page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(
                timeout=60_000)
            # %load_ext asks the lab extension to answer on a comm; a cell sent before that
            # answer reaches the kernel inserts its code through set_next_input instead.
            _run_cell(page, "%load_ext")
            loaded = page.locator(".jp-Notebook .jp-CodeCell", has_text="%load_ext").first
            deadline = time.monotonic() + 120
            while not re.fullmatch(r"\[\d+\]:", loaded.locator(".jp-InputPrompt").inner_text()
                                   .strip()):
                assert time.monotonic() < deadline, "%load_ext did not finish"
                page.wait_for_timeout(100)
            for marker in ("%%qlayer", "ProgressWidget(total"):
                _run_cell(page, marker)

            footer = page.locator(".qlayer-footer").first
            footer.wait_for(timeout=60_000)
            assert "gpt-4o-mini" in footer.inner_text()
            assert "tok" in footer.inner_text()
            # The lab extension inserts the generated cell (with its provenance in the cell
            # metadata, and a badge) instead of the kernel's set_next_input.
            inserted = page.locator(".jp-Cell.qlayer-generated .cm-content")
            inserted.first.wait_for(timeout=60_000)
            assert "def solution" in inserted.first.inner_text()
            assert "# qlayer: call" not in inserted.first.inner_text()

            widget = page.locator(".qlayer-progress")
            widget.wait_for(timeout=60_000)
            seen: set[str] = set()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                status = widget.get_attribute("data-status")
                done = widget.get_attribute("data-done")
                if status == "running" and done is not None:
                    seen.add(done)
                if status == "done":
                    break
                time.sleep(0.05)
            assert widget.get_attribute("data-status") == "done"
            assert widget.get_attribute("data-done") == str(BATCH)
            moving = {value for value in seen if 0 < int(value) < BATCH}
            assert len(moving) >= 2, f"the widget did not move while the cell ran: {seen}"
        finally:
            browser.close()
