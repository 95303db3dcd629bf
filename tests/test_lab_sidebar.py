"""The JupyterLab sidebar in real Chromium: it follows and cancels a batch that another process
started, generated cells carry their provenance and badge, and a failing endpoint shows a banner.

Needs Debian's ``chromium`` (``apt-get install chromium``), Playwright for Python (its own
browser download is not used) and the lab extension built (``./dev setup``). Without them the
tests skip and say why; with ``CI`` set they fail instead.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from quantumlayer_nb.testing import LoopbackServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LABEXT = "quantumlayer-nb-labextension"
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "docs" / "img"
BATCH = 40
LATENCY_MS = 300

pytestmark = pytest.mark.slow


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _require_browser_and_extension() -> None:
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append("Chromium is not installed: apt-get install chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("Playwright is not installed: pip install playwright")
    if not _labextension_installed():
        missing.append(f"the {LABEXT} lab extension is not built/installed: run ./dev setup")
    if missing:
        _unavailable("; ".join(missing))


def _labextension_installed() -> bool:
    from jupyter_core.paths import jupyter_path

    return any((Path(p) / "labextensions" / LABEXT / "package.json").is_file()
               for p in jupyter_path())


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


@dataclass
class Lab:
    base: str
    token: str
    root: Path
    env: dict[str, str]

    def url(self, path: str = "lab") -> str:
        """A page URL that starts from an empty workspace (the tests share one server)."""
        return f"{self.base}/{path}?reset&token={self.token}"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on loopback, with the server extension, in a project wired to a loopback
    model server that answers each call after LATENCY_MS (one for the module's tests)."""
    _require_browser_and_extension()
    tmp_path = tmp_path_factory.mktemp("lab")
    server = LoopbackServer.spawn(latency_ms=LATENCY_MS)
    (tmp_path / "qlayer.toml").write_text(
        'project = "lab"\nuser = "tester"\ndefault_route = "loop"\n'
        f'[deployments.loop]\nmodel = "openai/gpt-4o-mini"\napi_base = "{server.url}"\n'
    )
    (tmp_path / "work.ipynb").write_text(json.dumps(_notebook(
        ["%load_ext quantumlayer_nb", "%%qlayer\nprint hello"])))
    settings = tmp_path / ".settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    config = tmp_path / ".cfg"
    (config / "jupyter_server_config.d").mkdir(parents=True)
    (config / "jupyter_server_config.d" / "quantumlayer_nb.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"quantumlayer_nb": True}}}))
    token, port = secrets.token_hex(16), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QLAYER_")}
    env.update({"OPENAI_API_KEY": "sk-loopback", "JUPYTER_RUNTIME_DIR": str(tmp_path / ".rt"),
                "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / ".ws"),
                "JUPYTER_CONFIG_DIR": str(config), "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / ".settings")})
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
        yield Lab(base, token, tmp_path, env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        server.stop()
        shutil.rmtree(tmp_path / ".rt", ignore_errors=True)


@pytest.fixture
def page(lab: Lab, tmp_path: Path) -> Iterator[Any]:
    """A page in a fresh Chromium profile."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS,
            headless=True, viewport={"width": 1400, "height": 900})
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def _open_sidebar(page: Any) -> Any:
    tab = page.locator(".jp-SideBar [data-id='quantumlayer-nb-sidebar']")
    tab.wait_for(timeout=60_000)
    panel = page.locator("#quantumlayer-nb-sidebar")
    if not panel.is_visible():
        tab.click()
    panel.wait_for(state="visible", timeout=10_000)
    return panel


def _spend_today(page: Any) -> float:
    value = page.locator(".qlayer-spend-today").get_attribute("data-value")
    return float(value or 0)


def _start_batch(lab: Lab, n: int) -> subprocess.Popen[bytes]:
    """A batch in another process, as a script or a papermill run would start it."""
    script = (
        "import quantumlayer_nb as qlayer\n"
        f"qlayer.generate_many([f'print the number {{i}} twice' for i in range({n})],"
        " concurrency=1)\n"
    )
    return subprocess.Popen([sys.executable, "-c", script], cwd=lab.root, env=lab.env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


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


def test_sidebar_follows_and_cancels_a_batch_started_elsewhere(lab: Lab, page: Any) -> None:
    page.goto(lab.url())
    panel = _open_sidebar(page)
    panel.locator(".qlayer-spend-today").wait_for(timeout=30_000)
    spend_before = _spend_today(page)
    status = page.locator(".qlayer-status")
    assert "today" in status.inner_text()

    batch = _start_batch(lab, BATCH)
    try:
        job = panel.locator(".qlayer-job[data-status='running']").first
        job.wait_for(timeout=60_000)
        job_id = job.get_attribute("data-job-id")
        assert job.get_attribute("data-total") == str(BATCH)
        seen: set[int] = set()
        moving: set[int] = set()
        deadline = time.monotonic() + 120  # the batch's first call pays litellm's import
        while len(moving) < 2 and time.monotonic() < deadline:
            seen.add(int(job.get_attribute("data-done") or 0))
            moving = {done for done in seen if 0 < done < BATCH}
            time.sleep(0.2)
        assert len(moving) >= 2, f"the progress bar did not move: {sorted(seen)}"
        width = job.locator(".qlayer-progress-fill").evaluate("el => el.style.width")
        assert width not in ("", "0%", "0.0%")
        page.wait_for_function(
            f"() => Number(document.querySelector('.qlayer-spend-today')"
            f".dataset.value) > {spend_before}", timeout=15_000)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "sidebar.png"))

        job.locator(".qlayer-job-cancel").click()
        stopped = panel.locator(f".qlayer-job[data-job-id='{job_id}'][data-status='cancelled']")
        stopped.wait_for(timeout=15_000)
        assert batch.wait(timeout=15) is not None
        done = int(stopped.get_attribute("data-done") or 0)
        assert done < BATCH, "the batch ran to the end although it was cancelled"
        time.sleep(2)
        assert int(stopped.get_attribute("data-done") or 0) == done, "calls went on after cancel"
    finally:
        if batch.poll() is None:
            batch.kill()
            batch.wait()


def test_status_bar_item_opens_the_sidebar(lab: Lab, page: Any) -> None:
    page.goto(lab.url())
    status = page.locator(".qlayer-status")
    status.wait_for(timeout=60_000)
    panel = page.locator("#quantumlayer-nb-sidebar")
    if panel.is_visible():
        page.locator(".jp-SideBar [data-id='quantumlayer-nb-sidebar']").click()
        panel.wait_for(state="hidden")
    page.wait_for_function(
        "() => document.querySelector('.qlayer-status').textContent.includes('today')",
        timeout=30_000)
    status.click()
    panel.wait_for(state="visible", timeout=10_000)


def test_sidebar_polls_fast_only_while_it_shows(lab: Lab, page: Any) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/qlayer/api/" in r.url else None)
    page.goto(lab.url())
    panel = _open_sidebar(page)
    panel.locator(".qlayer-spend-today").wait_for(timeout=30_000)
    # (page.wait_for_timeout, not time.sleep: request events arrive while Playwright waits)
    requests.clear()
    page.wait_for_timeout(3000)
    shown = len(requests)
    page.locator(".jp-SideBar [data-id='quantumlayer-nb-sidebar']").click()
    panel.wait_for(state="hidden")
    page.wait_for_timeout(1500)
    requests.clear()
    page.wait_for_timeout(3000)
    hidden = len(requests)
    assert shown >= 6, f"only {shown} requests in 3 s while the panel showed"
    assert hidden <= 1, f"{hidden} requests in 3 s with only the status bar showing"


def test_generated_cell_carries_badge_and_metadata(lab: Lab, page: Any) -> None:
    page.goto(lab.url("lab/tree/work.ipynb"))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=60_000)
    _run_cell_to_end(page, "%load_ext")
    page.wait_for_timeout(1000)  # the frontend's answer to the kernel's comm reaches the kernel
    _run_cell(page, "%%qlayer")

    generated = page.locator(".jp-Notebook .jp-Cell.qlayer-generated")
    generated.first.wait_for(timeout=60_000)
    badge = generated.first.locator(".qlayer-cell-badge")
    title = badge.get_attribute("title") or ""
    assert "gpt-4o-mini" in title
    assert "$" in title
    call_id = badge.get_attribute("data-call-id")
    assert call_id
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "generated-cell.png"))

    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 20
    cells: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        cells = [c for c in json.loads((lab.root / "work.ipynb").read_text())["cells"]
                 if "quantumlayer" in c.get("metadata", {})]
        if cells:
            break
        time.sleep(0.3)
    assert len(cells) == 1, "the saved notebook should hold exactly one generated cell"
    meta = cells[0]["metadata"]["quantumlayer"]
    assert meta["call_id"] == call_id
    assert {"model", "prompt_hash", "tokens", "cost_usd", "created"} <= set(meta)
    source = "".join(cells[0]["source"])
    assert "# qlayer: call" not in source, "the cell was also inserted by set_next_input"

    badge.click()
    opened = page.locator(f"#quantumlayer-nb-sidebar .qlayer-call.qlayer-mod-open"
                          f"[data-call-id='{call_id}']")
    opened.wait_for(timeout=15_000)
    assert "Route trace" in opened.inner_text()
    assert "work.ipynb" in opened.inner_text()
    go = opened.locator(".qlayer-goto-cell")
    assert go.count() == 1, "no 'Go to cell' although the call's notebook is open"
    go.click()


def test_failing_endpoint_shows_a_banner_and_recovers(lab: Lab, page: Any) -> None:
    page.goto(lab.url())
    panel = _open_sidebar(page)
    panel.locator(".qlayer-spend-today").wait_for(timeout=30_000)
    banner = panel.locator(".qlayer-banner")
    assert not banner.is_visible()

    message = "the ledger folder cannot be read"

    def fail(route: Any) -> None:
        route.fulfill(status=500, content_type="application/json",
                      body=json.dumps({"error": message}))

    page.route("**/qlayer/api/summary*", fail)
    banner.wait_for(state="visible", timeout=15_000)
    assert message in banner.inner_text()
    assert "retrying" in banner.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    panel.screenshot(path=str(SHOTS / "sidebar-banner.png"))

    page.unroute("**/qlayer/api/summary*")
    banner.locator(".qlayer-banner-retry").click()
    banner.wait_for(state="hidden", timeout=15_000)


def _run_cell_to_end(page: Any, marker: str) -> None:
    """Run the cell holding ``marker`` and wait until it finished (its prompt shows a number)."""
    _run_cell(page, marker)
    prompt = page.locator(".jp-Notebook .jp-CodeCell", has_text=marker).first.locator(
        ".jp-InputPrompt")
    deadline = time.monotonic() + 120
    while not re.fullmatch(r"\[\d+\]:", prompt.inner_text().strip()):
        assert time.monotonic() < deadline, f"the cell with {marker!r} did not finish"
        page.wait_for_timeout(100)


def _wait_idle(page: Any) -> None:
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(
        timeout=60_000)


def test_fix_shows_a_diff_and_accept_replaces_the_failing_cell(lab: Lab, page: Any) -> None:
    (lab.root / "fix.ipynb").write_text(json.dumps(_notebook(
        ["%load_ext quantumlayer_nb", "value = 1 / 0", "%qlayer fix"])))
    page.goto(lab.url("lab/tree/fix.ipynb"))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    _wait_idle(page)
    _run_cell_to_end(page, "%load_ext")
    page.wait_for_timeout(1000)  # the frontend's answer to the kernel's comm reaches the kernel
    _run_cell_to_end(page, "value = 1 / 0")
    _run_cell(page, "%qlayer fix")

    diff = page.locator(".qlayer-diff")
    try:
        diff.wait_for(timeout=120_000)
    except Exception:
        page.screenshot(path=str(lab.root / "fix-failed.png"))
        print("screenshot:", lab.root / "fix-failed.png")
        raise
    assert page.locator(".qlayer-diff-del", has_text="value = 1 / 0").count() == 1
    assert page.locator(".qlayer-diff-add").count() >= 1
    failing = page.locator(".jp-Notebook .jp-CodeCell").nth(1)
    assert "1 / 0" in failing.locator(".cm-content").inner_text(), "replaced before Accept"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "fix-diff.png"))

    page.locator(".qlayer-diff-accept").click()
    page.locator(".jp-Notebook .jp-CodeCell").nth(1).and_(
        page.locator(".qlayer-generated")).wait_for(timeout=15_000)
    assert "1 / 0" not in failing.locator(".cm-content").inner_text()
    assert page.locator(".qlayer-cell-note-text", has_text="fix accepted").count() == 1

    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 20
    saved: dict[str, Any] = {}
    while time.monotonic() < deadline:
        saved = json.loads((lab.root / "fix.ipynb").read_text())["cells"][1]
        if "quantumlayer" in saved.get("metadata", {}):
            break
        time.sleep(0.3)
    assert "call_id" in saved["metadata"]["quantumlayer"]
    assert "1 / 0" not in "".join(saved["source"])


def test_sidebar_follows_the_dark_theme(lab: Lab, page: Any) -> None:
    def colours() -> tuple[str, str]:
        panel = _open_sidebar(page)
        panel.locator(".qlayer-spend-today").wait_for(timeout=30_000)
        result: tuple[str, str] = tuple(panel.evaluate(  # type: ignore[assignment]
            "el => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color]"))
        return result

    page.goto(lab.url())
    light = colours()
    themes = lab.root / ".settings" / "@jupyterlab" / "apputils-extension"
    setting = themes / "themes.jupyterlab-settings"
    setting.write_text('{"theme": "JupyterLab Dark"}')
    try:
        page.goto(lab.url())
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'",
                               timeout=30_000)
        dark = colours()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("#quantumlayer-nb-sidebar").screenshot(path=str(SHOTS / "sidebar-dark.png"))
    finally:
        setting.unlink()
    assert dark[0] != light[0], "the panel's background does not follow the theme"
    assert dark[1] != light[1], "the panel's text colour does not follow the theme"
