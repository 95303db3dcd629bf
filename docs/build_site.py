"""Build the documentation site (MkDocs, strict: any warning fails the build).

Copies docs/ and notebooks/ into build/docs-src, writes the generated reference pages (the
configuration from the ``Settings`` schema, the command line from the typer app), then runs
``mkdocs build --strict``. Usage: ``python docs/build_site.py`` from the project folder.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "build" / "docs-src"


def _type_name(schema: dict[str, Any]) -> str:
    if "anyOf" in schema:
        return " or ".join(_type_name(s) for s in schema["anyOf"])
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"list of {_type_name(schema.get('items', {}))}"
    if schema.get("type") == "object":
        extra = schema.get("additionalProperties")
        return f"table of {_type_name(extra)}" if isinstance(extra, dict) else "table"
    if "enum" in schema:
        return " | ".join(repr(v) for v in schema["enum"])
    return str(schema.get("type", "any"))


def _model_table(title: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"## {title}", "", schema.get("description", "").strip(), "",
             "| key | type | default | what it is |", "|---|---|---|---|"]
    for name, spec in schema.get("properties", {}).items():
        if name in ("project_root", "config_files"):
            continue
        default = spec.get("default", "—")
        text = " ".join(str(spec.get("description", "")).split()).replace("|", "\\|")
        lines.append(f"| `{name}` | {_type_name(spec).replace('|', '/')} | "
                     f"`{default}` | {text} |")
    return [*lines, ""]


def settings_reference() -> str:
    """Every configuration key, from the ``Settings`` pydantic schema."""
    from quantumlayer_nb.config import Settings

    schema = Settings.model_json_schema()
    parts = ["# Configuration reference", "",
             "Generated from the `Settings` schema. Keys go in `qlayer.toml` (or "
             "`[tool.qlayer]` in `pyproject.toml`) or `QLAYER_*` variables; see the "
             "[configuration guide](../configuration.md).", ""]
    parts += _model_table("Top-level keys", schema)
    for name, sub in sorted(schema.get("$defs", {}).items()):
        if sub.get("type") == "object" and sub.get("properties"):
            parts += _model_table(f"`{name}`", sub)
    return "\n".join(parts)


def cli_reference() -> str:
    """Every command of ``qlayer`` with its help, from the typer app."""
    from typer.main import get_command
    from typer.testing import CliRunner

    from quantumlayer_nb import cli

    cli._register_optional_commands()
    runner = CliRunner()
    parts = ["# Command-line reference", "", "Generated from the `qlayer` command's own help.",
             ""]

    def walk(cmd: Any, path: list[str]) -> None:
        shown = runner.invoke(cli.app, [*path, "--help"], prog_name="qlayer",
                              env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"})
        text = "\n".join(line.rstrip() for line in shown.output.splitlines())
        parts.extend([f"## `{' '.join(['qlayer', *path])}`", "", "```text", text.strip(),
                      "```", ""])
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            walk(sub, [*path, name])

    walk(get_command(cli.app), [])
    return "\n".join(parts)


def main() -> int:
    if SOURCE.exists():
        shutil.rmtree(SOURCE)
    shutil.copytree(ROOT / "docs", SOURCE, ignore=shutil.ignore_patterns("build_site.py"))
    shutil.copytree(ROOT / "notebooks", SOURCE / "notebooks",
                    ignore=shutil.ignore_patterns("*.cfg", ".qlayer", "*.csv"))
    (SOURCE / "reference").mkdir()
    (SOURCE / "reference" / "settings.md").write_text(settings_reference(), encoding="utf-8")
    (SOURCE / "reference" / "cli.md").write_text(cli_reference(), encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (SOURCE / "index.md").write_text(readme.replace("](docs/", "]("), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                           "-f", str(ROOT / "mkdocs.yml")], cwd=ROOT, check=False)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
