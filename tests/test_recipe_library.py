"""Every built-in recipe runs: setup, filled template and its checks, in a temp folder."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from quantumlayer_nb.llm._recipe_index import LIBRARY_DIR
from quantumlayer_nb.llm._recipe_loader import PLACEHOLDER, Recipe, fill_template, load_recipe_dir

RECIPES = load_recipe_dir(LIBRARY_DIR)


@pytest.fixture(scope="module", autouse=True)
def _quiet_plots() -> None:
    import matplotlib

    matplotlib.use("Agg")


def test_library_has_at_least_sixty_recipes() -> None:
    assert len(RECIPES) >= 60


def test_recipe_ids_are_unique() -> None:
    ids = [recipe.id for recipe in RECIPES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.id)
def test_every_placeholder_has_a_slot(recipe: Recipe) -> None:
    used = set(PLACEHOLDER.findall(recipe.template))
    assert used <= {slot.name for slot in recipe.slots}


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.id)
def test_recipe_has_three_descriptions_and_a_test(recipe: Recipe) -> None:
    assert len(set(recipe.descriptions)) >= 3
    assert recipe.test is not None


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.id)
def test_recipe_runs_and_passes_its_check(
    recipe: Recipe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matplotlib.pyplot as plt

    assert recipe.test is not None
    monkeypatch.chdir(tmp_path)
    code = fill_template(recipe, recipe.test.slots)
    namespace: dict[str, object] = {"__name__": "__recipe__"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            warnings.filterwarnings("ignore", message=".*non-interactive.*")
            exec(compile(recipe.test.setup, f"<setup {recipe.id}>", "exec"), namespace)
            exec(compile(code, f"<recipe {recipe.id}>", "exec"), namespace)
        exec(compile(recipe.test.check, f"<check {recipe.id}>", "exec"), namespace)
    finally:
        plt.close("all")
    assert os.getcwd() == str(tmp_path)


def test_optional_colour_slot_copes_with_a_table_without_that_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (recipe,) = [r for r in RECIPES if r.id == "plotly.line"]
    assert recipe.slot("color").optional
    assert recipe.test is not None
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(recipe.test.setup, namespace)
    code = fill_template(recipe, {"df": "df", "x": "month", "y": "revenue", "color": "nope"})
    exec(code, namespace)
    assert len(namespace["fig"].data) == 1  # type: ignore[attr-defined]


def test_optional_must_be_true_or_false(tmp_path: Path) -> None:
    from quantumlayer_nb.errors import ConfigError
    from quantumlayer_nb.llm._recipe_loader import load_recipe_file

    path = tmp_path / "bad.toml"
    path.write_text(
        '[[recipe]]\nid = "team.bad"\ntitle = "Bad"\ndescriptions = ["a", "b", "c"]\n'
        'slots = [{ name = "c", kind = "column", default = "x", optional = "yes" }]\n'
        "template = 'print({{c}})'\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="'optional' must be true or false"):
        load_recipe_file(path)
