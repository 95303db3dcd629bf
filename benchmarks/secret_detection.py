"""Measure secret detection: recall per format, false positives on ordinary code, time per line.

Run:  python benchmarks/secret_detection.py [--show-misses]

Data:
  benchmarks/data/secret_lines.txt         format<TAB>template: one secret-bearing line each,
                                           its secret material generated here from a fixed
                                           seed (no credential-shaped string is stored)
  benchmarks/data/secret_lines_holdout.txt the same, written after the rules were frozen and
                                           never used to tune them (reported apart)
  benchmarks/data/ordinary_code_lines.txt  ordinary code, config, shell and prose lines, many
                                           with the words key, token, password or secret

A secret line is detected when none of its generated values is left in the redacted text
(finding the line but leaving part of the value does not count). An ordinary line is a false
positive when anything in it is redacted. Environment values are not used (``key_env_vars=()``).
Prints the figures next to the time per line and compares them with the anchor.
"""

from __future__ import annotations

import base64
import random
import re
import statistics
import string
import sys
import time
from collections import defaultdict
from pathlib import Path

from quantumlayer_nb.safety import find_secrets

DATA = Path(__file__).parent / "data"
ANCHOR = {"recall_min": 0.95, "fp_rate_max": 0.01}
SEED = 20261202

_ALPHABETS = {
    "alnum": string.ascii_letters + string.digits,
    "upper": string.ascii_uppercase + string.digits,
    "lower": string.ascii_lowercase + string.digits,
    "letters": string.ascii_letters,
    "hex": "0123456789abcdef",
    "digits": string.digits,
    "b64": string.ascii_letters + string.digits + "+/",
    "b64url": string.ascii_letters + string.digits + "-_",
}
_FIELD = re.compile(r"\{(alnum|upper|lower|letters|hex|digits|b64url|b64|pw|basic|same)(?::(\d+))?\}")
_WORDS = ("Hunter", "Summer", "Dragon", "Monkey", "Falcon", "Winter", "Tiger", "Orange", "Rocket")
_SYMBOLS = "!#%&*+-=?^_~"


def _password(rng: random.Random) -> str:
    """A password shaped like the ones people pick: a word, digits, letters and a symbol."""
    word = rng.choice(_WORDS)
    digits = "".join(rng.choice(string.digits) for _ in range(rng.randint(1, 4)))
    tail = "".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(2, 5)))
    parts = [word, digits, tail, rng.choice(_SYMBOLS)]
    rng.shuffle(parts[1:])
    return "".join(parts)


def expand(template: str, rng: random.Random) -> tuple[str, list[str]]:
    """Fill a template's fields; return the line and the secret values put into it."""
    values: list[str] = []

    def fill(match: re.Match[str]) -> str:
        kind, size = match.group(1), int(match.group(2) or 0)
        if kind == "same":
            return values[-1]
        if kind == "pw":
            value = _password(rng)
        elif kind == "basic":
            value = base64.b64encode(f"ana:{_password(rng)}".encode()).decode()
        else:
            value = "".join(rng.choice(_ALPHABETS[kind]) for _ in range(size))
        if len(value) >= 4:
            values.append(value)
        return value

    line = _FIELD.sub(fill, template.replace("\\n", "\n"))
    return line, values


def _lines(name: str) -> list[str]:
    text = (DATA / name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def secret_cases(
    seed: int = SEED, name: str = "secret_lines.txt"
) -> list[tuple[str, str, list[str]]]:
    """(format, line, generated values) for every template in a secret-lines file."""
    rng = random.Random(seed)
    cases = []
    for row in _lines(name):
        label, template = row.split("\t", 1)
        line, values = expand(template, rng)
        cases.append((label, line, values))
    return cases


def ordinary_lines() -> list[str]:
    """The ordinary code and config lines (a line break written as \\n is one)."""
    return [line.replace("\\n", "\n") for line in _lines("ordinary_code_lines.txt")]


def _time_per_line(lines: list[str], rounds: int) -> tuple[float, float]:
    timings = []
    for _ in range(rounds):
        for line in lines:
            start = time.perf_counter()
            find_secrets(line, ())
            timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1e6, statistics.quantiles(timings, n=10)[-1] * 1e6


def main(argv: list[str]) -> int:
    cases = secret_cases()
    ordinary = ordinary_lines()
    find_secrets("warm up the detect-secrets plugins: password = 'Hunter2xQz9!'", ())

    by_format: dict[str, list[bool]] = defaultdict(list)
    misses = []
    for label, line, values in cases:
        redacted = find_secrets(line, ())[0]
        caught = bool(values) and not any(value in redacted for value in values)
        by_format[label].append(caught)
        if not caught:
            misses.append((label, redacted))
    holdout = secret_cases(name="secret_lines_holdout.txt")
    holdout_misses = [
        (label, redacted)
        for label, line, values in holdout
        if not values or any(v in (redacted := find_secrets(line, ())[0]) for v in values)
    ]
    flagged = [find_secrets(line, ())[0] for line in ordinary if find_secrets(line, ())[1]]

    per_format_us = {
        label: _time_per_line([line for lab, line, _ in cases if lab == label], 5)[0]
        for label in by_format
    }
    secret_us, secret_p90 = _time_per_line([line for _, line, _ in cases], 5)
    ordinary_us, ordinary_p90 = _time_per_line(ordinary, 5)
    kilobyte = "\n".join(random.Random(3).sample(ordinary, 40))[:1024]
    kb_us, _ = _time_per_line([kilobyte], 500)

    detected = sum(sum(v) for v in by_format.values())
    recall = detected / len(cases)
    fp_rate = len(flagged) / len(ordinary)
    print(f"{'format':<26}{'lines':>6}{'recall':>9}{'us/line p50':>14}")
    for label in sorted(by_format):
        hits = by_format[label]
        print(
            f"{label:<26}{len(hits):>6}{sum(hits) / len(hits):>9.0%}"
            f"{per_format_us[label]:>14.1f}"
        )
    print()
    print(
        f"recall           {recall:.1%}  ({detected}/{len(cases)} secret lines, "
        f"{len(by_format)} formats)   time per line p50 {secret_us:.1f} us, p90 {secret_p90:.1f} us"
    )
    print(
        f"false positives  {fp_rate:.2%}  ({len(flagged)}/{len(ordinary)} ordinary lines)"
        f"        time per line p50 {ordinary_us:.1f} us, p90 {ordinary_p90:.1f} us"
    )
    holdout_recall = 1 - len(holdout_misses) / len(holdout)
    print(
        f"held-out recall  {holdout_recall:.1%}  ({len(holdout) - len(holdout_misses)}/"
        f"{len(holdout)} lines written after the rules were frozen)"
    )
    print(f"time for 1 KB of ordinary code lines: {kb_us:.0f} us")
    for redacted in flagged:
        print(f"  false positive: {redacted!r}")
    if "--show-misses" in argv:
        for label, redacted in misses:
            print(f"  missed [{label}]: {redacted!r}")
        for label, redacted in holdout_misses:
            print(f"  missed, held out [{label}]: {redacted!r}")
    elif misses:
        print(f"  {len(misses)} missed (run with --show-misses to list them)")
    ok = recall >= ANCHOR["recall_min"] and fp_rate <= ANCHOR["fp_rate_max"]
    print(f"anchor {ANCHOR}: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
