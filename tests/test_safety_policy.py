"""The policy: size cap, modes, incoming checks, cheap import, lazy thread-safe loading."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from pydantic import ValidationError

from quantumlayer_nb.errors import PolicyViolation
from quantumlayer_nb.safety import (
    IncomingCheck,
    OutgoingCheck,
    SafetyPolicy,
    check_incoming,
    check_outgoing,
)

FAKE_GITHUB = "ghp_" + "Zq7" * 12  # built at run time, obviously fake


def test_import_is_cheap_and_loads_no_detector() -> None:
    code = (
        "import sys, quantumlayer_nb.safety\n"
        "heavy = ['detect_secrets', 'profanity_check', 'sklearn', 'numpy', 'litellm']\n"
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_prompt_over_max_chars_is_refused_with_size_category() -> None:
    with pytest.raises(PolicyViolation) as caught:
        check_outgoing("x" * 101, SafetyPolicy(max_prompt_chars=100))
    assert caught.value.category == "size"
    assert "max_prompt_chars" in str(caught.value)


def test_prompt_at_max_chars_passes() -> None:
    assert check_outgoing("x" * 100, SafetyPolicy(max_prompt_chars=100)).text == "x" * 100


def test_redact_mode_returns_redacted_text_and_findings() -> None:
    checked = check_outgoing(f"push with {FAKE_GITHUB}", SafetyPolicy())
    assert isinstance(checked, OutgoingCheck)
    assert checked.redacted
    assert FAKE_GITHUB not in checked.text
    assert checked.findings[0].kind == "github_token"
    assert checked.text.startswith("push with [REDACTED:github_token:")


def test_off_mode_sends_pattern_secrets_unchanged() -> None:
    text = f"push with {FAKE_GITHUB}"
    assert check_outgoing(text, SafetyPolicy(secrets="off")).text == text


def test_clean_prompt_is_returned_unchanged() -> None:
    prompt = "Write a function that parses ISO-8601 dates."
    checked = check_outgoing(prompt, SafetyPolicy())
    assert checked.text == prompt
    assert not checked.redacted


def test_incoming_response_is_redacted_and_scored() -> None:
    checked = check_incoming(f"TOKEN = '{FAKE_GITHUB}'", SafetyPolicy(secrets="refuse"))
    assert isinstance(checked, IncomingCheck)
    assert FAKE_GITHUB not in checked.text
    assert checked.hap_score is not None


def test_incoming_hap_score_is_none_when_hap_is_off() -> None:
    assert check_incoming("hello", SafetyPolicy(hap="off")).hap_score is None


def test_policy_rejects_unknown_mode_and_unknown_field() -> None:
    with pytest.raises(ValidationError):
        SafetyPolicy(secrets="mask")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        SafetyPolicy(hap_treshold=0.5)  # type: ignore[call-arg]


def test_threshold_outside_zero_one_is_rejected() -> None:
    with pytest.raises(ValidationError):
        SafetyPolicy(hap_threshold=1.5)


def test_concurrent_first_use_gives_identical_results() -> None:
    prompts = [f"item {i}: use {FAKE_GITHUB} and fix this fucking bug" for i in range(16)]

    def run(prompt: str) -> str | None:
        try:
            return check_outgoing(prompt, SafetyPolicy()).hap_category
        except PolicyViolation as exc:
            return exc.category

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, prompts))
    assert results == ["profanity"] * 16  # noted, not refused, by every thread alike


def test_one_kilobyte_prompt_check_is_fast() -> None:
    prompt = ("Refactor the loader to stream rows lazily and retry on timeouts. " * 16)[:1024]
    policy = SafetyPolicy()
    check_outgoing(prompt, policy)  # load the detectors
    timings = []
    for _ in range(200):
        start = time.perf_counter()
        check_outgoing(prompt, policy)
        timings.append(time.perf_counter() - start)
    # The budget is 0.5 ms (see docs/trust.md); allow headroom for a loaded test machine.
    assert statistics.median(timings) < 0.002
