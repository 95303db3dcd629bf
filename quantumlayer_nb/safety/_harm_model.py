"""The learned stage of the content policy: a linear model over words and word pairs.

The rules (:mod:`quantumlayer_nb.safety._harm`) refuse what they recognise by structure; this
model catches harmful wording they have not seen. It is a logistic regression over TF-IDF
of words and word pairs, trained by ``benchmarks/train_harm_model.py`` on the project's
labelled requests (never on ``hap_fresh5.txt``, the held-out round) and shipped as
``harm_model.json`` beside this module. It is evaluated here in pure Python, with the same
formula as scikit-learn's ``TfidfVectorizer(sublinear_tf=True)`` and ``LogisticRegression``
(the training script checks both agree on every training request before it writes the file).

A second linear model over the same features names the category of a request the first one
flags (hate, harassment, doxxing or minors).
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from importlib import resources

from quantumlayer_nb.safety._harm_rules import HarmCategory

__all__ = ["HarmModel", "load_harm_model"]

TOKEN = re.compile(r"[a-z]+")  # the vectorizer's token pattern, on normalised text
MODEL_FILE = "harm_model.json"


def features(normalised: str) -> Counter[str]:
    """Words and adjacent word pairs of ``normalised`` text, with their counts."""
    words = TOKEN.findall(normalised)
    terms: Counter[str] = Counter(words)
    terms.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    return terms


@dataclass(frozen=True)
class HarmModel:
    """The shipped weights: per term its idf, harm weight and one weight per category."""

    terms: dict[str, tuple[float, float, tuple[float, ...]]]
    intercept: float
    categories: tuple[HarmCategory, ...]
    category_intercepts: tuple[float, ...]

    def assess(self, normalised: str) -> tuple[float, HarmCategory]:
        """The probability that ``normalised`` asks for harm, and the likeliest category."""
        harm = 0.0
        by_category = [0.0] * len(self.categories)
        norm = 0.0
        for term, count in features(normalised).items():
            entry = self.terms.get(term)
            if entry is None:
                continue
            idf, weight, category_weights = entry
            value = (1.0 + math.log(count)) * idf
            norm += value * value
            harm += value * weight
            for k, category_weight in enumerate(category_weights):
                by_category[k] += value * category_weight
        scale = 1.0 / math.sqrt(norm) if norm > 0.0 else 0.0
        logit = harm * scale + self.intercept
        probability = 1.0 / (1.0 + math.exp(-logit)) if logit > -700 else 0.0
        scores = [s * scale + b for s, b in zip(by_category, self.category_intercepts,
                                                strict=True)]
        return probability, self.categories[scores.index(max(scores))]


def parse(raw: dict[str, object]) -> HarmModel:
    """The model from the JSON document ``benchmarks/train_harm_model.py`` writes."""
    terms_raw = raw["terms"]
    if not isinstance(terms_raw, dict):
        raise ValueError("harm model: 'terms' must be an object")
    terms = {
        str(term): (float(idf), float(weight), tuple(float(w) for w in weights))
        for term, (idf, weight, weights) in terms_raw.items()
    }
    categories = tuple(str(c) for c in raw["categories"])  # type: ignore[attr-defined]
    return HarmModel(
        terms=terms,
        intercept=float(raw["intercept"]),  # type: ignore[arg-type]
        categories=categories,  # type: ignore[arg-type]
        category_intercepts=tuple(float(b) for b in raw["category_intercepts"]),  # type: ignore[attr-defined]
    )


@functools.cache
def load_harm_model() -> HarmModel:
    """The shipped model, read once per process."""
    text = resources.files("quantumlayer_nb.safety").joinpath(MODEL_FILE).read_text(
        encoding="utf-8")
    return parse(json.loads(text))
