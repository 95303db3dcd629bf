"""Suites: HumanEval, recipes, notebook-defined, JSONL, pytest files, entry points."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quantumlayer_nb.errors import ConfigError
from quantumlayer_nb.eval import Sandbox, Suite, Task, humaneval, load_suite, recipes_suite


def test_humaneval_has_all_164_tasks() -> None:
    suite = humaneval()
    assert len(suite) == 164
    assert suite["HumanEval/0"].entry_point == "has_close_elements"


def test_bare_body_continues_the_prompt() -> None:
    task = Task(id="t", prompt="def f(x):\n", tests="", entry_point="f")
    assert task.program("    return x\n") == "def f(x):\n    return x\n"


def test_full_function_follows_the_prompt_keeping_its_imports() -> None:
    task = Task(id="t", prompt="import math\ndef f(x):\n    '''doc'''\n", tests="",
                entry_point="f")
    program = task.program("def f(x):\n    return math.floor(x)\n")
    assert program.startswith("import math")
    assert program.rstrip().endswith("return math.floor(x)")


def test_notebook_suite_accepts_a_test_function_and_an_assert_block() -> None:
    suite = Suite("mine")

    def test_double() -> None:
        assert double(2) == 4  # type: ignore[name-defined]  # noqa: F821

    suite.add("Write double(x).", test_double, entry_point="double")
    suite.add("Write half(x).", "assert half(4) == 2", tags=["math"])
    assert [task.id for task in suite] == ["mine/0", "mine/1"]
    with Sandbox() as box:
        assert box.run("def double(x):\n    return 2 * x\n", suite["mine/0"].tests).passed
        assert box.run("def double(x):\n    return x\n", suite["mine/0"].tests).outcome == "failed"


def test_duplicate_task_ids_are_refused() -> None:
    suite = Suite("s")
    suite.add("p", "assert True", id="a")
    with pytest.raises(ConfigError, match="unique id"):
        suite.add("p", "assert True", id="a")


def test_jsonl_suite_loads_humaneval_fields(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    rows = [{"task_id": "m/1", "prompt": "def f():\n", "test": "assert f() == 1",
             "entry_point": "f", "tags": ["easy"]}]
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    suite = Suite.from_jsonl(path)
    assert suite.name == "mine"
    assert suite["m/1"].tags == ["easy"]


def test_bad_jsonl_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"task_id": "x"}\n')
    with pytest.raises(ConfigError, match=r"bad\.jsonl:1"):
        Suite.from_jsonl(path)


def test_pytest_file_becomes_a_task(tmp_path: Path) -> None:
    (tmp_path / "test_sorting.py").write_text(
        '"""Write sort_desc(xs) returning xs sorted from largest to smallest."""\n'
        'from solution import sort_desc\n'
        'ENTRY_POINT = "sort_desc"\n\n'
        'def test_sorts():\n    assert sort_desc([1, 3, 2]) == [3, 2, 1]\n'
    )
    suite = Suite.from_pytest(tmp_path)
    task = suite[f"{tmp_path.name}/test_sorting"]
    assert task.prompt.startswith("Write sort_desc")
    assert task.entry_point == "sort_desc"
    with Sandbox() as box:
        code = "def sort_desc(xs):\n    return sorted(xs, reverse=True)\n"
        assert box.run(code, task.tests).passed


def test_recipes_suite_has_a_task_per_tested_recipe() -> None:
    suite = recipes_suite()
    assert len(suite) > 0
    assert all(task.canonical_solution for task in suite)


def test_suite_from_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "shipped_suites.py").write_text(
        "from quantumlayer_nb.eval import Suite\n"
        "def make():\n"
        "    s = Suite('shipped')\n"
        "    s.add('p', 'assert True', id='one')\n"
        "    return s\n"
    )
    dist = tmp_path / "shipped_suites-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: shipped-suites\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[quantumlayer_nb.suites]\nshipped = shipped_suites:make\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "one" in load_suite("shipped")


def test_unknown_suite_lists_what_exists() -> None:
    with pytest.raises(ConfigError, match="humaneval"):
        load_suite("no-such-suite")
