"""Secrets that have no format of their own are found by where they stand; ordinary code is not.

Values are random, format-valid and built at run time, so no credential-shaped string is
stored in the repository.
"""

from __future__ import annotations

import base64
import random
import string
import sys
from pathlib import Path

import pytest

from quantumlayer_nb.safety import SafetyPolicy, check_outgoing, find_secrets, redact_text

_RNG = random.Random(7)
_ALNUM = string.ascii_letters + string.digits


def _fake(n: int, alphabet: str = _ALNUM) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


_PASSWORD = "Hunter2xQz9!"
_TOKEN = _fake(32)
_AWS_SECRET = _fake(40, _ALNUM + "+/")

# (name, line, the secret in it). Each is a format issue 10 listed as leaving unredacted.
FORMATS = [
    ("bearer header", f"Authorization: Bearer {_TOKEN}", _TOKEN),
    ("bearer in curl", f'curl -H "Authorization: Bearer {_TOKEN}" https://api.example.com', _TOKEN),
    ("yaml password", f"password: {_PASSWORD}", _PASSWORD),
    ("--password option", f"mysqldump --password {_PASSWORD} shop", _PASSWORD),
    ("--password= option", f"app --user admin --password={_PASSWORD}", _PASSWORD),
    ("mysql -p", f"mysql -u root -p{_PASSWORD} shop", _PASSWORD),
    ("mysqldump -p", f"mysqldump -uroot -p{_PASSWORD} --all-databases", _PASSWORD),
    ("api_key yaml", f"api_key: {_TOKEN}", _TOKEN),
    ("token= pair", f"token={_TOKEN}", _TOKEN),
    ("token in a query", f"https://api.example.com/v1/items?token={_TOKEN}", _TOKEN),
    ("DB_PASS env line", f"DB_PASS={_PASSWORD}", _PASSWORD),
    ("redis url without user", f"redis://:{_PASSWORD}@cache.internal:6379/0", _PASSWORD),
    ("https url with user", f"https://ana:{_PASSWORD}@git.example.com/org/repo.git", _PASSWORD),
    ("postgres url", f"postgresql://admin:{_PASSWORD}@db:5432/app", _PASSWORD),
    ("aws secret key", f"aws_secret_access_key = {_AWS_SECRET}", _AWS_SECRET),
    ("aws configure set", f"aws configure set aws_secret_access_key {_AWS_SECRET}", _AWS_SECRET),
    ("quoted password", f'db_password = "{_PASSWORD}"', _PASSWORD),
    ("json password", f'{{"user": "svc", "password": "{_PASSWORD}"}}', _PASSWORD),
    ("connection string", f"Server=db;User Id=sa;Password={_PASSWORD};", _PASSWORD),
    ("sshpass", f"sshpass -p {_PASSWORD} ssh ana@host", _PASSWORD),
    ("curl -u", f"curl -u ana:{_PASSWORD} https://api.example.com", _PASSWORD),
    ("basic header", "Authorization: Basic " + base64.b64encode(b"ana:pw-42x!").decode(),
     base64.b64encode(b"ana:pw-42x!").decode()),
    ("xml element", f"<password>{_PASSWORD}</password>", _PASSWORD),
    ("docker -e", f"docker run -e POSTGRES_PASSWORD={_PASSWORD} postgres:16", _PASSWORD),
]


@pytest.mark.parametrize(("name", "line", "secret"), FORMATS, ids=[f[0] for f in FORMATS])
def test_secret_in_this_format_is_redacted(name: str, line: str, secret: str) -> None:
    redacted, findings = find_secrets(line, ())
    assert findings, f"nothing found in {name}"
    assert secret not in redacted
    assert "[REDACTED:" in redacted


def test_a_value_found_once_is_redacted_wherever_it_recurs() -> None:
    text = (
        f'password = "{_PASSWORD}"\n'
        "Traceback (most recent call last):\n"
        f"psycopg2.OperationalError: password authentication failed: {_PASSWORD}"
    )
    redacted, findings = find_secrets(text, ())
    assert _PASSWORD not in redacted
    assert len({f.placeholder for f in findings}) == 1
    assert redacted.count(findings[0].placeholder) == 2


def test_the_traceback_line_of_a_fix_prompt_is_redacted_with_the_cell() -> None:
    cell = f'conn = connect(password="{_PASSWORD}")'
    traceback = f"OperationalError: FATAL: password {_PASSWORD!r} rejected"
    checked = check_outgoing(f"Fix this cell:\n{cell}\nIt raised:\n{traceback}", SafetyPolicy())
    assert _PASSWORD not in checked.text


def test_only_the_password_of_a_url_is_replaced() -> None:
    redacted = redact_text(f"redis://:{_PASSWORD}@cache.internal:6379/0", ())
    assert redacted.startswith("redis://:[REDACTED:url_password:")
    assert redacted.endswith("@cache.internal:6379/0")


ORDINARY = [
    'password_field = "password"',
    "token = tokenizer(text)",
    "def get_token(self):",
    "key=lambda x: x[1]",
    "password: str = Field(..., min_length=8)",
    "api_key: SecretStr | None = None",
    'password = os.environ["DB_PASSWORD"]',
    "api_key = settings.openai_api_key",
    'headers = {"Authorization": f"Bearer {token}"}',
    "max_tokens: 4096",
    'pad_token = "<pad>"',
    'unk_token = "[UNK]"',
    "secret = secrets.token_hex(16)",
    "if not token:\n    raise PermissionError('no token')",
    "assert token == expected_token",
    "mysql -u root -p mydb < dump.sql",
    "parser.add_argument('--password', help='database password')",
    "password: ${DB_PASSWORD}",
    "token: ${{ secrets.GITHUB_TOKEN }}",
    'api_key = "YOUR_API_KEY"',
    "OPENAI_API_KEY=your_key_here",
    'api_key_env = "OPENAI_API_KEY"',
    "compass = 'north'",
    'checksum = "d41d8cd98f00b204e9800998ecf8427e"',
    'EXPECTED_HASH = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"',
    "engine = create_engine('postgresql://user:password@localhost/db')",
    "curl -H \"Authorization: Bearer $TOKEN\" https://api.example.com/v1/items",
    "Explain the difference between an access token and a refresh token.",
]


@pytest.mark.parametrize("line", ORDINARY)
def test_ordinary_code_is_left_alone(line: str) -> None:
    assert find_secrets(line, ()) == (line, [])


def test_text_with_dotted_upper_case_letters_keeps_its_offsets() -> None:
    # "İ".lower() is two characters: offsets must still point at the secret.
    line = f"İİİ password: {_PASSWORD} done"
    redacted = redact_text(line, ())
    assert _PASSWORD not in redacted
    assert redacted.startswith("İİİ password: [REDACTED:")
    assert redacted.endswith("] done")


def test_benchmark_meets_its_figures_on_the_labelled_sets() -> None:
    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    try:
        import secret_detection as bench
    finally:
        sys.path.pop(0)
    cases = bench.secret_cases()
    ordinary = bench.ordinary_lines()
    assert len(cases) >= 200
    assert len({label for label, _, _ in cases}) >= 30
    assert len(ordinary) >= 500
    caught = sum(
        1 for _, line, values in cases
        if not any(v in find_secrets(line, ())[0] for v in values)
    )
    flagged = sum(1 for line in ordinary if find_secrets(line, ())[1])
    assert caught / len(cases) >= 0.95
    assert flagged / len(ordinary) <= 0.01
