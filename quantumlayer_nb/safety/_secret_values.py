"""Whether a value that stands where a secret would is one, or a placeholder or a name.

Shared by the context rules (``_secret_context``), the ``.env`` and URL patterns and the
detect-secrets keyword plugin, so that ``api_key = "YOUR_API_KEY"``, ``password: str``,
``token: ${{ secrets.GITHUB_TOKEN }}`` and ``api_key_env = "OPENAI_API_KEY"`` read the same
everywhere: not secrets.
"""

from __future__ import annotations

import re

__all__ = ["PLACEHOLDER_VALUES", "is_literal_secret", "is_placeholder"]

PLACEHOLDER_VALUES = frozenset(
    {
        "password", "passwd", "pass", "secret", "changeme", "example", "user", "username",
        "token", "xxxxxx", "******", "your_password", "yourpassword", "<password>", "foo",
        "bar", "baz", "qux", "test", "testing", "demo", "admin", "root", "guest", "redact",
        "redacted", "hidden", "masked", "secrets", "tokens", "keys", "apikey", "api_key",
    }
)  # fmt: skip
"""Values that stand for a secret in examples and docs; never redacted."""

_TYPE_NAMES = frozenset(
    {
        "str", "bytes", "int", "bool", "float", "any", "none", "null", "nil", "true", "false",
        "yes", "no", "on", "off", "secretstr", "secretbytes", "string", "optional", "text",
        "required", "hidden", "undefined", "object", "list", "dict", "char", "varchar",
    }
)  # fmt: skip
_PLACEHOLDER_SHAPE = re.compile(
    r"(?i)^(?:your|my|some|enter|insert|replace|paste|fill)[\s_-]"
    r"|x{4,}|\*{3,}|\.{3}|example|placeholder|changeme|change_me|dummy|redacted|sample"
    r"|^(?:test|demo|foo|bar|secret|password|token|none|null|undefined)\d{0,3}$"
    r"|[<>{}]|^\[|^\$|^%|^!|^@|^&|^:|^/|^\./|^~|^\\\\|\\[nrt]|^\[REDACTED"
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_SNAKE_WORDS = re.compile(r"^(?:[a-z]+(?:_[a-z0-9]+)+|[A-Z]+(?:_[A-Z0-9]+)+)$")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[kKmMgGsS%]?$")


def _looks_random(value: str) -> bool:
    """A bare identifier-like value is a literal secret only if it does not read as a name."""
    if "." in value or _SNAKE_WORDS.match(value):
        return False  # `args.password`, `settings.api_key`, `api_key_v2`: references
    digits = sum(c.isdigit() for c in value)
    letters = sum(c.isalpha() for c in value)
    mixed = any(c.islower() for c in value) and any(c.isupper() for c in value[1:])
    return len(value) >= 8 and letters > 0 and (digits >= 2 or (digits >= 1 and mixed))


def is_literal_secret(value: str, *, quoted: bool, strong: bool = False) -> bool:
    """Whether a value standing after a secret-ish key is a literal secret, not a reference.

    Args:
        value: The value, without its quotes.
        quoted: It was written in quotes (a string literal: its name-like shape proves nothing).
        strong: The context leaves no doubt (after ``--password`` or ``mysql -p`` almost
            anything is a password; after ``password =`` in code a bare name is a variable).
    """
    if len(value) < 4 or is_placeholder(value):
        return False
    if quoted:
        return not any(c.isspace() for c in value) and len(set(value)) > 2 and not (
            _ENV_NAME.match(value)  # `keys = {OPENAI_API_KEY = "SALES_OPENAI_KEY"}`: a name
        )
    if _IDENTIFIER.match(value):
        if strong:
            return "." not in value and not _SNAKE_WORDS.match(value)
        return _looks_random(value)
    return len(value) >= 6 and len(set(value)) > 3 and any(c.isalnum() for c in value)


def is_placeholder(value: str) -> bool:
    """Whether a value is a stand-in (``<password>``, ``YOUR_API_KEY``, ``${TOKEN}``, ``sk-...``)
    or a type, number or keyword rather than a secret."""
    lowered = value.lower()
    return bool(
        lowered in PLACEHOLDER_VALUES
        or lowered in _TYPE_NAMES
        or _NUMBER.match(value)
        or _PLACEHOLDER_SHAPE.search(value)
    )
