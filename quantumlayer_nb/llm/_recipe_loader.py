"""Recipe data: the TOML format, its validation, and filling a template with slot values.

A recipe file holds ``[[recipe]]`` tables (and optionally ``[fixtures]``, named setup snippets
that tests of that file share)::

    [[recipe]]
    id = "pandas.groupby_sum"
    title = "Group and sum"
    descriptions = ["total revenue per region", "sum sales by category", "..."]
    tags = ["pandas", "groupby"]
    slots = [
      { name = "df", kind = "dataframe", default = "df", help = "the table" },
      { name = "by", kind = "column", default = "region", help = "group key", cues = ["by"] },
    ]
    template = '''
    totals = {{df}}.groupby({{by}})[{{value}}].sum()
    '''
    [recipe.test]
    fixtures = ["sales"]
    setup = "..."
    slots = { by = "region" }
    check = "assert totals.sum() > 0"

Placeholders are ``{{name}}``. Values of kind ``column``, ``file`` and ``string`` are inserted as
Python string literals (``repr``), ``number`` as a finite number, ``dataframe`` and ``identifier``
as bare names (checked to be identifiers that are neither keywords nor built-in names): so a
prompt can never inject code into a template. A slot may be marked ``optional = true``: the
template then copes with a value that is not a column of the table (``color``, say).
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quantumlayer_nb.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = [
    "SLOT_KINDS",
    "Recipe",
    "RecipeTest",
    "Slot",
    "fill_template",
    "is_safe_name",
    "load_recipe_dir",
    "load_recipe_file",
    "render_value",
]

SLOT_KINDS = ("dataframe", "column", "file", "number", "string", "identifier")
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}")
_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


@dataclass(frozen=True)
class Slot:
    """A hole in a recipe's template.

    Attributes:
        name: Placeholder name (``{{name}}`` in the template).
        kind: One of ``SLOT_KINDS``; decides how a value is found and written.
        default: Value used when neither the prompt nor the context provides one.
        help: One line for people reading the recipe.
        cues: Words after which the value tends to appear in a request (``by``, ``per``).
        optional: For ``column`` slots: the template works when the value is not a column of
            the table, so the recipe does not need to be told one.
    """

    name: str
    kind: str
    default: str | float
    help: str = ""
    cues: tuple[str, ...] = ()
    optional: bool = False


@dataclass(frozen=True)
class RecipeTest:
    """How the library's own test runs a recipe: setup, slot values, then assertions."""

    setup: str
    slots: Mapping[str, str | float]
    check: str


@dataclass(frozen=True)
class Recipe:
    """One tested notebook recipe."""

    id: str
    title: str
    descriptions: tuple[str, ...]
    tags: tuple[str, ...]
    slots: tuple[Slot, ...]
    template: str
    source: Path
    test: RecipeTest | None = None

    def slot(self, name: str) -> Slot:
        """Return the slot called ``name`` (``KeyError`` if the recipe has none)."""
        for slot in self.slots:
            if slot.name == name:
                return slot
        raise KeyError(name)


def render_value(kind: str, value: str | float) -> str:
    """Write one slot value as Python source, according to its kind.

    Raises:
        ValueError: The value cannot be written for that kind (e.g. ``1x`` as a name).
    """
    if kind in {"dataframe", "identifier"}:
        text = str(value)
        if not is_safe_name(text):
            raise ValueError(f"{text!r} is not a usable Python name")
        return text
    if kind == "number":
        number = float(value)
        if not math.isfinite(number) or abs(number) > 1e15:
            raise ValueError(f"{value!r} is not a usable number")
        return str(int(number)) if number.is_integer() else repr(number)
    text = str(value)
    if '"' not in text and "\\" not in text and text.isprintable():
        return f'"{text}"'
    return repr(text)


def is_safe_name(text: str) -> bool:
    """Tell whether ``text`` may be written as a bare name: an identifier, ASCII, not a
    keyword, not a built-in (``print``, ``exec``) and not a dunder name."""
    return (
        text.isidentifier()
        and text.isascii()
        and not keyword.iskeyword(text)
        and not keyword.issoftkeyword(text)
        and not hasattr(builtins, text)
        and not (text.startswith("__") and text.endswith("__"))
    )


def fill_template(recipe: Recipe, values: Mapping[str, str | float]) -> str:
    """Fill every placeholder of ``recipe`` with ``values`` (defaults for missing names).

    Raises:
        ValueError: A value cannot be written for its slot's kind.
    """
    kinds = {slot.name: slot for slot in recipe.slots}

    def replace(match: re.Match[str]) -> str:
        slot = kinds[match.group(1)]
        return render_value(slot.kind, values.get(slot.name, slot.default))

    return PLACEHOLDER.sub(replace, recipe.template).strip("\n") + "\n"


def _problem(path: Path, recipe_id: str, problem: str) -> ConfigError:
    return ConfigError(
        f"Recipe file {path}: recipe {recipe_id!r}: {problem}. Fix the file or remove it "
        "from the recipe folders (see docs/recipes.md for the format)."
    )


def _strings(raw: Any, path: Path, recipe_id: str, key: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise _problem(path, recipe_id, f"'{key}' must be a list of strings")
    return tuple(raw)


def _parse_slot(raw: Any, path: Path, recipe_id: str) -> Slot:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise _problem(path, recipe_id, f"slot {raw!r} needs a string 'name'")
    name = raw["name"]
    kind = raw.get("kind")
    if kind not in SLOT_KINDS:
        raise _problem(
            path, recipe_id, f"slot {name!r} has kind {kind!r}; use one of {', '.join(SLOT_KINDS)}"
        )
    default = raw.get("default")
    if not isinstance(default, (str, int, float)) or isinstance(default, bool):
        raise _problem(path, recipe_id, f"slot {name!r} needs a string or number 'default'")
    try:
        render_value(kind, default)
    except ValueError as exc:
        raise _problem(path, recipe_id, f"slot {name!r} default: {exc}") from None
    cues = _strings(raw.get("cues", []), path, recipe_id, f"slots.{name}.cues")
    optional = raw.get("optional", False)
    if not isinstance(optional, bool):
        raise _problem(path, recipe_id, f"slot {name!r}: 'optional' must be true or false")
    return Slot(
        name, kind, default, str(raw.get("help", "")), tuple(c.lower() for c in cues), optional
    )


def _parse_test(raw: Any, fixtures: Mapping[str, str], path: Path, recipe_id: str) -> RecipeTest:
    if not isinstance(raw, dict):
        raise _problem(path, recipe_id, "'test' must be a table")
    setup_parts = []
    for name in _strings(raw.get("fixtures", []), path, recipe_id, "test.fixtures"):
        if name not in fixtures:
            raise _problem(path, recipe_id, f"test uses unknown fixture {name!r}")
        setup_parts.append(fixtures[name])
    setup_parts.append(str(raw.get("setup", "")))
    slots = raw.get("slots", {})
    check = raw.get("check")
    if not isinstance(slots, dict) or not isinstance(check, str):
        raise _problem(path, recipe_id, "'test' needs a 'slots' table and a 'check' string")
    return RecipeTest("\n".join(setup_parts), dict(slots), check)


def _parse_recipe(raw: Any, fixtures: Mapping[str, str], path: Path) -> Recipe:
    if not isinstance(raw, dict):
        raise _problem(path, "?", "each [[recipe]] must be a table")
    recipe_id = raw.get("id")
    if not isinstance(recipe_id, str) or not _ID.match(recipe_id):
        raise _problem(path, str(recipe_id), "'id' must look like 'category.name' (lower case)")
    for key in ("title", "template"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise _problem(path, recipe_id, f"'{key}' must be a non-empty string")
    descriptions = _strings(raw.get("descriptions"), path, recipe_id, "descriptions")
    if not descriptions:
        raise _problem(path, recipe_id, "'descriptions' needs at least one phrasing")
    slots = tuple(_parse_slot(item, path, recipe_id) for item in raw.get("slots", []))
    names = {slot.name for slot in slots}
    if len(names) != len(slots):
        raise _problem(path, recipe_id, "two slots have the same name")
    missing = sorted(set(PLACEHOLDER.findall(raw["template"])) - names)
    if missing:
        raise _problem(path, recipe_id, f"template uses undefined slots {missing}")
    test = _parse_test(raw["test"], fixtures, path, recipe_id) if "test" in raw else None
    return Recipe(
        id=recipe_id,
        title=raw["title"],
        descriptions=descriptions,
        tags=_strings(raw.get("tags", []), path, recipe_id, "tags"),
        slots=slots,
        template=raw["template"],
        source=path,
        test=test,
    )


def load_recipe_file(path: Path) -> list[Recipe]:
    """Read and validate one recipe TOML file.

    Raises:
        ConfigError: The file cannot be read or parsed, or a recipe in it is invalid; the
            message names the file, the recipe id and the problem.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"Recipe file {path} could not be read: {exc}. Fix the TOML or remove the file."
        ) from None
    fixtures = data.get("fixtures", {})
    if not isinstance(fixtures, dict) or not all(isinstance(v, str) for v in fixtures.values()):
        raise _problem(path, "-", "[fixtures] must map names to setup code strings")
    recipes = data.get("recipe", [])
    if not isinstance(recipes, list):
        raise _problem(path, "-", "recipes must be written as [[recipe]] tables")
    return [_parse_recipe(raw, fixtures, path) for raw in recipes]


def load_recipe_dir(folder: Path) -> list[Recipe]:
    """Read every ``*.toml`` file of ``folder`` (sorted by name).

    Raises:
        ConfigError: The folder does not exist, or a file in it is invalid.
    """
    if not folder.is_dir():
        raise ConfigError(
            f"Recipe folder not found: {folder}. Create it or remove it from the recipe folders."
        )
    recipes: list[Recipe] = []
    for path in sorted(folder.glob("*.toml")):
        recipes.extend(load_recipe_file(path))
    return recipes


def check_unique(recipes: Iterable[Recipe]) -> None:
    """Refuse two recipes with the same id, naming both files.

    Raises:
        ConfigError: Two recipes share an id.
    """
    seen: dict[str, Path] = {}
    for recipe in recipes:
        if recipe.id in seen:
            raise _problem(
                recipe.source, recipe.id, f"the id is already used in {seen[recipe.id]}; rename one"
            )
        seen[recipe.id] = recipe.source
