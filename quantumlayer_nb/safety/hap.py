"""The content policy's detector: harm aimed at a group or a person, and profanity.

Two signals, combined:

* **Our rules** (:mod:`quantumlayer_nb.safety._harm`) for harm with a target: hate against a
  protected group (discrimination by design included), harassment and threats, doxxing and
  sexual content involving minors. A rule needs a target and a goal of harm, so ``kill the
  process`` or ``inject the session`` never match, and a request that studies harm ("detect
  harassment in chat logs", "check loan approvals for bias") passes.
* **alt-profanity-check**, a maintained linear model (TF-IDF over words + calibrated linear
  SVM) trained on offensive-language data. It scores profanity and insults; its verdict is the
  ``profanity`` category, which the default policy notes and never refuses (people swear at
  their code). Measured against ``better-profanity`` (a word list), it had no false positives
  on ordinary coding prompts where the word list refused 14 % (``kill``, ``strip``, ...).

The model is loaded on first use, once per process. Its weights are then evaluated in pure
Python (same formula as scikit-learn, checked against it at load time), which costs
microseconds instead of the few milliseconds of scikit-learn's per-call overhead.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from quantumlayer_nb.safety._harm import HarmCategory, find_harm, harm_matches, normalise
from quantumlayer_nb.safety._harm_model import enough_words, load_harm_model

__all__ = [
    "DEFAULT_HAP_THRESHOLD",
    "DEFAULT_HARM_MODEL_THRESHOLD",
    "DEFAULT_HARM_MODEL_VETO",
    "HapCategory",
    "HapVerdict",
    "HarmCategory",
    "assess_hap",
    "load_hap_model",
]

HapCategory = HarmCategory
"""The categories: ``hate``, ``harassment``, ``doxxing``, ``minors`` and ``profanity``."""

DEFAULT_HAP_THRESHOLD = 0.8
"""Model probability at or above which a text counts as profane (see docs/trust.md)."""

DEFAULT_HARM_MODEL_THRESHOLD = 0.95
"""Learned-stage probability at or above which a request the rules pass is harmful
(measured round by round by ``benchmarks/hap_learned.py``; see docs/benchmarks.md)."""

DEFAULT_HARM_MODEL_VETO = 0.1
"""Below this learned-stage probability for the sentence a rule matched, the match is
overruled (the rules' false refusals are requests that study or report harm)."""

_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # the vectorizer's own token pattern
_SEGMENT = re.compile(r"[^\n.!?;]+[.!?;]*\n*|\n+")
_CHUNK_CHARS = 60
# Everyday words of programming that the model learned as violent or offensive ("Kill it."
# scores 0.95). They are left out of the model's input; threats aimed at a person are the
# rules' job ("I will kill you", "kill yourself"), so they are still refused.


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_TECHNICAL_WORDS = _words(
    "kill kills killed killing execute executes executed execution abort aborts aborted master "
    "masters slave slaves dump dumps dumped dumping strip strips stripped stripping hit hits "
    "hitting fork forks forked forking bomb bombs nuke nuked destroy destroyed terminate "
    "terminated shoot hang hangs hung die dies dead zombie zombies orphan orphans child "
    "children parent attack attacks exploit exploits inject injection purge choke explode "
    "trigger triggers blow"
)


@dataclass(frozen=True)
class HapVerdict:
    """The result of a content check. Whether it is refused is the policy's decision.

    Attributes:
        flagged: Whether a category was found.
        category: ``"hate"``, ``"harassment"``, ``"doxxing"``, ``"minors"`` (a rule matched)
            or ``"profanity"`` (only the offensive-language model), else ``None``.
        score: The model's highest probability over the text's sentences (0..1).
        reason: A short description of what matched, without quoting the text.
    """

    flagged: bool
    category: HapCategory | None
    score: float
    reason: str


# --- the model, evaluated in pure Python ---------------------------------------------------
@dataclass(frozen=True)
class _LinearModel:
    weights: dict[str, tuple[float, tuple[float, ...]]]  # token -> (idf, one weight per fold)
    intercepts: tuple[float, ...]
    calibration: tuple[tuple[float, float], ...]  # (a, b) of each fold's sigmoid

    def probability(self, text: str) -> float:
        return self.probability_of_tokens(_TOKEN.findall(text.lower()))

    def probability_of_tokens(self, tokens: list[str]) -> float:
        folds = len(self.intercepts)
        sums = [0.0] * folds
        norm = 0.0
        for token, count in Counter(tokens).items():
            entry = self.weights.get(token)
            if entry is None:
                continue
            value = count * entry[0]
            norm += value * value
            for k, weight in enumerate(entry[1]):
                sums[k] += value * weight
        scale = 1.0 / math.sqrt(norm) if norm > 0.0 else 0.0
        total = 0.0
        for k in range(folds):
            a, b = self.calibration[k]
            decision = sums[k] * scale + self.intercepts[k]
            total += 1.0 / (1.0 + math.exp(a * decision + b))
        return total / folds


_token_scorer: Callable[[list[str]], float] | None = None
_model_lock = threading.Lock()


def _extract(vectorizer: object, classifier: object) -> _LinearModel:
    vocabulary: dict[str, int] = vectorizer.vocabulary_  # type: ignore[attr-defined]
    idf = [float(x) for x in vectorizer.idf_]  # type: ignore[attr-defined]
    folds = classifier.calibrated_classifiers_  # type: ignore[attr-defined]
    if any(fold.method != "sigmoid" or len(fold.calibrators) != 1 for fold in folds):
        raise ValueError("unexpected calibration")
    coefs = [[float(w) for w in fold.estimator.coef_[0]] for fold in folds]
    weights = {token: (idf[j], tuple(coef[j] for coef in coefs)) for token, j in vocabulary.items()}
    return _LinearModel(
        weights=weights,
        intercepts=tuple(float(fold.estimator.intercept_[0]) for fold in folds),
        calibration=tuple(
            (float(fold.calibrators[0].a_), float(fold.calibrators[0].b_)) for fold in folds
        ),
    )


def _model_cache_path() -> Path | None:
    """Where the extracted model is kept between processes, keyed by the library's version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("alt-profanity-check")
    except PackageNotFoundError:
        return None
    from quantumlayer_nb.llm._recipe_index import cache_folder

    return cache_folder().parent / f"profanity-model-{release}.json"


def _read_cached_model(path: Path | None) -> _LinearModel | None:
    if path is None:
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return _LinearModel(
            weights={token: (float(idf), tuple(float(w) for w in fold_weights))
                     for token, (idf, fold_weights) in raw["weights"].items()},
            intercepts=tuple(float(x) for x in raw["intercepts"]),
            calibration=tuple((float(a), float(b)) for a, b in raw["calibration"]),
        )
    except (OSError, ValueError, KeyError, TypeError):  # absent or damaged: extract again
        return None


def _write_cached_model(path: Path | None, model: _LinearModel) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({
            "weights": {token: [idf, list(ws)] for token, (idf, ws) in model.weights.items()},
            "intercepts": list(model.intercepts),
            "calibration": [list(pair) for pair in model.calibration],
        }), encoding="utf-8")
        os.replace(tmp, path)  # another process reads the whole file or none of it
    except OSError:
        pass  # a read-only cache folder: the next process extracts again


def _load_token_scorer() -> Callable[[list[str]], float]:
    global _token_scorer
    if _token_scorer is None:
        with _model_lock:
            if _token_scorer is None:
                # The model's weights, extracted once and kept on disk: a fresh process then
                # skips importing scikit-learn and unpickling the library's model (1-2 s).
                cache_path = _model_cache_path()
                cached = _read_cached_model(cache_path)
                if cached is not None:
                    _token_scorer = cached.probability_of_tokens
                    return _token_scorer
                from profanity_check import profanity_check as library

                def library_score(tokens: list[str]) -> float:
                    # Same tokens joined by spaces give the vectorizer the same features.
                    return float(library.predict_prob([" ".join(tokens)])[0])

                scorer: Callable[[list[str]], float] = library_score
                try:
                    fast = _extract(library.vectorizer, library.model)
                    probes = [
                        _TOKEN.findall(p)
                        for p in ("fix this shit", "kill the worker process", "you idiot", "hi")
                    ]
                    if all(
                        abs(fast.probability_of_tokens(p) - library_score(p)) < 1e-6 for p in probes
                    ):
                        scorer = fast.probability_of_tokens
                        _write_cached_model(cache_path, fast)
                except (AttributeError, IndexError, TypeError, ValueError):
                    pass  # a future model layout: keep the library's own (slower) scorer
                _token_scorer = scorer
    return _token_scorer


def load_hap_model() -> Callable[[str], float]:
    """Load the offensive-language model and the rules' data once per process; return the scorer.

    Call it from a background thread at start-up to take the ~2 s load off the first check.

    Returns:
        A function mapping a text to the model's probability that it is offensive.
    """
    scorer = _load_token_scorer()
    find_harm("")  # and the rules' slur list
    load_harm_model().assess("")  # and the learned stage's weights and embedder
    return lambda text: scorer(_TOKEN.findall(text.lower()))


def _chunks(lowered: str) -> list[str]:
    """Split into pieces of at least ``_CHUNK_CHARS`` along sentence and line boundaries."""
    if len(lowered) <= 2 * _CHUNK_CHARS:
        return [lowered]
    chunks: list[str] = []
    current = ""
    for segment in _SEGMENT.findall(lowered):
        current += segment
        if len(current) >= _CHUNK_CHARS:
            chunks.append(current)
            current = ""
    if current:
        chunks.append(current)
    return chunks


def assess_hap(
    text: str,
    threshold: float = DEFAULT_HAP_THRESHOLD,
    harm_threshold: float = DEFAULT_HARM_MODEL_THRESHOLD,
    harm_veto: float = DEFAULT_HARM_MODEL_VETO,
) -> HapVerdict:
    """Find the category of harm in ``text``, if any.

    The rules run on the whole text and win over the offensive-language model: a threat worded
    with swear words is ``harassment``, not ``profanity``. When an overrulable rule matches
    (:data:`quantumlayer_nb.safety._harm.OVERRULABLE`), the learned stage
    (:mod:`quantumlayer_nb.safety._harm_model`) scores the sentence the rule matched, and
    below ``harm_veto`` the match is overruled: those rules' false refusals are requests that
    study, report or defend against harm. Only that sentence is scored, so padding the
    request with harmless text does not overrule a rule. When no rule matches (or its match
    is overruled), the learned stage scores the whole text of at least
    :data:`~quantumlayer_nb.safety._harm_model.MIN_WORDS` words; at or above
    ``harm_threshold`` it names the category. Long texts are scored by the offensive-language
    model in pieces of a few sentences and the highest score counts, so one profane sentence
    is not diluted.

    Args:
        text: A prompt or a response.
        threshold: Model probability at or above which the text counts as ``profanity``.
        harm_threshold: Learned-stage probability at or above which a text the rules pass
            counts as harmful (1.0 or more: the learned stage is off).
        harm_veto: Learned-stage probability below which a rule's match is overruled (0.0:
            never; the learned stage being off, never either).

    Returns:
        The verdict, with the category the rules or the model point to.
    """
    lowered = normalise(text)
    scorer = _load_token_scorer()
    score = 0.0
    for chunk in _chunks(lowered):
        tokens = [t for t in _TOKEN.findall(chunk) if t not in _TECHNICAL_WORDS]
        score = max(score, scorer(tokens))
    learned = harm_threshold < 1.0
    # Each text is scored once: a sentence with several matches, and a one-sentence request
    # whose match was overruled and which is then scored as a whole.
    scored: dict[str, tuple[float, HarmCategory]] = {}

    def assess(part: str) -> tuple[float, HarmCategory]:
        if part not in scored:
            scored[part] = load_harm_model().assess(part)
        return scored[part]

    for harm in harm_matches(lowered):
        if not (learned and harm_veto > 0.0 and harm.overrulable_in(lowered)):
            return HapVerdict(True, harm.category, score, harm.reason)
        if assess(harm.sentence(lowered))[0] >= harm_veto:
            return HapVerdict(True, harm.category, score, harm.reason)
    if learned and enough_words(lowered):
        probability, category = assess(lowered)
        if probability >= harm_threshold:
            return HapVerdict(True, category, score,
                              f"learned classifier, probability {probability:.2f} >= "
                              f"{harm_threshold:.2f}")
    if score >= threshold:
        return HapVerdict(
            True,
            "profanity",
            score,
            f"offensive-language score {score:.2f} >= threshold {threshold:.2f}",
        )
    return HapVerdict(False, None, score, "")
