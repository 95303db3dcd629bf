"""Train the content policy's learned stage and write quantumlayer_nb/safety/harm_model.json.

Run:  python benchmarks/train_harm_model.py [--out PATH]

The model and its settings are the ones ``benchmarks/hap_learned.py`` measured round by round
(TF-IDF of words and word pairs and the WordLlama sentence embedding side by side, logistic
regression, C=50, a benign example weighing 3 harmful ones), trained on every labelled request
except the rounds in ``hap_policy.HELD_OUT`` (``hap_fresh44.txt`` and ``hap_fresh45.txt``),
which stay the never-trained-on figures of
``benchmarks/hap_policy.py``. A second model, over the same features and the harmful requests
only, names the category. The word features leave out ``hap_learned.STOP_WORDS``, and the file
lists them for the package's scorer. Before writing, the package's scorer is checked against
scikit-learn on every training request. Training is deterministic: the same data gives the
same file on one machine, and the same weights to float32 rounding on another
(``tests/test_harm_model.py`` checks the shipped one).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from hap_learned import (
    BENIGN_WEIGHT,
    STOP_WORDS,
    C,
    design,
    embeddings,
    fit,
    labelled,
    vectorizer,
)
from hap_policy import HELD_OUT

from quantumlayer_nb.safety._harm_model import parse

OUT = Path(__file__).parent.parent / "quantumlayer_nb" / "safety" / "harm_model.json"


def train() -> dict[str, object]:
    """The model document, checked against scikit-learn on the training requests."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rows = [row for row in labelled() if row[0] not in HELD_OUT]
    texts = [text for _, _, text in rows]
    labels = [label for _, label, _ in rows]
    harmful = np.array([label != "benign" for label in labels])
    words = vectorizer()
    x = design(words, texts, embeddings(texts), fit=True)
    model = fit(x, harmful)
    categories = sorted({label for label in labels if label != "benign"})
    which = np.flatnonzero(harmful)
    namer = LogisticRegression(C=C, max_iter=5000)
    namer.fit(x[which], [labels[i] for i in which])
    if list(namer.classes_) != categories:
        raise SystemExit(f"unexpected categories {namer.classes_}")
    idf = words.idf_
    size = len(idf)  # the word features come first, then the embedding's dimensions
    weights = model.coef_[0]
    terms = {
        term: [round(float(idf[j]), 6), round(float(weights[j]), 6),
               [round(float(namer.coef_[k][j]), 6) for k in range(len(categories))]]
        for term, j in sorted(words.vocabulary_.items())
    }
    document: dict[str, object] = {
        "about": "benchmarks/train_harm_model.py: TF-IDF words and word pairs and the WordLlama "
                 f"sentence embedding, logistic regression C={C}, benign weight {BENIGN_WEIGHT}; "
                 f"trained on {len(rows)} labelled requests, never on "
                 + " or ".join(f"hap_{name}.txt" for name in HELD_OUT),
        "intercept": round(float(model.intercept_[0]), 6),
        "categories": categories,
        "stop_words": sorted(STOP_WORDS),
        "category_intercepts": [round(float(b), 6) for b in namer.intercept_],
        "terms": terms,
        "embedding": {
            "harm": [round(float(w), 6) for w in weights[size:]],
            "categories": [[round(float(w), 6) for w in namer.coef_[k][size:]]
                           for k in range(len(categories))],
        },
    }
    ours = parse(document)
    theirs = model.predict_proba(x)[:, 1]
    named = namer.predict(x)
    margins = np.sort(namer.decision_function(x), axis=1)
    for i, text in enumerate(texts):
        probability, category = ours.assess(text)
        if abs(probability - theirs[i]) > 1e-4:
            raise SystemExit(f"scorer disagrees with scikit-learn ({probability} vs "
                             f"{theirs[i]}) on: {text}")
        tie = margins[i, -1] - margins[i, -2] < 1e-4  # float32 weights may break a tie apart
        if category != named[i] and not tie:
            raise SystemExit(f"category disagrees with scikit-learn on: {text}")
    return document


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    document = train()
    args.out.write_text(json.dumps(document, separators=(",", ":"), sort_keys=True) + "\n",
                        encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB, "
          f"{len(document['terms'])} terms)")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
