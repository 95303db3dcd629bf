"""The documentation site builds with MkDocs in strict mode (any warning fails), with the
generated configuration and command-line references and the notebooks rendered."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_docs_site_builds_without_warnings() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "docs" / "build_site.py")], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    site = ROOT / "build" / "site"
    assert (site / "index.html").is_file()
    assert (site / "notebooks" / "quickstart" / "index.html").is_file()
    settings = (ROOT / "build" / "docs-src" / "reference" / "settings.md").read_text()
    assert "`default_route`" in settings
    assert "`confirm_above_usd`" in settings
    cli = (ROOT / "build" / "docs-src" / "reference" / "cli.md").read_text()
    for command in ("qlayer run", "qlayer sweep", "qlayer new", "qlayer runs show",
                    "qlayer audit verify", "qlayer generate"):
        assert f"## `{command}`" in cli
