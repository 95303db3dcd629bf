"""Secrets never leave: every kind is found and redacted, placeholders are stable."""

from __future__ import annotations

import json
import random
import string

import pytest

from quantumlayer_nb.errors import PolicyViolation
from quantumlayer_nb.safety import SafetyPolicy, check_outgoing, find_secrets, redact_text

_RNG = random.Random(42)
_ALNUM = string.ascii_letters + string.digits
_B64 = _ALNUM + "+/"


def _fake(alphabet: str, n: int) -> str:
    """Random, obviously fake but format-valid material, built at run time (never stored)."""
    return "".join(_RNG.choice(alphabet) for _ in range(n))


_PEM_BODY = "\n".join(_fake(_B64, 64) for _ in range(4))
_BEGIN, _END = "-----BEGIN ", "-----END "
_PEM = _BEGIN + "OPENSSH PRIVATE KEY-----\n" + _PEM_BODY + "\n" + _END + "OPENSSH PRIVATE KEY-----"
_GCP = json.dumps(
    {
        "type": "service_account",
        "private_key_id": _fake("0123456789abcdef", 40),
        "private_key": f"{_BEGIN}PRIVATE KEY-----\n{_PEM_BODY}\n{_END}PRIVATE KEY-----\n",
    }
)

# (kind, secret value, prompt template with {} where the value goes)
SECRETS = [
    ("openai_api_key", "sk-" + _fake(_ALNUM, 40) + "1", "client = OpenAI(api_key='{}')"),
    ("openai_api_key", "sk-proj-" + _fake(_ALNUM + "_-", 60) + "7", "key: {}"),
    ("anthropic_api_key", "sk-ant-api03-" + _fake(_ALNUM + "-_", 90), "ANTHROPIC={}"),
    ("google_api_key", "AIza" + _fake(_ALNUM + "_-", 35), "https://maps.example.com/?key={}"),
    ("huggingface_token", "hf_" + _fake(string.ascii_letters, 34), "login({!r})"),
    ("github_token", "ghp_" + _fake(_ALNUM, 36), "git push https://{}@github.com/o/r"),
    ("slack_token", "xoxb-" + _fake(string.digits, 12) + "-" + _fake(_ALNUM, 24), "token {}"),
    ("stripe_key", "sk_live_" + _fake(_ALNUM, 24), "stripe.api_key = '{}'"),
    ("private_key", _PEM, "why is this key rejected?\n{}\nthanks"),
    ("aws_access_key_id", "AKIA" + _fake(string.ascii_uppercase + string.digits, 16), "id {}"),
    ("aws_secret_access_key", _fake(_B64, 40), "aws_secret_access_key = {}"),
    (
        "azure_connection_string",
        _fake(_B64, 86) + "==",
        "DefaultEndpointsProtocol=https;AccountName=demo;AccountKey={};EndpointSuffix=x.net",
    ),
    (
        "jwt",
        "eyJ" + _fake(_ALNUM, 30) + ".eyJ" + _fake(_ALNUM, 50) + "." + _fake(_ALNUM, 43),
        "Authorization: Bearer {}",
    ),
    ("url_password", _fake(_ALNUM, 16), "postgresql://admin:{}@db.internal:5432/app"),
    ("password_assignment", _fake(_ALNUM, 12) + "!", 'db_password = "{}"'),
    ("password_assignment", _fake(_ALNUM, 14), "SMTP_PASSWORD={}"),
    ("high_entropy_string", _fake(_B64, 44), 'config = {{"blob": "{}"}}'),
    ("gitlab_token", "glpat-" + _fake(_ALNUM, 20), "CI token {}"),
]


@pytest.mark.parametrize(("kind", "value", "template"), SECRETS, ids=[s[0] for s in SECRETS])
def test_every_secret_kind_is_found_and_redacted(kind: str, value: str, template: str) -> None:
    prompt = "Please help.\n" + template.format(value)
    redacted, findings = find_secrets(prompt)
    assert kind in {f.kind for f in findings}
    assert value not in redacted
    assert "[REDACTED:" + kind + ":" in redacted


def test_gcp_service_account_json_is_redacted() -> None:
    redacted, findings = find_secrets("use these credentials: " + _GCP)
    assert {f.kind for f in findings} == {"gcp_service_account"}
    assert _PEM_BODY.splitlines()[0] not in redacted
    assert json.loads(_GCP)["private_key_id"] not in redacted


def test_placeholder_is_stable_across_calls_and_distinguishes_values() -> None:
    first, second = "sk-" + _fake(_ALNUM, 40) + "1", "sk-" + _fake(_ALNUM, 40) + "2"
    text = f"a={first} b={second} c={first}"
    redacted = redact_text(text)
    placeholders = [f.placeholder for f in find_secrets(text)[1]]
    assert placeholders[0] == placeholders[2] != placeholders[1]
    assert redact_text(text) == redacted
    assert redacted == f"a={placeholders[0]} b={placeholders[1]} c={placeholders[0]}"


def test_findings_hold_position_but_never_the_value() -> None:
    value = "ghp_" + _fake(_ALNUM, 36)
    prompt = f"token is {value} ok"
    finding = find_secrets(prompt)[1][0]
    assert (finding.start, finding.end) == (9, 9 + len(value))
    assert value not in repr(finding)
    assert value not in finding.model_dump_json()


def test_refuse_mode_names_kind_and_position_but_not_value() -> None:
    value = "AKIA" + _fake(string.ascii_uppercase + string.digits, 16)
    with pytest.raises(PolicyViolation) as caught:
        check_outgoing(f"line one\nmy key {value}", SafetyPolicy(secrets="refuse"))
    message = str(caught.value)
    assert caught.value.category == "secret"
    assert value not in message
    assert "AWS access key id" in message
    assert "line 2, column 8" in message
    assert 'secrets = "redact"' in message
    assert "environment variable" in message


def test_configured_env_var_value_is_redacted_without_any_pattern(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MY_VLLM_KEY", "local vllm key 42")
    policy = SafetyPolicy(key_env_vars=["MY_VLLM_KEY"])
    checked = check_outgoing("call it with local vllm key 42 please", policy)
    assert "local vllm key 42" not in checked.text
    assert [f.kind for f in checked.findings] == ["key_env_value"]


def test_env_var_values_are_redacted_even_when_secret_scanning_is_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "plain-looking-value-123")
    aws_id = "AKIA" + _fake(string.ascii_uppercase + string.digits, 16)
    checked = check_outgoing(
        f"plain-looking-value-123 and {aws_id}",
        SafetyPolicy(secrets="off", key_env_vars=["OPENAI_API_KEY"]),
    )
    assert "plain-looking-value-123" not in checked.text
    assert aws_id in checked.text


def test_short_env_values_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_FLAG_KEY", "1")
    assert redact_text("retry 1 time", ["MY_FLAG_KEY"]) == "retry 1 time"


@pytest.mark.parametrize(
    "text",
    [
        "Why does git show 3f9a1c2b7d4e5f60718293a4b5c6d7e8f9012345 fail?",
        "The sha256 is 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        'checksum = "d41d8cd98f00b204e9800998ecf8427e"',
        "Look up order 123e4567-e89b-12d3-a456-426614174000 in the orders table",
        'img = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42'
        'mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="',
        'password = os.environ["DB_PASSWORD"]',
        "token = get_token()",
        "max_tokens = 256",
        "connect to postgres://user:password@localhost/db",
        "API_KEY=${API_KEY}",
        "from sklearn.model_selection import train_test_split, cross_val_score",
        "def test_retry_honours_retry_after_header_and_backoff_with_jitter(): ...",
    ],
)
def test_ordinary_code_and_data_is_not_flagged(text: str) -> None:
    assert find_secrets(text, ())[1] == []


def test_hex_string_assigned_to_a_secret_name_is_flagged() -> None:
    text = 'api_secret = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"'
    assert find_secrets(text, ())[1] != []


def test_redact_text_uses_the_same_placeholders_as_check_outgoing() -> None:
    text = "key sk-" + _fake(_ALNUM, 40) + "9"
    assert redact_text(text) == check_outgoing(text, SafetyPolicy()).text
