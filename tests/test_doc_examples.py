"""Every code example in README.md and docs/*.md runs, so a page cannot promise what the
code does not do.

Per document, in a fresh project folder wired to the loopback server, the fenced blocks run
in the order they appear:

- ```` ```python ```` blocks run in one namespace (IPython magics such as ``%load_ext`` and
  ``%%qlayer`` go through IPython's own transformation and run in a real
  ``InteractiveShell``); an exception fails the test, naming the document and line.
- ```` ```bash ```` lines that start with ``qlayer `` run as subprocesses of the installed
  ``qlayer`` command in the same folder and must exit 0. A line documented to exit with
  another code says so at its end: ``qlayer generate "..."   # exits 3``. Other lines
  (``pip install``, ``export``, ``./dev``) are not run: the environment is already set up.
- ```` ```toml ```` blocks are written as ``qlayer.toml`` of a folder of their own (or as
  ``pyproject.toml`` when their first line says ``# pyproject.toml``) and loaded with the
  settings loader, so every key they show exists and every value is valid.
- ```` ```yaml ```` blocks whose first line is ``# NAME`` are written to ``NAME``
  (``grid.yaml`` for the sweep examples).
- ```` ```console ```` transcripts: each ``$ qlayer ...`` line runs the same way; the exit
  code expected is the output of a ``$ echo $?`` right after it, else 0.
- Untagged blocks that start with ``%`` (``%load_ext``, ``%%qlayer`` cells) run like
  python blocks, in a bare ``InteractiveShell`` (the kernel tests cover what a real kernel
  does differently). Other untagged blocks and ``text`` blocks (synopses, sample output)
  and the other lines of transcripts are not run.

A block is left out, or a TOML block is only parsed, when the line just before it is a
marker with a reason: ``<!-- docs-test: skip (reason) -->`` or
``<!-- docs-test: fragment (reason) -->``.

The project folder has a ``qlayer.toml`` whose aliases ``fast`` and ``smart``, deployments
``cheap``, ``mid``, ``strong``, ``local``, ``loop`` and route ``coder`` all point at the
loopback server; ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` point plain ``openai/...`` ids at it
too. The preamble namespace (``PREAMBLE``) holds the names the pages use without defining
them: ``df`` and ``sales`` (a small sales DataFrame: month, day, region, product, revenue),
``prompts`` (three requests), ``prompt``, ``response_text``, ``message``, ``display`` and
``c`` (the traitlets ``Config`` a ``jupyter_server_config.py`` file is given).
Files the pages read exist: ``sales.csv``, ``tasks.jsonl``, ``tests/tasks/``,
``analysis.ipynb`` (parameters ``region`` and ``months``, and one generated cell whose call is
on no ledger) and a ``recipes/`` folder.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from quantumlayer_nb.config import reset_configuration
from quantumlayer_nb.testing import LoopbackServer

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(?P<fence>`{3,})(?P<info>[^`\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$",
                   re.MULTILINE | re.DOTALL)
MARKER = re.compile(r"<!-- docs-test: (?P<kind>skip|fragment) \((?P<reason>[^)]+)\) -->\s*$")
EXITS = re.compile(r"#\s*exits\s+(?P<code>\d+)\b")
QLAYER = Path(sys.executable).with_name("qlayer")
MAX_SKIPS = 3
"""At most this many blocks of all the documents together may be skipped."""

SLUGIFY = ('import re\n\ndef slugify(text):\n'
           '    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")\n')
HALF = "def half(x):\n    return x // 2\n"
OUTLINE = json.dumps({"title": "Sales", "steps": [
    {"title": "Monthly revenue", "request": "the monthly revenue trend", "expects": "table"},
    {"title": "Top products", "request": "the top products by revenue", "expects": "table"}]})
TREND = ("import pandas as pd\n"
         "trend = pd.read_csv('sales.csv').groupby('month', as_index=False)['revenue'].sum()\n")
TOP = ("import pandas as pd\n"
       "top = pd.read_csv('sales.csv').nlargest(2, 'revenue')\n")

PREAMBLE = '''
import pandas as pd
from IPython.display import display
from traitlets.config import Config

c = Config()  # what a jupyter_server_config.py file is given

sales = pd.DataFrame({
    "month": ["2024-01", "2024-01", "2024-02", "2024-02", "2024-03", "2024-03"],
    "day": ["2024-01-05", "2024-01-20", "2024-02-03", "2024-02-17", "2024-03-02", "2024-03-30"],
    "region": ["north", "south", "north", "south", "north", "south"],
    "product": ["tea", "coffee", "tea", "tea", "coffee", "tea"],
    "revenue": [10.0, 5.0, 20.0, 7.5, 12.0, 9.0],
})
df = sales.copy()
prompts = [
    "read sales.csv into a dataframe",
    "plot revenue by month",
    "group sales by region and sum revenue",
]
prompt = "summarise revenue per region of the sales table"
response_text = "Use sales.groupby('region')['revenue'].sum()."
message = "call failed for a request about the sales table"
'''


@dataclass(frozen=True)
class Block:
    """One fenced block of a document."""

    line: int
    info: str
    body: str
    marker: str | None
    reason: str | None

    @property
    def language(self) -> str:
        return self.info.strip().split(" ")[0] if self.info.strip() else ""


def blocks_of(document: Path) -> list[Block]:
    """The fenced blocks of ``document`` in order, with the marker just before each."""
    text = document.read_text()
    found = []
    for match in FENCE.finditer(text):
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = MARKER.search(before)
        found.append(Block(
            line=text.count("\n", 0, match.start()) + 1,
            info=match.group("info"),
            body=match.group("body"),
            marker=marker.group("kind") if marker else None,
            reason=marker.group("reason") if marker else None,
        ))
    return found


def qlayer_lines(body: str) -> list[tuple[str, int]]:
    """The ``qlayer ...`` command lines of a bash block and the exit code each documents."""
    joined = re.sub(r"\\\n\s*", " ", body)
    commands = []
    for raw in joined.splitlines():
        line = raw.strip()
        if not line.startswith("qlayer "):
            continue
        exits = EXITS.search(line)
        commands.append((line, int(exits.group("code")) if exits else 0))
    return commands


def transcript_lines(body: str) -> list[tuple[str, int]]:
    """The ``$ qlayer ...`` commands of a console transcript and the exit code each shows.

    The code is the output of a ``$ echo $?`` right after the command, else 0.
    """
    lines = body.splitlines()
    commands = []
    for index, raw in enumerate(lines):
        if not raw.startswith("$ qlayer "):
            continue
        expected = 0
        rest = [line for line in lines[index + 1:]]
        prompts = [i for i, line in enumerate(rest) if line.startswith("$ ")]
        if prompts and rest[prompts[0]].strip() == "$ echo $?" and len(rest) > prompts[0] + 1:
            expected = int(rest[prompts[0] + 1].strip())
        commands.append((raw[2:].strip(), expected))
    return commands


def _project_toml(url: str) -> str:
    deployments = {"loop-fast": "openai/gpt-4o-mini", "loop-smart": "openai/gpt-4o",
                   "cheap": "openai/gpt-4o-mini", "mid": "openai/gpt-4o-mini",
                   "strong": "openai/gpt-4o", "loop": "openai/gpt-4o-mini",
                   "local": "openai/gpt-4o-mini"}
    lines = ['project = "docs"', 'user = "reader"', "", "[aliases]",
             'fast = "loop-fast"', 'smart = "loop-smart"', ""]
    for name, model in deployments.items():
        lines += [f"[deployments.{name}]", f'model = "{model}"', f'api_base = "{url}"', ""]
    lines += ["[routes.coder]", 'policy = "priority"', 'deployments = ["fast", "smart"]', ""]
    return "\n".join(lines)


def _analysis_notebook() -> dict[str, Any]:
    def cell(source: str, tags: list[str] | None = None,
             **metadata: Any) -> dict[str, Any]:
        return {"cell_type": "code", "execution_count": None, "outputs": [],
                "metadata": {"tags": tags or [], **metadata}, "source": source}

    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "cells": [
            cell('region = "north"\nmonths = 3\nmodel = "fast"\nn = 1', ["parameters"]),
            cell("import quantumlayer_nb as qlayer\n"
                 "g = qlayer.generate(f'total revenue for {region} over {months} months',"
                 " model=model)\n"
                 "qlayer.record('chars', len(g.text))"),
            # A generated cell whose call is on no ledger: `qlayer audit notebook` flags it.
            cell("# qlayer: call 0e9d5a1c2b77 · gpt-4o-mini\nchecked = True",
                 quantumlayer={"call_id": "0e9d5a1c2b77", "model": "gpt-4o-mini",
                               "prompt_hash": "0" * 64}),
        ],
    }


def _fixture_files(folder: Path, url: str) -> None:
    (folder / "qlayer.toml").write_text(_project_toml(url))
    (folder / "recipes").mkdir()
    (folder / "tasks.jsonl").write_text(json.dumps({
        "task_id": "tasks/double", "prompt": "Write double(x) returning 2 * x.",
        "test": "assert candidate(3) == 6", "entry_point": "double"}) + "\n")
    tasks = folder / "tests" / "tasks"
    tasks.mkdir(parents=True)
    (tasks / "test_reverse.py").write_text(
        '"""Write reverse(text) returning text backwards."""\n'
        'from solution import reverse\n\n'
        'def test_reverse():\n    assert reverse("ab") == "ba"\n')
    (folder / "sales.csv").write_text(
        "month,region,revenue\n2024-01,north,10\n2024-01,south,5\n2024-02,north,20\n")
    (folder / "analysis.ipynb").write_text(json.dumps(_analysis_notebook()))


class DocRunner:
    """Runs one document's blocks in order in ``folder``."""

    def __init__(self, document: Path, folder: Path) -> None:
        self.document = document
        self.folder = folder
        self.name = document.relative_to(ROOT).as_posix()
        self.shell = _fresh_shell()
        self.namespace: dict[str, Any] = self.shell.user_ns
        self.namespace["__name__"] = f"docs_{document.stem.replace('-', '_')}"
        exec(compile(PREAMBLE, str(folder / "docs_preamble.py"), "exec"), self.namespace)

    def where(self, block: Block) -> str:
        return f"{self.name} block at line {block.line}"

    def run(self, block: Block) -> None:
        if block.marker == "skip":
            return
        language = block.language
        if language == "python" or (language == "" and block.body.startswith("%")):
            self.python(block)
        elif language == "bash":
            self.bash(block)
        elif language == "console":
            self.console(block)
        elif language == "toml":
            self.toml(block)
        elif language in ("yaml", "yml"):
            self.yaml(block)

    def python(self, block: Block) -> None:
        source = block.body
        if re.search(r"^\s*%", source, re.MULTILINE):
            source = self.shell.transform_cell(source)
        # A real file, so inspect.getsource finds the functions a block defines.
        path = self.folder / f"docs_block_{block.line}.py"
        path.write_text(source)
        try:
            exec(compile(source, str(path), "exec"), self.namespace)
        except BaseException:
            pytest.fail(f"{self.where(block)} failed:\n{block.body}\n{traceback.format_exc()}")

    def bash(self, block: Block) -> None:
        for line, expected in qlayer_lines(block.body):
            self.command(block, line, expected)

    def console(self, block: Block) -> None:
        for line, expected in transcript_lines(block.body):
            self.command(block, line, expected)

    def command(self, block: Block, line: str, expected: int) -> None:
        argv = [str(QLAYER), *shlex.split(line, comments=True)[1:]]
        done = subprocess.run(argv, cwd=self.folder, capture_output=True, text=True,
                              timeout=600, env=dict(os.environ))
        if done.returncode != expected:
            pytest.fail(f"{self.where(block)}: `{line}` exited {done.returncode}, the page "
                        f"says {expected}.\nstdout:\n{done.stdout[-3000:]}\n"
                        f"stderr:\n{done.stderr[-3000:]}")

    def toml(self, block: Block) -> None:
        import tomllib

        from quantumlayer_nb.config import load_settings

        try:
            table = tomllib.loads(block.body)
        except tomllib.TOMLDecodeError as exc:
            pytest.fail(f"{self.where(block)} is not valid TOML: {exc}")
        if block.marker == "fragment":
            return
        folder = self.folder / f"toml_block_{block.line}"
        folder.mkdir()
        first = block.body.lstrip().splitlines()[0] if block.body.strip() else ""
        if first.startswith("# pyproject.toml"):
            (folder / "pyproject.toml").write_text(block.body)
            assert "tool" in table or "project" in table, self.where(block)
            if "qlayer" not in table.get("tool", {}):
                return  # packaging metadata, not settings; valid TOML is all it promises
        elif "recipe" in table:
            # A recipe file of the offline model: it must load as recipes.
            from quantumlayer_nb.llm._recipe_loader import load_recipe_file

            path = folder / "recipes.toml"
            path.write_text(block.body)
            try:
                assert load_recipe_file(path), f"{self.where(block)} defines no recipe"
            except Exception:
                pytest.fail(f"{self.where(block)} does not load as a recipe file:\n"
                            f"{traceback.format_exc()}")
            return
        else:
            (folder / "qlayer.toml").write_text(block.body)
        try:
            load_settings(folder, environ={})
        except Exception:
            pytest.fail(f"{self.where(block)} does not load as settings:\n"
                        f"{traceback.format_exc()}")

    def yaml(self, block: Block) -> None:
        first = block.body.lstrip().splitlines()[0] if block.body.strip() else ""
        match = re.match(r"#\s*(?P<name>[\w.-]+\.ya?ml)\b", first)
        if match:
            (self.folder / match.group("name")).write_text(block.body)


def _fresh_shell() -> Any:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.reset(new_session=False)
    return shell


def _checks_after(name: str, namespace: dict[str, Any]) -> None:
    """What a page's examples must have produced, beyond running."""
    if name == "docs/evaluation.md":
        # The user-suite example passes with correct answers (entry_point + prose prompt).
        assert namespace["report"].pass_at_k("gpt-4o-mini", 1) == 1.0


def _ids(document: Path) -> str:
    return document.relative_to(ROOT).as_posix()


def test_the_docs_have_examples_and_skip_few() -> None:
    everything = [block for doc in DOCUMENTS for block in blocks_of(doc)]
    assert sum(block.language == "python" for block in everything) >= 20
    skips = [block for block in everything if block.marker == "skip"]
    assert len(skips) <= MAX_SKIPS, [(b.line, b.reason) for b in skips]


def test_a_bash_line_documents_its_exit_code_with_a_marker() -> None:
    body = 'qlayer generate "write a sonnet"   # exits 3: no recipe matches\nqlayer models\n'
    transcript = "$ qlayer audit verify\nledger DAMAGED\n$ echo $?\n1\n$ qlayer runs\nid ...\n"
    assert transcript_lines(transcript) == [("qlayer audit verify", 1), ("qlayer runs", 0)]
    assert qlayer_lines(body) == [('qlayer generate "write a sonnet"   # exits 3: no recipe '
                                   'matches', 3), ("qlayer models", 0)]


@pytest.mark.slow
@pytest.mark.parametrize("document", DOCUMENTS, ids=_ids)
def test_every_example_of_the_page_runs(
        document: Path, project: Path, loopback_server: LoopbackServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = blocks_of(document)
    runnable = [b for b in blocks if b.language in ("python", "bash", "console", "toml", "yaml")]
    if not runnable:
        pytest.skip(f"{_ids(document)} has no runnable example")
    # IPython's shell puts its user module in sys.modules["__main__"]; put the real one back
    # after the page, or multiprocessing's spawn (dask's workers) later finds no __spec__.
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback")
    monkeypatch.setenv("OPENAI_BASE_URL", loopback_server.url)
    monkeypatch.setenv("QUANTUMLAYER_PROGRESS", "text")
    for signal in ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER"):
        monkeypatch.setenv(signal, "none")  # telemetry examples export nowhere
    loopback_server.add_rule(r"Write slugify", f"```python\n{SLUGIFY}```")
    loopback_server.add_rule(r"Write half", f"```python\n{HALF}```")
    loopback_server.add_rule(r"Plan a Jupyter notebook", OUTLINE)
    loopback_server.add_rule(r"top products by revenue", f"```python\n{TOP}```")
    loopback_server.add_rule(r"monthly revenue trend", f"```python\n{TREND}```")
    _fixture_files(project, loopback_server.url)
    reset_configuration()
    runner = DocRunner(document, project)
    for block in blocks:
        runner.run(block)
    _checks_after(runner.name, runner.namespace)


def test_the_readme_says_what_defines_fast_before_its_first_use() -> None:
    # A fresh install has no alias `fast`: the README must say where it comes from before
    # an example uses it, or `-m fast` is a ModelNotFound the page did not warn of.
    text = (ROOT / "README.md").read_text()
    first_use = next(match for match in FENCE.finditer(text) if "fast" in match.group("body"))
    before = text[:first_use.start()]
    for needed in ("fast", "qlayer.toml", "ModelNotFound"):
        assert needed in before
