"""The detect-secrets layer of the secret scanner (loaded on first need).

Runs the maintained ``detect-secrets`` plugins through their ``analyze_string`` method (no
file scanning, no verification requests) on short windows of the text: around long tokens
for the token formats and high-entropy strings, and after secret-ish keywords for
``password = "..."`` style assignments.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from quantumlayer_nb.safety._secret_values import PLACEHOLDER_VALUES, is_literal_secret

__all__ = ["PLACEHOLDER_VALUES", "Hit", "plugin_hits"]


@dataclass(frozen=True)
class Hit:
    """A secret with its value; internal only, never leaves the safety package."""

    kind: str
    start: int
    end: int
    value: str
    priority: int


_CANDIDATE_LINE = re.compile(
    r"[A-Za-z0-9+/=_.:-]{20,}|(?i:pass|pwd|secret|token|api.?key|credential|auth|private)"
)
_LONG_TOKEN = re.compile(r"[A-Za-z0-9+/=_.:-]{20,}")
# Every keyword _CANDIDATE_LINE looks for contains one of these ("api.?key" contains "api").
_CANDIDATE_WORDS = ("pass", "pwd", "secret", "token", "api", "credential", "auth", "private")
_DETECT_SECRETS_KINDS: dict[str, str] = {
    "Artifactory Credentials": "artifactory_token",
    "AWS Access Key": "aws_access_key_id",
    "Azure Storage Account access key": "azure_connection_string",
    "Basic Auth Credentials": "url_password",
    "Discord Bot Token": "discord_bot_token",
    "GitHub Token": "github_token",
    "GitLab Token": "gitlab_token",
    "JSON Web Token": "jwt",
    "Mailchimp Access Key": "mailchimp_key",
    "NPM tokens": "npm_token",
    "OpenAI Token": "openai_api_key",
    "PyPI Token": "pypi_token",
    "SendGrid API Key": "sendgrid_key",
    "Slack Token": "slack_token",
    "Square OAuth Secret": "square_oauth_secret",
    "Stripe Access Key": "stripe_key",
    "Telegram Bot Token": "telegram_bot_token",
    "Twilio API Key": "twilio_key",
}
_SECRET_KEYWORD = re.compile(r"(?i)pass|pwd|secret|token|api.?key|credential|auth")
_HEX_ONLY = re.compile(r"^[0-9a-fA-F-]+$")


@dataclass
class _Plugins:
    named: list[Any]  # token-format detectors, run on windows around long tokens
    keyword: Any  # quoted `password = "..."` style assignments, run after secret keywords
    base64: Any
    hex: Any


_plugins: _Plugins | None = None
_plugins_lock = threading.Lock()


def _load_plugins() -> _Plugins:
    """Import detect-secrets and build its plugins once per process (thread-safe)."""
    global _plugins
    if _plugins is None:
        with _plugins_lock:
            if _plugins is None:
                from detect_secrets.core.plugins.util import (
                    get_mapping_from_secret_type_to_class,
                )
                from detect_secrets.plugins.high_entropy_strings import (
                    Base64HighEntropyString,
                    HexHighEntropyString,
                )
                from detect_secrets.plugins.keyword import KeywordDetector

                mapping: dict[str, Any] = dict(get_mapping_from_secret_type_to_class())
                named = [cls() for name, cls in mapping.items() if name in _DETECT_SECRETS_KINDS]
                _plugins = _Plugins(
                    named, KeywordDetector(), Base64HighEntropyString(), HexHighEntropyString()
                )
    return _plugins


def plugin_hits(text: str) -> Iterable[Hit]:
    if _LONG_TOKEN.search(text) is None:  # no line can hold a candidate (a cheaper look)
        lowered = text.lower()
        if not any(word in lowered for word in _CANDIDATE_WORDS):
            return
    offset = 0
    plugins: _Plugins | None = None
    for line in text.splitlines(keepends=True):
        if len(line) > 12 and _CANDIDATE_LINE.search(line):
            plugins = plugins or _load_plugins()
            yield from _line_hits(line, offset, plugins)
        offset += len(line)


def _windows(line: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Return the spans of a line worth scanning: around long tokens, after secret keywords.

    detect-secrets' regexes cost ~0.3 ms per kilobyte each; running them on these few short
    windows instead of the whole line keeps a typical prompt well under our time budget.
    """
    tokens = []
    for match in _LONG_TOKEN.finditer(line):
        if line.endswith("base64,", 0, match.start()):
            continue  # inline image or file data, not a credential
        tokens.append((max(0, match.start() - 3), match.end() + 3))
    keywords = [(max(0, m.start() - 40), m.end() + 160) for m in _SECRET_KEYWORD.finditer(line)]
    return _merge(tokens), _merge(keywords)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _line_hits(line: str, offset: int, plugins: _Plugins) -> Iterable[Hit]:
    token_windows, keyword_windows = _windows(line)

    def located(kind: str, value: str, priority: int, start: int, end: int) -> Iterable[Hit]:
        found = line.find(value, start, end)
        while found >= 0 and value:
            yield Hit(kind, offset + found, offset + found + len(value), value, priority)
            found = line.find(value, found + len(value), end)

    for start, end in token_windows:
        window = line[start:end]
        for plugin in plugins.named:
            kind = _DETECT_SECRETS_KINDS[plugin.secret_type]
            for value in set(plugin.analyze_string(window)):
                if value.lower() not in PLACEHOLDER_VALUES:
                    yield from located(kind, value, 55, start, end)
        for value in set(plugins.base64.analyze_string(window)):
            if (
                len(value) >= 20
                and not _HEX_ONLY.match(value)  # hashes and UUIDs: only next to a keyword
                and any(c.isdigit() for c in value)
                and any(c.isalpha() for c in value)
                and plugins.base64.calculate_shannon_entropy(value) >= plugins.base64.entropy_limit
            ):
                yield from located("high_entropy_string", value, 10, start, end)
    for start, end in keyword_windows:
        window = line[start:end]
        for value in set(plugins.keyword.analyze_string(window)):
            # A plain lower-case word (`secrets = "redact"`) is a setting, not a password.
            if is_literal_secret(value, quoted=True) and not value.isalpha():
                yield from located("password_assignment", value, 30, start, end)
        for value in set(plugins.hex.analyze_string(window)):
            if len(value) >= 16 and (
                plugins.hex.calculate_shannon_entropy(value) >= plugins.hex.entropy_limit
            ):
                yield from located("high_entropy_string", value, 10, start, end)
