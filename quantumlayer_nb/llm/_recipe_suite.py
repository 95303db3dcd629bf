"""The request that states what a recipe's own test checks, for evaluation suites.

A recipe's first description ("top N rows by a column") does not say which values its test
asserts (``n = 2``, ``column = "units"``), so a suite that sends the description alone asks
for something its check cannot accept. ``task_prompt`` adds the test's slot values as
``name=value`` pairs, which the recipe model reads as given (see ``_recipe_slots``); a
language model reads them as plain instructions.
"""

from __future__ import annotations

from quantumlayer_nb.llm._recipe_loader import Recipe

__all__ = ["task_prompt"]


def _written(value: str | float) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    text = str(value)
    if "'" not in text and "\n" not in text:
        return f"'{text}'"
    if '"' not in text and "\n" not in text:
        return f'"{text}"'
    return repr(text)


def task_prompt(recipe: Recipe) -> str:
    """The recipe's first description, followed by its test's slot values.

    Returns:
        For example ``"top N rows by a column (n=2, column='units', df='df')"``; the bare
        description when the recipe has no test or its test sets no slot.
    """
    if recipe.test is None or not recipe.test.slots:
        return recipe.descriptions[0]
    pairs = ", ".join(f"{name}={_written(value)}" for name, value in recipe.test.slots.items())
    return f"{recipe.descriptions[0]} ({pairs})"
