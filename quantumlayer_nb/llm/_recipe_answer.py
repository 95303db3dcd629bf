"""What ``qlayer/recipes`` answers to one conversation: code, prose, or an honest no.

No litellm here: the client answers the built-in model in process through this module, and
the litellm handler (``_recipe_litellm``) wraps the same functions.

- A **code** request (the default) gets the best recipe with its slots filled, in one
  ```python block whose first line says which recipe and values were used. The filled code is
  parsed before it is returned; code that does not parse is never returned as code.
- A **text or markdown** request (the system message asks for prose) gets the best recipe's
  description in prose, never code.
- A request that **pastes code or a traceback** (``%qlayer fix``, ``%qlayer explain``) is not
  something retrieval can answer: the reply says so and names what would work, except that a
  pasted cell made from a recipe (its ``# recipe:`` line) is explained from that recipe.
- With a DataFrame in the context, column slots take only its columns; when a column the
  recipe needs is not found the reply names the missing slots and the columns there are.

Every reply that carries no code starts with ``No recipe matches``, so scripts and the batch
counters can tell.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from quantumlayer_nb._context import ContextVariable, parse_context, split_user_message
from quantumlayer_nb.llm._recipe_index import get_index, threshold
from quantumlayer_nb.llm._recipe_loader import Recipe, fill_template, render_value
from quantumlayer_nb.llm._recipe_slots import fill_slots, missing_columns

__all__ = [
    "NO_MATCH_PREFIX",
    "RecipeAnswer",
    "answer",
    "answer_messages",
    "last_user_text",
    "stream_pieces",
    "token_estimate",
    "wants_prose",
]

NO_MATCH_PREFIX = "No recipe matches"
ADVICE = (
    "qlayer/recipes is retrieval over built-in notebook recipes, not a language model: "
    "configure a model in qlayer.toml or set OPENAI_API_KEY (or another provider key) for "
    "free-form requests, or rephrase the request closer to a recipe (see docs/recipes.md)."
)
_PASTED_ADVICE = (
    "qlayer/recipes picks ready-made recipes by their description and is not a language "
    "model, so it cannot read, fix or explain code or errors you paste. Configure a model in "
    "qlayer.toml or set OPENAI_API_KEY (or another provider key, or an api_base for a local "
    "server) to fix and explain cells."
)
_STREAM_CHUNKS = 4
PROSE_MARGIN = 0.2
"""A prose answer needs this much more similarity than code: describing the wrong recipe
as if it explained the question is worse than saying nothing matches."""
_FENCED = re.compile(r"```[^\n]*\n.*?(?:```|\Z)", re.DOTALL)
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s*File \"[^\"]*\", line \d+", re.M)
_RECIPE_LINE = re.compile(r"^#\s*recipe:\s*([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)", re.MULTILINE)

Kind = Literal["code", "prose", "no_match"]


@dataclass(frozen=True)
class RecipeAnswer:
    """What the recipe model answers to one request.

    Attributes:
        text: The reply as sent back to the caller.
        recipe: The recipe used, if any.
        score: Cosine similarity of the best recipe (0 when none was searched).
        slots: Slot values used to fill the recipe (code answers only).
        kind: ``code``, ``prose`` or ``no_match`` (no code and no description).
    """

    text: str
    recipe: Recipe | None
    score: float
    slots: dict[str, str | float] = field(default_factory=dict)
    kind: Kind = "no_match"


def last_user_text(messages: Sequence[Any]) -> str:
    """The text of the last user message (OpenAI content parts joined)."""
    for message in reversed(list(messages)):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "\n".join(
                    str(part.get("text", "")) for part in content if isinstance(part, dict)
                )
    return ""


def wants_prose(messages: Sequence[Any]) -> bool:
    """True when the system message asks for prose (text or markdown), not code."""
    for message in messages:
        if isinstance(message, dict) and message.get("role") == "system":
            content = str(message.get("content") or "").lower()
            return not any(word in content for word in ("python", "code", "```"))
    return False


def token_estimate(text: str) -> int:
    """About four characters a token, at least one."""
    return max(1, round(len(text) / 4))


def stream_pieces(text: str) -> list[str]:
    """Split a reply into the few pieces it is streamed in."""
    size = max(1, -(-len(text) // _STREAM_CHUNKS))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def answer_messages(messages: Sequence[Any]) -> RecipeAnswer:
    """Answer a conversation: its last user message, in the form its system message asks."""
    return answer(last_user_text(messages), prose=wants_prose(messages))


def _pasted(request: str) -> bool:
    """A fenced block that spans lines, or a traceback: code the user pasted."""
    return bool(_TRACEBACK.search(request) or _FENCED.search(request))


def _no_match(best: list[tuple[Recipe, float]], limit: float) -> RecipeAnswer:
    closest = (
        f"closest: {best[0][0].title!r}, similarity {best[0][1]:.2f}, "
        if best
        else "the library is empty, "
    )
    return RecipeAnswer(
        f"{NO_MATCH_PREFIX} this request ({closest}threshold {limit:.2f}). {ADVICE}",
        None,
        best[0][1] if best else 0.0,
    )


def _describe(recipe: Recipe, markdown: bool, lead: str) -> str:
    title = f"**{recipe.title}**" if markdown else recipe.title
    asks = "; ".join(f'"{d}"' for d in recipe.descriptions[:3])
    needs = ", ".join(f"{s.name} ({s.help})" if s.help else s.name for s in recipe.slots)
    parts = [
        f"{lead}{title} (recipe {recipe.id}). It answers requests such as {asks}.",
        f"It is filled in with: {needs}." if needs else "",
        "This is the recipe's own description: qlayer/recipes is retrieval over tested "
        "recipes, not a language model. Ask for code to get the recipe filled in, or "
        "configure a model in qlayer.toml or set OPENAI_API_KEY (or another provider key) "
        "for a real explanation.",
    ]
    return " ".join(p for p in parts if p)


def _answer_pasted(request: str, prose: bool) -> RecipeAnswer:
    by_id = {recipe.id: recipe for recipe in get_index().recipes}
    used = [by_id[m] for m in _RECIPE_LINE.findall(request) if m in by_id]
    if prose and used:
        return RecipeAnswer(
            _describe(used[0], markdown=True, lead="This cell is made from the recipe "),
            used[0],
            1.0,
            kind="prose",
        )
    return RecipeAnswer(f"{NO_MATCH_PREFIX} this request. {_PASTED_ADVICE}", None, 0.0)


def _header(recipe: Recipe, slots: dict[str, str | float]) -> str:
    shown = ", ".join(f"{name}={_shown(value)}" for name, value in slots.items())
    return f"# recipe: {recipe.id} — slots: {shown}" if shown else f"# recipe: {recipe.id}"


def _shown(value: str | float) -> str:
    """A slot value for the comment line: plain when harmless, else as a Python literal."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value)
    plain = text.isprintable() and not any(ch in text for ch in ",=\\'\"")
    return text if plain and text.strip() == text and text else repr(text)


def _in_prose(value: str) -> str:
    """A name for a sentence: one line, and never a code fence."""
    return _shown(value).replace("`", "'")


def _needs_columns(
    recipe: Recipe, score: float, missing: list[Any], columns: list[str]
) -> RecipeAnswer:
    wanted = ", ".join(f"{s.name} ({s.help})" if s.help else s.name for s in missing)
    shown = ", ".join(_in_prose(c) for c in columns) or "(none)"
    return RecipeAnswer(
        f"{NO_MATCH_PREFIX} this request as it stands: the closest recipe, {recipe.title!r} "
        f"({recipe.id}), needs a column for {wanted}, and none was named. The table has "
        f"columns {shown}: name the ones to use in the request. "
        + ADVICE,
        recipe,
        score,
    )


def _context_of(context_text: str | None) -> list[ContextVariable]:
    return parse_context(context_text) if context_text else []


def answer(content: str, *, prose: bool = False) -> RecipeAnswer:
    """Answer one user message (request, optionally followed by a context section).

    Args:
        content: The user message, as ``compose_user_message`` writes it.
        prose: Answer in prose (format text or markdown) instead of code.

    Returns:
        A fenced Python block with the filled recipe, a prose description, or an honest
        no-match message.
    """
    request, context_text = split_user_message(content)
    if _pasted(request):
        return _answer_pasted(request, prose)
    best = get_index().search(request, limit=1)
    limit = min(1.0, threshold() + PROSE_MARGIN) if prose else threshold()
    if not best or best[0][1] < limit:
        return _no_match(best, limit)
    recipe, score = best[0]
    if prose:
        return RecipeAnswer(
            _describe(recipe, markdown=True, lead="The closest recipe is "),
            recipe,
            score,
            kind="prose",
        )
    context = _context_of(context_text)
    slots = fill_slots(recipe, request, context)
    for slot in recipe.slots:
        try:
            render_value(slot.kind, slots[slot.name])
        except ValueError:  # a word from the prompt that cannot be written: keep the default
            slots[slot.name] = slot.default
    missing, columns = missing_columns(recipe, slots, context)
    if missing:
        return _needs_columns(recipe, score, missing, columns)
    code = fill_template(recipe, slots)
    text = f"{_header(recipe, slots)}\n{code}"
    try:
        ast.parse(text)
    except SyntaxError as exc:  # never hand out code that does not parse
        return RecipeAnswer(
            f"{NO_MATCH_PREFIX} this request: recipe {recipe.id} could not be filled with "
            f"these values (line {exc.lineno}: {exc.msg}). Rephrase the names in the request. "
            + ADVICE,
            recipe,
            score,
        )
    return RecipeAnswer(f"```python\n{text}```", recipe, score, slots, kind="code")


def stream_answer(messages: Sequence[Any]) -> Iterator[str]:
    """The reply to ``messages`` in a few pieces."""
    yield from stream_pieces(answer_messages(messages).text)
