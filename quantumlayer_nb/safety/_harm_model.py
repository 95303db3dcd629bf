"""The learned stage of the content policy: a linear model over words, word pairs and meaning.

The rules (:mod:`quantumlayer_nb.safety._harm`) refuse what they recognise by structure; this
model catches harmful wording they have not seen, and overrules a rule that matched a
request it is sure is benign (``veto`` in :func:`quantumlayer_nb.safety.hap.assess_hap`). It
is a logistic regression over two feature sets side by side: TF-IDF of words and word pairs,
and the request's WordLlama sentence embedding (the semantic cache's embedder, whose weights
ship in its wheel), so wording it never saw can still land near wording it did. It is trained
by ``benchmarks/train_harm_model.py`` on the project's labelled requests (never on the
held-out rounds, ``HELD_OUT`` in ``benchmarks/hap_policy.py``) and shipped as
``harm_model.json`` beside this module. The TF-IDF part is evaluated here in pure Python,
with the same formula as scikit-learn's ``TfidfVectorizer(sublinear_tf=True)``; the training
script checks the whole score against scikit-learn's ``LogisticRegression`` on
every training request before it writes the file.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from quantumlayer_nb.safety._harm_rules import HarmCategory

__all__ = ["MIN_WORDS", "HarmModel", "enough_words", "load_harm_model"]

TOKEN = re.compile(r"[a-z]+")  # the vectorizer's token pattern, on normalised text
MODEL_FILE = "harm_model.json"
EMBEDDED_CHARS = 400
"""How much of a request the embedding reads: the labelled requests it was trained on are
under 200 characters, and tokenizing costs about 1 µs a character (a prompt with a long
``context=`` description would otherwise pay milliseconds). The words are read in full."""

MIN_WORDS = 6
"""The fewest words on which the learned stage refuses by itself. Every labelled harmful
request has at least six; below that a text is mostly the model's intercept and a noisy
embedding ("tell me a joke" scored 0.96), and is left to the rules. The veto, which can only
let a rule's match through, reads any length."""


def enough_words(normalised: str) -> bool:
    """Whether ``normalised`` has the :data:`MIN_WORDS` the learned stage needs to refuse."""
    return len(TOKEN.findall(normalised)) >= MIN_WORDS


def features(normalised: str, stop_words: frozenset[str] = frozenset()) -> Counter[str]:
    """Words and adjacent word pairs of ``normalised`` text, with their counts.

    ``stop_words`` are dropped before the pairs are formed, as scikit-learn's vectorizer does.
    """
    words = [word for word in TOKEN.findall(normalised) if word not in stop_words]
    terms: Counter[str] = Counter(words)
    terms.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    return terms


def embed(normalised: str) -> Sequence[float]:
    """The request's sentence embedding (of its first ``EMBEDDED_CHARS``; unit length)."""
    from quantumlayer_nb.cache.embed import default_embedder

    vectors = default_embedder().embed([normalised[:EMBEDDED_CHARS]], remember=False)
    return vectors[0]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class HarmModel:
    """The shipped weights.

    Attributes:
        terms: Per word or word pair: its idf, its harm weight and one weight per category.
        intercept: The harm model's intercept.
        categories: The categories the second model names, in its order.
        category_intercepts: The second model's intercepts.
        embedding: The harm weights of the embedding's dimensions (empty: words only).
        category_embedding: Per category, the weights of the embedding's dimensions.
        embedder: Embeds a normalised request (tests pass their own).
        stop_words: Words the features leave out (function words and first- and second-person
            pronouns: they carry how a request is written, not what it asks).
    """

    terms: dict[str, tuple[float, float, tuple[float, ...]]]
    intercept: float
    categories: tuple[HarmCategory, ...]
    category_intercepts: tuple[float, ...]
    embedding: Any = ()
    category_embedding: Any = ()
    embedder: Callable[[str], Sequence[float]] = embed
    stop_words: frozenset[str] = frozenset()

    def probability(self, normalised: str) -> float:
        """The probability that ``normalised`` asks for harm."""
        return self.assess(normalised)[0]

    def assess(self, normalised: str) -> tuple[float, HarmCategory]:
        """The probability that ``normalised`` asks for harm, and the likeliest category."""
        harm = 0.0
        by_category = [0.0] * len(self.categories)
        norm = 0.0
        for term, count in features(normalised, self.stop_words).items():
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
        scores = [s * scale + b for s, b in zip(by_category, self.category_intercepts,
                                                strict=True)]
        if len(self.embedding):
            vector = self.embedder(normalised)
            logit += float(self.embedding @ vector)
            scores = [s + float(v) for s, v in zip(scores, self.category_embedding @ vector,
                                                   strict=True)]
        probability = 1.0 / (1.0 + math.exp(-logit)) if logit > -700 else 0.0
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
    embedding: Any = ()
    category_embedding: Any = ()
    if "embedding" in raw:
        import numpy as np

        weights = raw["embedding"]
        if not isinstance(weights, dict):
            raise ValueError("harm model: 'embedding' must be an object")
        embedding = np.asarray(weights["harm"], dtype=np.float32)
        category_embedding = np.asarray(weights["categories"], dtype=np.float32)
        if category_embedding.shape != (len(categories), len(embedding)):
            raise ValueError("harm model: one row of embedding weights per category")
    return HarmModel(
        terms=terms,
        intercept=float(raw["intercept"]),  # type: ignore[arg-type]
        categories=categories,  # type: ignore[arg-type]
        category_intercepts=tuple(float(b) for b in raw["category_intercepts"]),  # type: ignore[attr-defined]
        embedding=embedding,
        category_embedding=category_embedding,
        stop_words=frozenset(str(word) for word in raw.get("stop_words", ())),  # type: ignore[attr-defined]
    )


@functools.cache
def load_harm_model() -> HarmModel:
    """The shipped model, read once per process."""
    text = resources.files("quantumlayer_nb.safety").joinpath(MODEL_FILE).read_text(
        encoding="utf-8")
    return parse(json.loads(text))
