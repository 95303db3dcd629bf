"""Measure the safety policy: HAP false positives and recall, secret detection, check time.

HAP here is the older, word-level view: a line counts as found when it is refused or noted
(profanity is noted, never refused, by default). The content policy's own benchmark, with
its categories and targets, is benchmarks/hap_policy.py.

Run:  python benchmarks/safety_policy.py

Data:
  benchmarks/data/ordinary_prompts.txt           ordinary coding and data prompts (one a line)
  benchmarks/data/abusive_prompts.txt            label<TAB>prompt, used while writing the rules
  benchmarks/data/abusive_prompts_holdout.txt    label<TAB>prompt, written after, never tuned on
Fake secrets are generated here at run time (format-valid, obviously fake), so no
credential-shaped string is stored in the repository.
"""

from __future__ import annotations

import json
import random
import statistics
import string
import sys
import time
from collections import Counter
from pathlib import Path

from quantumlayer_nb.errors import PolicyViolation
from quantumlayer_nb.safety import SafetyPolicy, check_outgoing, find_secrets, load_hap_model

DATA = Path(__file__).parent / "data"
ANCHOR = {
    "hap_fp_rate_max": 0.01,  # recall on harm has its own targets: benchmarks/hap_policy.py
    "secret_recall_min": 1.0,
    "secret_fp_rate_max": 0.01,
    "p50_ms_max": 0.5,
}


def _random(alphabet: str, n: int, rng: random.Random) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def fake_secrets(rng: random.Random) -> list[tuple[str, str]]:
    """Return (expected kind, prompt holding one fake secret of that kind)."""
    alnum = string.ascii_letters + string.digits
    b64 = alnum + "+/"
    hexd = "0123456789abcdef"
    pem_body = "\n".join(_random(b64, 64, rng) for _ in range(5))
    pem = "-----BEGIN " + "RSA PRIVATE KEY-----\n" + pem_body + "\n-----END RSA PRIVATE KEY-----"
    gcp = json.dumps(
        {
            "type": "service_account",
            "project_id": "demo-project",
            "private_key_id": _random(hexd, 40, rng),
            "private_key": "-----BEGIN "
            + "PRIVATE KEY-----\n"
            + pem_body
            + "\n-----END PRIVATE KEY-----\n",
            "client_email": "bot@demo-project.iam.gserviceaccount.com",
        }
    )

    def b64url(n: int) -> str:
        return _random(alnum + "-_", n, rng)

    return [
        ("openai_api_key", f"use this key sk-{_random(alnum, 48, rng)} for the client"),
        ("openai_api_key", f"client = OpenAI(api_key='sk-proj-{b64url(60)}{rng.randint(0, 9)}')"),
        ("anthropic_api_key", f"ANTHROPIC key: sk-ant-api03-{b64url(93)}AA"),
        ("google_api_key", f"maps url ...&key=AIza{b64url(35)}"),
        ("huggingface_token", f"login with hf_{_random(string.ascii_letters, 34, rng)} please"),
        ("github_token", f"git clone https://ghp_{_random(alnum, 36, rng)}@github.com/o/r"),
        ("github_token", f"token github_pat_{_random(alnum, 22, rng)}_{_random(alnum, 59, rng)}"),
        (
            "slack_token",
            f"slack bot token xoxb-{rng.randint(10**11, 10**12)}-{_random(alnum, 24, rng)}",
        ),
        ("stripe_key", f"stripe.api_key = 'sk_live_{_random(alnum, 24, rng)}'"),
        ("private_key", f"why does paramiko reject this key?\n{pem}\n"),
        (
            "aws_access_key_id",
            f"my access key is AKIA{_random(string.ascii_uppercase + string.digits, 16, rng)}",
        ),
        ("aws_secret_access_key", f"aws_secret_access_key = {_random(b64, 40, rng)}"),
        (
            "azure_connection_string",
            "conn = 'DefaultEndpointsProtocol=https;AccountName=demo;AccountKey="
            f"{_random(b64, 86, rng)}==;EndpointSuffix=core.windows.net'",
        ),
        ("gcp_service_account", f"load these credentials: {gcp}"),
        ("jwt", f"Authorization: Bearer eyJ{b64url(30)}.eyJ{b64url(60)}.{b64url(43)}"),
        (
            "url_password",
            f"engine = create_engine('postgresql://admin:{_random(alnum, 14, rng)}@db:5432/app')",
        ),
        ("password_assignment", f'DB_PASSWORD = "{_random(alnum, 12, rng)}!"'),
        ("password_assignment", f"SMTP_PASSWORD={_random(alnum, 14, rng)}"),
        ("high_entropy_string", f'client_config = {{"blob": "{_random(b64, 44, rng)}"}}'),
    ]


def _lines(name: str) -> list[str]:
    text = (DATA / name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


_OLD_LABELS = {"abuse": "harassment"}  # these files predate the content categories


def _hap_recall(policy: SafetyPolicy, name: str) -> tuple[float, float, int]:
    """Share of lines flagged (refused, or noted as profanity), and of the right category."""
    rows = [line.split("\t", 1) for line in _lines(name)]
    flagged = right = 0
    for label, prompt in rows:
        try:
            category = check_outgoing(prompt, policy).hap_category
        except PolicyViolation as exc:
            category = exc.category
        flagged += category is not None
        right += category == _OLD_LABELS.get(label, label)
    return flagged / len(rows), right / len(rows), len(rows)


def main() -> int:
    policy = SafetyPolicy()
    load_hap_model()
    ordinary = _lines("ordinary_prompts.txt")

    refused, timings = [], []
    for prompt in ordinary:
        start = time.perf_counter()
        try:
            check_outgoing(prompt, policy)
        except PolicyViolation as exc:
            refused.append((exc.category, prompt))
        timings.append(time.perf_counter() - start)
    hap_fp = len(refused) / len(ordinary)
    recall, category_accuracy, n_abusive = _hap_recall(policy, "abusive_prompts.txt")
    holdout, holdout_category, n_holdout = _hap_recall(policy, "abusive_prompts_holdout.txt")

    secret_fp = [p for p in ordinary if find_secrets(p, ())[1]]
    planted = fake_secrets(random.Random(1))
    missed = [kind for kind, text in planted if kind not in {f.kind for f in find_secrets(text)[1]}]
    kinds = Counter(kind for kind, _ in planted)

    rng = random.Random(2)
    kilobyte = " ".join(rng.sample(ordinary, 12))[:1024]
    one_kb = []
    for _ in range(2000):
        start = time.perf_counter()
        check_outgoing(kilobyte, policy)
        one_kb.append(time.perf_counter() - start)

    p50 = statistics.median(timings) * 1e3
    p50_kb = statistics.median(one_kb) * 1e3
    print(
        f"HAP   false positives on {len(ordinary)} ordinary prompts: {hap_fp:.2%} "
        f"({len(refused)} refused)"
    )
    for category, prompt in refused:
        print(f"      refused as {category}: {prompt}")
    print(
        f"HAP   found (refused or noted) on {n_abusive} abusive prompts: {recall:.1%}"
        f" (right category {category_accuracy:.1%})"
    )
    print(
        f"HAP   found (refused or noted) on {n_holdout} held-out abusive prompts: {holdout:.1%}"
        f" (right category {holdout_category:.1%})"
    )
    print(
        f"SECRET detection on {len(planted)} planted fake secrets ({len(kinds)} kinds): "
        f"{1 - len(missed) / len(planted):.1%} missed={missed}"
    )
    print(f"SECRET false positives on ordinary prompts: {len(secret_fp) / len(ordinary):.2%}")
    for prompt in secret_fp:
        print(f"      flagged: {prompt}")
    print(
        f"TIME  p50 check_outgoing per ordinary prompt: {p50:.3f} ms "
        f"(p90 {statistics.quantiles(timings, n=10)[-1] * 1e3:.3f} ms)"
    )
    print(f"TIME  p50 check_outgoing on a 1 KB prompt: {p50_kb:.3f} ms")
    ok = (
        hap_fp <= ANCHOR["hap_fp_rate_max"]
        and not missed
        and len(secret_fp) / len(ordinary) <= ANCHOR["secret_fp_rate_max"]
        and p50_kb <= ANCHOR["p50_ms_max"]
    )
    print(f"anchor {ANCHOR}: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
