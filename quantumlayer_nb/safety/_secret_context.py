"""Secrets recognised by where they stand rather than by their shape.

A password has no format: ``Hunter2xQz9!`` is only a secret because it follows
``password:``, ``--password``, ``mysql -p`` or ``Authorization: Bearer``. These rules find
such values in configuration files, shell commands, HTTP headers, URLs and code, and tell a
literal value (``password = "Hunter2xQz9!"``) from a reference to one
(``password = os.environ["DB_PASSWORD"]``, ``token = tokenizer(text)``,
``password: str``), which must stay readable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from quantumlayer_nb.safety._secret_plugins import Hit
from quantumlayer_nb.safety._secret_values import is_literal_secret

__all__ = ["NEEDLES", "context_hits"]

# Names whose value is a secret: the key must END with one of these words, so
# `password_field`, `tokenizer`, `max_tokens` and `secrets.token_hex` are not secret keys.
_PASSWORD_WORDS = r"pass(?:word|wd|phrase)?|pwd"
_SECRET_WORDS = (
    r"secret(?:[_-]?key)?|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|auth[_-]?key"
    r"|client[_-]?secret|credentials?|signing[_-]?key|encryption[_-]?key|subscription[_-]?key"
    r"|master[_-]?key|account[_-]?key|app[_-]?key"
)
# Key words are found with str.find on their root (much cheaper than a regex scan that tries
# every position); each root says which words it can end and what may precede "key".
_ROOTS = ("pass", "pwd", "secret", "token", "credential", "key")
_ROOT_TAIL = {
    "pass": re.compile(r"(?:word|wd|phrase)?", re.IGNORECASE),
    "credential": re.compile(r"s?", re.IGNORECASE),
}
_KEY_PREFIX = re.compile(
    r"(?i)(?:api|access|private|auth|client[_-]?secret|signing|encryption|subscription|master"
    r"|account|app|secret)[_-]?$"
)
_VALUE = (
    r"(?:(?P<q>[\"'`])(?P<quoted>[^\"'`\n]{1,2000})(?P=q)"
    r"|(?P<bare>[^\s\"'`,;#()\[\]{}<>]{1,2000})(?=$|[\s,;#&)\]}\"'`<]))"
)
# After the key: `password = "..."`, `"token": ...`, `config["api_key"] = ...`, `pwd := ...`,
# `api_key => ...`, `password: ...` (not `==`, `::` or `://`).
_ASSIGNMENT_TAIL = re.compile(
    r"[\"'`]?\]?[ \t]*(?P<sep>=(?![=>~])|:=|=>|:(?![:/]))[ \t]*" + _VALUE, re.MULTILINE
)
# "the secret is <token>", "token 3f9aK2..." in prose: only long, random-looking values.
_PROSE_TAIL = re.compile(
    r"(?:[ \t]+is)?[ \t]+(?P<bare>[A-Za-z0-9+/_=-]{16,2000})(?![A-Za-z0-9+/_=.-])"
)
_XML_ELEMENT = re.compile(
    r"<(?P<key>(?i:" + _PASSWORD_WORDS + "|" + _SECRET_WORDS + r"))>(?P<bare>[^<\s]{4,300})</"
)
_HEADER = re.compile(
    r"(?i)(?:\bbearer|\bauthorization[\"']?\]?[ \t]*[:=][ \t]*[\"']?"
    r"(?:basic|token|bot|digest|apikey))[ \t]+(?P<bare>[A-Za-z0-9._~+/-]{8,}=*)"
)
_CLI_OPTION = re.compile(
    r"(?i)(?:^|[\s\"'])--?(?P<key>password|passwd|pass|pwd|token|api[_-]?key|secret"
    r"|client[_-]secret|access[_-]token|auth[_-]token|private[_-]token)"
    r"(?:=|[ \t]+)(?P<q>[\"']?)(?P<bare>[^\s\"'-][^\s\"']{3,300})(?P=q)(?=$|[\s;|&)])"
)
_CLI_SHORT = re.compile(
    r"\b(?:(?:mysql(?:dump|admin|import|check|show)?|mariadb)\b[^\n|;&]*?[ \t]-p"
    r"|sshpass[ \t]+-p[ \t]*|ldap(?:search|modify|add|delete|passwd)\b[^\n|;&]*?[ \t]-w[ \t]+"
    r"|redis-cli\b[^\n|;&]*?[ \t]-a[ \t]+"
    r"|curl\b[^\n|;&]*?[ \t](?:-u|--user)[ \t]+[\"']?[^\s:\"']{1,100}:)"
    r"(?P<q>[\"']?)(?P<bare>[^\s\"'-][^\s\"']{2,300})(?P=q)"
)
_URL_QUERY = re.compile(
    r"[?&](?P<key>(?i:password|passwd|pwd|token|access_token|refresh_token|api_?key|apikey|key"
    r"|secret|client_secret|sig|signature|auth|code))=(?P<bare>[^&\s#\"'<>]{8,400})"
)
# A Twilio account SID followed by its auth token: `Client("AC...", "<32 hex>")`.
_TWILIO_PAIR = re.compile(
    r"\bAC[0-9a-f]{32}[\"']?[ \t]*,[ \t]*(?P<q>[\"'])(?P<bare>[0-9a-f]{32})(?P=q)"
)
_RULES: tuple[tuple[str, re.Pattern[str], int, tuple[str, ...]], ...] = (
    ("assignment", _XML_ELEMENT, 35, ("pass", "pwd", "secret", "token", "key", "credential")),
    ("bearer_token", _HEADER, 45, ("bearer", "authorization")),
    (
        "cli_password",
        _CLI_OPTION,
        45,
        ("-pass", "-pwd", "-token", "-api", "-secret", "-client", "-access", "-auth", "-private"),
    ),
    ("cli_password", _CLI_SHORT, 45, ("mysql", "mariadb", "sshpass", "redis-cli", "curl", "ldap")),
    (
        "url_secret",
        _URL_QUERY,
        45,
        ("pass", "pwd=", "token=", "key=", "secret=", "sig=", "signature=", "auth=", "code="),
    ),
    ("twilio_key", _TWILIO_PAIR, 45, ("twilio", "client(")),
)
NEEDLES: tuple[str, ...] = tuple(sorted({*_ROOTS, *(n for *_, needles in _RULES for n in needles)}))
"""Lower-case literals: a text holding none of them has no context secret."""
# A shorter list that still rules out the same texts: "pass" covers "-pass", "key=" covers
# nothing "key" does not, and so on. Looked at first, so most texts cost a few substring tests.
_FIRST_LOOK = tuple(n for n in NEEDLES if not any(o != n and o in n for o in NEEDLES))
# Lower-casing that keeps every offset (str.lower turns some characters into two).
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _looks_random_long(value: str) -> bool:
    """Prose has no quotes to mark a literal: only a random-looking token counts there."""
    digits = sum(c.isdigit() for c in value)
    return digits >= 2 and sum(c.isalpha() for c in value) >= 4 and "_" not in value


def _key_words(text: str, lowered: str) -> Iterable[tuple[int, int]]:
    """Yield (start, end) of each secret-ish key word that ends a name in ``text``."""
    for root in _ROOTS:
        at = lowered.find(root)
        while at >= 0:
            start, end = at, at + len(root)
            at = lowered.find(root, end)
            tail = _ROOT_TAIL.get(root)
            if tail is not None:
                end = tail.match(text, end).end()  # type: ignore[union-attr]  # always matches
            if root == "key":
                prefix = _KEY_PREFIX.search(lowered, max(0, start - 24), start)
                if prefix is None:
                    continue  # `key=lambda x: x[1]`, `cache_key = ...`: not a secret's name
                start = prefix.start()
            elif root == "secret" and lowered.startswith(("key", "_key", "-key"), end):
                continue  # `secret_key`: found through its "key"
            before = text[start - 1] if start else " "
            # Not inside a lower-case word ("compass", "bypass") except at a camelCase step.
            if before.isalnum() and not (text[start].isupper() and not before.isupper()):
                continue
            if end < len(text) and (text[end].isalnum() or text[end] == "_"):
                continue  # `password_field`, `tokens`, `tokenizer`, `passwordHash`
            yield start, end


def _keyed_hits(text: str, lowered: str) -> Iterable[Hit]:
    """Values assigned to a secret-ish name, or standing after one in prose."""
    for start, end in _key_words(text, lowered):
        match = _ASSIGNMENT_TAIL.match(text, end)
        if match is not None:
            quoted = match.group("quoted")
            group = "quoted" if quoted is not None else "bare"
            value = match.group(group)
            if is_literal_secret(value, quoted=quoted is not None):
                kind = _kind("assignment", lowered[start:end])
                yield Hit(kind, match.start(group), match.end(group), value, 35)
            continue
        match = _PROSE_TAIL.match(text, end)
        if match is not None:
            value = match.group("bare")
            if is_literal_secret(value, quoted=False) and _looks_random_long(value):
                yield Hit("secret_in_prose", match.start("bare"), match.end("bare"), value, 20)


def _kind(rule: str, key: str | None) -> str:
    if rule != "assignment":
        return rule
    lowered = (key or "").lower()
    return "password_assignment" if lowered.startswith(("pass", "pwd")) else "secret_assignment"


def context_hits(text: str, lowered: str) -> Iterable[Hit]:
    """Yield the secrets that stand after a secret-ish key, option, header or parameter.

    Args:
        text: The text to scan.
        lowered: ``text.lower()``, computed once by the caller.
    """
    for needle in _FIRST_LOOK:
        if needle in lowered:
            break
    else:
        return
    if len(lowered) != len(text):
        lowered = text.translate(_ASCII_LOWER)
    yield from _keyed_hits(text, lowered)
    for rule, pattern, priority, needles in _RULES:
        if not any(needle in lowered for needle in needles):
            continue
        for match in pattern.finditer(text):
            groups = match.groupdict()
            quoted = groups.get("quoted")
            group = "quoted" if quoted is not None else "bare"
            value = match.group(group)
            if value is None:
                continue
            is_quoted = quoted is not None or bool(groups.get("q"))
            if not is_literal_secret(value, quoted=is_quoted, strong=rule == "cli_password"):
                continue
            yield Hit(
                _kind(rule, groups.get("key")), match.start(group), match.end(group), value,
                priority,
            )
