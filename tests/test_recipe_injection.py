"""A request can never put code into a recipe: slot values are literals or checked names."""

from __future__ import annotations

import ast
import re

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantumlayer_nb._context import compose_user_message, describe_context
from quantumlayer_nb.llm._recipe_answer import NO_MATCH_PREFIX, answer
from quantumlayer_nb.llm._recipe_index import get_index
from quantumlayer_nb.llm._recipe_loader import Recipe, fill_template, render_value

FENCE = re.compile(r"\A```python\n(?P<code>.*)```\Z", re.DOTALL)
BY_ID: dict[str, Recipe] = {recipe.id: recipe for recipe in get_index().recipes}

INJECTION = "plot a line chart of column ```\nprint('INJECTED')\n``` by month"


def code_of(text: str) -> str | None:
    match = FENCE.match(text)
    return match.group("code") if match else None


def _shape(tree: ast.AST, slot_names: set[str]) -> str:
    """The tree with literal values and slot-filled names blanked out."""

    class Blank(ast.NodeTransformer):
        def visit_Constant(self, node: ast.Constant) -> ast.AST:
            return ast.copy_location(ast.Constant(value="<literal>"), node)

        def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
            if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
                return ast.copy_location(ast.Constant(value="<literal>"), node)
            return self.generic_visit(node)

        def visit_Name(self, node: ast.Name) -> ast.AST:
            if node.id in slot_names:
                return ast.copy_location(ast.Name(id="<slot>", ctx=node.ctx), node)
            return node

    return ast.dump(Blank().visit(tree))


def assert_same_program_as_template(text: str) -> None:
    """Code in ``text`` (if any) parses and differs from its recipe only in literals/names."""
    code = code_of(text)
    if code is None:
        assert "```" not in text
        assert text.startswith(NO_MATCH_PREFIX)
        return
    header = code.splitlines()[0]
    match = re.match(r"# recipe: (\S+)", header)
    assert match, header
    recipe = BY_ID[match.group(1)]
    tree = ast.parse(code)
    defaults = ast.parse(fill_template(recipe, {}))
    name_slots = {s.name for s in recipe.slots if s.kind in {"dataframe", "identifier"}}
    filled_names = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
    } - {n.id for n in ast.walk(defaults) if isinstance(n, ast.Name)}
    default_names = {str(s.default) for s in recipe.slots if s.name in name_slots}
    blank = filled_names | default_names
    assert _shape(tree, blank) == _shape(defaults, blank)
    calls = sorted(ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call))
    template_calls = sorted(
        ast.unparse(n.func) for n in ast.walk(defaults) if isinstance(n, ast.Call)
    )
    assert len(calls) == len(template_calls)
    assert "INJECTED" not in {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def test_reported_injection_gives_no_live_print() -> None:
    text = answer(INJECTION).text
    code = code_of(text)
    if code is not None:
        calls = [
            n for n in ast.walk(ast.parse(code))
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"
        ]
        assert calls == []
    assert not any(line.strip() == "print('INJECTED')" for line in text.splitlines())


def test_newline_in_a_slot_value_cannot_end_the_comment_line() -> None:
    text = answer('total revenue per region for `re\ngion`').text
    code = code_of(text)
    assert code is not None
    comment = [line for line in code.splitlines() if line.startswith("#")]
    assert len(comment) == 1
    assert_same_program_as_template(text)


def test_value_with_quotes_and_newline_is_written_as_a_literal() -> None:
    assert render_value("column", "a\"\nprint('x')#") == repr("a\"\nprint('x')#")
    assert ast.literal_eval(render_value("string", "x'\"\\\n")) == "x'\"\\\n"


@pytest.mark.parametrize("name", ["print", "exec", "import", "__import__", "lambda", "x y", "é"])
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not a usable Python name"):
        render_value("dataframe", name)


def test_number_slot_refuses_non_finite_values() -> None:
    with pytest.raises(ValueError, match="not a usable number"):
        render_value("number", float("inf"))


def test_context_frame_named_like_a_builtin_is_not_used_as_a_name() -> None:
    frames = describe_context({"print": pd.DataFrame({"region": ["n"], "revenue": [1.0]})})
    text = answer(compose_user_message("total revenue per region", frames)).text
    code = code_of(text)
    assert code is not None
    assert "print." not in code


HOSTILE = st.lists(
    st.sampled_from(
        [*"abc_ \n\r\t'\"`\\#(){}[];:=.,+-*/\u2028\x0c", "print", "```", "import os", "exec"]
    ),
    min_size=1,
    max_size=15,
).map("".join)
REQUESTS = st.sampled_from(
    [
        "plot a line chart of column {v} by month",
        "total revenue per {v}",
        "rename column '{v}' to 'amount'",
        "read the file {v}.csv",
        'filter rows where "{v}" is missing',
        "top 5 customers by `{v}`",
        "group {v} by region and sum revenue",
        "extract email addresses from the {v} column",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(template=REQUESTS, value=HOSTILE)
def test_hostile_slot_text_never_changes_the_program(template: str, value: str) -> None:
    assert_same_program_as_template(answer(template.replace("{v}", value)).text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(template=REQUESTS, value=HOSTILE, column=HOSTILE)
def test_hostile_column_names_in_the_context_never_change_the_program(
    template: str, value: str, column: str
) -> None:
    frame = pd.DataFrame({column: [1.0], "region": ["n"], "revenue": [2.0], "month": ["m"]})
    content = compose_user_message(
        template.replace("{v}", value), describe_context({"sales": frame})
    )
    assert_same_program_as_template(answer(content).text)
