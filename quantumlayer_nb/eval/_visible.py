"""Visible tests: the examples a task's prompt shows, as asserts.

A test-verified cascade checks each stage's answer against what the model could see (the
examples in the prompt), never against the hidden tests that score it. For a HumanEval
prompt these are the docstring's examples, written in one of three ways::

    >>> add(2, 3)            doctest style: the expected value on the next line(s)
    5
    add(2, 3) == 5           an equality
    add(2, 3) ➞ 5            an arrow (also ``==>``, ``=>``, ``->``, ``# returns``,
                             ``should return``)

Examples given as "For lst = [1, 2] the output should be 3" and as an "Input: ..." line
followed by an "Output: ..." line are read too. Each example whose call and expected value
are Python expressions becomes one
``assert _qlayer_same(<call>, <expected>)`` line (floats compare with a tolerance, as the
examples round them); the others (prose, "Output: [2, 1]" blocks) are left out.
"""

from __future__ import annotations

import ast
import builtins
import re

__all__ = ["HUMANEVAL_ERRATA", "visible_tests"]

# Docstring examples of HumanEval that its own reference solution does not satisfy (the
# docstring is wrong, or describes a recurrence rather than an example): left out of the
# visible tests, as a suite's errata, so a right answer is not escalated for them.
HUMANEVAL_ERRATA: dict[str, frozenset[str]] = {
    "HumanEval/47": frozenset({"median([-10, 4, 6, 1000, 10, 20])"}),
    "HumanEval/116": frozenset({"sort_array([1, 5, 2, 3, 4])",
                                "sort_array([-2, -3, -4, -5, -6])"}),
    "HumanEval/130": frozenset({"tri(1)", "tri(2)", "tri(3)", "tri(4)"}),
    "HumanEval/148": frozenset({'bf("Earth", "Mercury")'}),
}

_SAME = (
    "def _qlayer_same(got, want):\n"
    "    if isinstance(want, float) or isinstance(got, float):\n"
    "        try:\n"
    "            return abs(float(got) - float(want)) <= 1e-6 + 1e-2 * abs(float(want))\n"
    "        except (TypeError, ValueError):\n"
    "            return False\n"
    "    return got == want\n"
)
_ARROW = re.compile(
    r"\s*(?:==>|==|➞|=>|->|#\s*=>|#\s*returns|should return|returns|=)\s*")
_FOR = re.compile(r"^for\s+(.+?),?\s+the\s+(?:output|result)\s+should\s+be\s+(.+)$",
                  re.IGNORECASE)
_ASSIGNED = re.compile(r"(?:^|,)\s*[A-Za-z_]\w*\s*[=:]\s*")
_BUILTINS = frozenset(dir(builtins))


def visible_tests(prompt: str, entry_point: str | None,
                  drop: frozenset[str] = frozenset()) -> str:
    """The prompt's examples of ``entry_point`` as an assert block ("" when it shows none).

    Args:
        prompt: the task's prompt (HumanEval's: a signature and a docstring).
        entry_point: the function the examples call.
        drop: calls to leave out (known-wrong examples, see ``HUMANEVAL_ERRATA``).
    """
    if not entry_point:
        return ""
    asserts: list[str] = []
    for call, expected in _examples(prompt, entry_point):
        if call in drop:
            continue
        line = f"assert _qlayer_same({call}, {expected}), {call!r}"
        if line not in asserts:
            asserts.append(line)
    return _SAME + "\n".join(asserts) + "\n" if asserts else ""


def _examples(prompt: str, entry_point: str) -> list[tuple[str, str]]:
    lines = prompt.splitlines()
    alias = _alias(prompt, entry_point)
    found: list[tuple[str, str]] = []
    index = 0
    while index < len(lines):
        text = lines[index].strip()
        index += 1
        if text.startswith(">>>"):
            call = text[3:].strip()
            expected: list[str] = []
            while index < len(lines):
                following = lines[index].strip()
                if not following or following.startswith((">>>", '"""', "'''")):
                    break
                expected.append(following)
                index += 1
            if expected:
                _keep(found, entry_point, call, " ".join(expected))
            else:  # ">>> f(x) == y" on one line
                _split_equality(found, entry_point, call)
        elif text.lower().startswith("input:") and text[6:].strip():
            following = lines[index].strip() if index < len(lines) else ""
            if following.lower().startswith("output:"):
                _keep(found, entry_point, _call(entry_point, text[6:]), following[7:])
                index += 1
        elif (match := _FOR.match(text)) is not None:
            # "For N = 150, the sum of digits will be 6 the output should be "110"."
            parts = match.group(1).split(", ")
            for end in range(len(parts), 0, -1):
                call = _call(entry_point, ", ".join(parts[:end]))
                if _is_expression(call):
                    _keep(found, entry_point, call, match.group(2))
                    break
        else:
            bare = re.sub(r"^(?:\*\s*|for\s+|assert\s+)", "", text, flags=re.IGNORECASE)
            if bare.startswith(alias + "("):
                _split_equality(found, entry_point, entry_point + bare[len(alias):])
    return found


def _alias(prompt: str, entry_point: str) -> str:
    """The name the examples call: the entry point, or, when the prompt defines only the
    entry point and its example lines all call one other undefined name (HumanEval/81 and
    /149 name the function differently in the docstring), that name."""
    defined = set(re.findall(r"^\s*def\s+(\w+)", prompt, re.MULTILINE))
    called = set(re.findall(r"^\s*(?:assert\s+|>>>\s*|\*\s*)?(\w+)\(", prompt,
                            re.MULTILINE)) - _BUILTINS
    if defined == {entry_point} and entry_point not in called and len(called) == 1:
        return str(called.pop())
    return entry_point


def _call(entry_point: str, arguments: str) -> str:
    """``lst = [1, 2], k = 3`` (or a bare value) as ``entry_point([1, 2], 3)``."""
    values = [part.strip() for part in _ASSIGNED.split(arguments.strip()) if part.strip()]
    return f"{entry_point}({', '.join(values)})"


def _split_equality(found: list[tuple[str, str]], entry_point: str, text: str) -> None:
    """``f(x) == y`` / ``f(x) ➞ y``: the call is the shortest prefix that parses."""
    for match in _ARROW.finditer(text):
        call, expected = text[:match.start()], text[match.end():]
        if _is_expression(call):
            _keep(found, entry_point, call, expected)
            return


def _keep(found: list[tuple[str, str]], entry_point: str, call: str, expected: str) -> None:
    call = call.strip()
    if "#" in call and _is_expression(call.split("#", 1)[0]):  # ">>> f(x)  # a comment"
        call = call.split("#", 1)[0].strip()
    expected = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", expected))
    value = _longest_expression(expected.split("#", 1)[0].strip().rstrip("."))
    if value is None or entry_point not in call or not _is_expression(call):
        return
    if _unknown_names(call, entry_point) or _unknown_names(value, entry_point):
        return  # "is_happy(a) => False", "true": prose, not Python
    found.append((call, value))


def _longest_expression(text: str) -> str | None:
    """The longest prefix of ``text`` (cut at a space) that is an expression:
    ``'No' (the name should ...)`` gives ``'No'``, ``19 - 5 - 6 = 8`` gives ``19 - 5 - 6``."""
    words = text.split(" ")
    for end in range(len(words), 0, -1):
        candidate = " ".join(words[:end]).strip()
        if _is_expression(candidate):
            return candidate
    return None


def _unknown_names(text: str, entry_point: str) -> bool:
    tree = ast.parse(text, mode="eval")
    return any(isinstance(node, ast.Name) and node.id != entry_point
               and node.id not in _BUILTINS for node in ast.walk(tree))


def _is_expression(text: str) -> bool:
    if not text.strip():
        return False
    try:
        ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return False
    return True
