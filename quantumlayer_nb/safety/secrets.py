"""Find secrets in text and replace them by stable placeholders.

Two layers, cheapest first:

1. Our own patterns for the formats that matter most here (provider API keys, PEM private
   keys, cloud credentials, JWTs, passwords in URLs and ``.env`` lines). They run on every
   text and take a few microseconds per kilobyte.
2. The maintained ``detect-secrets`` plugins (more token formats, quoted ``password = "..."``
   assignments, high-entropy strings), in ``_secret_plugins``. They are imported on first
   need and run only on short windows around long tokens and secret-ish keywords, so ordinary
   prose never pays for them.

A finding never carries the secret value: only its kind, position and placeholder
``[REDACTED:<kind>:<4 hex of sha256(value)>]``, stable across calls and processes so the model
can tell two secrets apart and cache keys stay stable.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field

from quantumlayer_nb._env import env_values
from quantumlayer_nb.safety._secret_context import context_hits
from quantumlayer_nb.safety._secret_plugins import Hit, plugin_hits
from quantumlayer_nb.safety._secret_values import is_placeholder

__all__ = [
    "DEFAULT_KEY_ENV_VARS",
    "MIN_ENV_VALUE_CHARS",
    "MIN_RECURRING_CHARS",
    "SecretFinding",
    "find_secrets",
    "placeholder_for",
    "redact_text",
]

DEFAULT_KEY_ENV_VARS: tuple[str, ...] = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "HF_TOKEN",
    "HUGGINGFACE_API_KEY",
    "AZURE_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "MISTRAL_API_KEY",
    "GROQ_API_KEY",
    "COHERE_API_KEY",
    "TOGETHER_API_KEY",
    "DEEPSEEK_API_KEY",
    "OPENROUTER_API_KEY",
    "FIREWORKS_API_KEY",
    "XAI_API_KEY",
    "GITHUB_TOKEN",
)
"""Environment variables whose values are always redacted when no list is configured."""

MIN_ENV_VALUE_CHARS = 8
"""Shorter environment values are not keys; replacing them everywhere would mangle text."""


class SecretFinding(BaseModel):
    """One secret found in a text. Holds where it was and its placeholder, never the value."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(description="What was found, e.g. 'openai_api_key', 'private_key'.")
    start: int = Field(description="Offset of the first character of the secret in the text.")
    end: int = Field(description="Offset just past the secret's last character.")
    placeholder: str = Field(description="The text that replaces the secret when redacting.")

    def location(self, text: str) -> str:
        """Return a human position such as ``line 3, column 12`` for this finding in ``text``."""
        line = text.count("\n", 0, self.start) + 1
        column = self.start - (text.rfind("\n", 0, self.start) + 1) + 1
        return f"line {line}, column {column}"


def placeholder_for(kind: str, value: str) -> str:
    """Return the stable placeholder of a secret: kind plus 4 hex digits of its SHA-256."""
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:4]
    return f"[REDACTED:{kind}:{digest}]"


# --- layer 1: our own patterns -------------------------------------------------------------
# (kind, regex, group holding the secret, priority). Higher priority wins an overlap.
_PEM = (
    r"-----BEGIN[A-Z ]{0,20}PRIVATE KEY(?: BLOCK)?-----"
    r"(?:[\s\S]{0,20000}?-----END[A-Z ]{0,20}PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\]*)"
)
# (kind, regex, group holding the secret, priority, needles). Higher priority wins an overlap.
# A pattern runs only when one of its needles occurs in the text (in the lower-cased text for
# (?i) patterns): a substring test is ~100x cheaper than a regex scan.
_OWN_PATTERNS: tuple[tuple[str, re.Pattern[str], int, int, tuple[str, ...]], ...] = (
    (
        "gcp_service_account",
        re.compile(r'"private_key"\s*:\s*"([^"]*PRIVATE KEY[^"]*)"'),
        1,
        90,
        ('"private_key"',),
    ),
    (
        "gcp_service_account",
        re.compile(r'"private_key_id"\s*:\s*"([0-9a-f]{20,64})"'),
        1,
        90,
        ('"private_key_id"',),
    ),
    ("private_key", re.compile(_PEM), 0, 80, ("PRIVATE KEY",)),
    ("anthropic_api_key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}"), 0, 70, ("sk-ant-",)),
    (
        "openai_api_key",
        re.compile(r"\bsk-(?!ant-)(?:proj-|svcacct-|admin-)?(?=[A-Za-z_-]*\d)[A-Za-z0-9_-]{20,}"),
        0,
        60,
        ("sk-",),
    ),
    ("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"), 0, 70, ("AIza",)),
    ("huggingface_token", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"), 0, 70, ("hf_",)),
    (
        "github_token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{50,})\b"),
        0,
        70,
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    ("slack_token", re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{10,}"), 0, 70, ("xox",)),
    ("slack_token", re.compile(r"\bxapp-\d-[A-Z0-9]{6,}-\d{6,}-[a-z0-9]{20,}"), 0, 70, ("xapp-",)),
    (
        "gitlab_token",
        re.compile(r"\bgl(?:pat|dt|rt|ptt|cbt|imt|soat|ffct|ft|oas|agent)-[0-9A-Za-z_-]{20,}"),
        0,
        70,
        ("gl",),
    ),
    ("npm_token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), 0, 70, ("npm_",)),
    (
        "slack_token",
        re.compile(r"https://hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]+"),
        0,
        70,
        ("hooks.slack.com",),
    ),
    (
        "stripe_key",
        re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b"),
        0,
        70,
        ("_live_", "_test_"),
    ),
    ("stripe_key", re.compile(r"\bwhsec_[A-Za-z0-9]{24,}\b"), 0, 70, ("whsec_",)),
    (
        "aws_access_key_id",
        re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"),
        0,
        70,
        ("AKIA", "ASIA", "ABIA", "ACCA"),
    ),
    (
        "aws_secret_access_key",
        re.compile(
            r"(?i)aws[\w.-]{0,20}?(?:secret|sk)[\w.-]{0,20}[\"']?(?:\s*(?:=|:|:=|=>|,)|\s)\s*[\"']?"
            r"([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
        1,
        70,
        ("aws",),
    ),
    (
        "azure_connection_string",
        re.compile(r"(?i)\b(?:AccountKey|SharedAccessKey|SharedAccessSignature)=([^;\"'\s]{10,})"),
        1,
        70,
        ("accountkey=", "sharedaccess"),
    ),
    (
        "jwt",
        re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
        0,
        65,
        ("eyJ",),
    ),
    (
        "url_password",
        # `redis://:pw@host` has no user name; only the password is replaced.
        re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:/@\"'<>]{0,100}:([^\s@/\"'<>]{1,200})@"),
        1,
        50,
        ("@",),
    ),
    (
        "password_assignment",
        re.compile(
            r"(?m)^[ \t]*(?:export[ \t]+|set[ \t]+)?[A-Z0-9_]*(?:PASSWORD|PASSWD|PASS|PWD|SECRET|"
            r"TOKEN|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?)[ \t]*=[ \t]*(?![\"'$])"
            r"([^\s#\"']{6,})"
        ),
        1,
        40,
        ("PASS", "SECRET", "TOKEN", "KEY"),
    ),
)


# Read once: testing a RegexFlag per pattern per call costs more than the scan it guards.
_OWN_IGNORE_CASE = tuple(bool(pattern.flags & re.IGNORECASE) for _, pattern, *_ in _OWN_PATTERNS)


# Any pattern's needle, in any case: one look rules out most texts at once.
_ANY_NEEDLE = tuple(sorted({n.lower() for *_, needles in _OWN_PATTERNS for n in needles}))


def _own_hits(text: str, lowered: str) -> Iterable[Hit]:
    for needle in _ANY_NEEDLE:
        if needle in lowered:
            break
    else:
        return
    for (kind, pattern, group, priority, needles), ignore_case in zip(
        _OWN_PATTERNS, _OWN_IGNORE_CASE, strict=True
    ):
        if ignore_case:
            if not any(needle in lowered for needle in needles):
                continue
        elif not any(needle in text for needle in needles):
            continue
        for match in pattern.finditer(text):
            value = match.group(group)
            if not value or value.strip() == "":
                continue
            if kind in ("url_password", "password_assignment") and is_placeholder(value):
                continue
            yield Hit(kind, match.start(group), match.end(group), value, priority)


# --- merging and redaction -----------------------------------------------------------------
def _env_hits(env_vars: Sequence[str]) -> Callable[[str], Iterable[Hit]]:
    values = [  # runs twice per call over every configured key variable
        value
        for raw in env_values(tuple(env_vars))
        if len(value := raw.strip()) >= MIN_ENV_VALUE_CHARS
    ]

    def hits(text: str) -> Iterable[Hit]:
        for value in values:
            start = text.find(value)
            while start >= 0:
                yield Hit("key_env_value", start, start + len(value), value, 100)
                start = text.find(value, start + len(value))

    return hits


def _select(hits: Iterable[Hit]) -> list[Hit]:
    """Keep non-overlapping hits, preferring higher priority, then longer spans."""
    chosen: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (-h.priority, -(h.end - h.start), h.start)):
        if all(hit.end <= c.start or hit.start >= c.end for c in chosen):
            chosen.append(hit)
    return sorted(chosen, key=lambda h: h.start)


MIN_RECURRING_CHARS = 6
"""A secret found once is also replaced wherever else it occurs in the text (in a
traceback line, a log line, a second config file), if it is at least this long."""


def _recurrences(text: str, chosen: list[Hit]) -> list[Hit]:
    """The other occurrences of each found value, which no pattern may have matched there."""
    extra: list[Hit] = []
    for value in {h.value: h for h in chosen if len(h.value) >= MIN_RECURRING_CHARS}.values():
        start = text.find(value.value)
        while start >= 0:
            end = start + len(value.value)
            if all(end <= c.start or start >= c.end for c in chosen):
                extra.append(Hit(value.kind, start, end, value.value, 1))
            start = text.find(value.value, end)
    return extra


def _scan(text: str, env_vars: Sequence[str], *, patterns: bool) -> list[Hit]:
    hits: list[Hit] = list(_env_hits(env_vars)(text))
    if patterns:
        lowered = text.lower()
        hits.extend(_own_hits(text, lowered))
        hits.extend(context_hits(text, lowered))
        hits.extend(plugin_hits(text))
    if not hits:
        return []
    chosen = _select(hits)
    extra = _recurrences(text, chosen)
    return _select([*chosen, *extra]) if extra else chosen


def find_secrets(
    text: str,
    key_env_vars: Sequence[str] = DEFAULT_KEY_ENV_VARS,
    *,
    patterns: bool = True,
) -> tuple[str, list[SecretFinding]]:
    """Find secrets in ``text`` and return the redacted text with the findings.

    Args:
        text: The text to scan.
        key_env_vars: Names of environment variables whose current values are always
            redacted (values shorter than ``MIN_ENV_VALUE_CHARS`` are ignored).
        patterns: ``False`` redacts only the environment values and skips the detectors.

    Returns:
        The text with every secret replaced by its placeholder, and one finding per secret in
        order of position (offsets refer to the original text).
    """
    hits = _scan(text, key_env_vars, patterns=patterns)
    if not hits:
        return text, []
    findings = [
        SecretFinding(
            kind=h.kind, start=h.start, end=h.end, placeholder=placeholder_for(h.kind, h.value)
        )
        for h in hits
    ]
    parts: list[str] = []
    cursor = 0
    for finding in findings:
        parts.append(text[cursor : finding.start])
        parts.append(finding.placeholder)
        cursor = finding.end
    parts.append(text[cursor:])
    return "".join(parts), findings


def redact_text(text: str, key_env_vars: Sequence[str] = DEFAULT_KEY_ENV_VARS) -> str:
    """Return ``text`` with every secret replaced by its placeholder (for logs, errors, ledger).

    Args:
        text: Any text that may contain secrets.
        key_env_vars: Environment variables whose values are always redacted.

    Returns:
        The redacted text; identical to ``text`` when nothing was found.
    """
    return find_secrets(text, key_env_vars)[0]
