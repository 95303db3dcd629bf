"""Train the content policy's learned stage and write quantumlayer_nb/safety/harm_model.json.

Run:  python benchmarks/train_harm_model.py [--out PATH]

The model and its settings are the ones ``benchmarks/hap_learned.py`` measured round by round
(TF-IDF of words and word pairs, logistic regression, C=10, a benign example weighing 3
harmful ones), trained on every labelled request except ``hap_fresh5.txt``, which stays the
held-out round of ``benchmarks/hap_policy.py``. A second model, over the same features and the
harmful requests only, names the category. Before writing, the pure-Python scorer the package
uses is checked against scikit-learn on every training request. Training is deterministic:
the same data gives the same file (``tests/test_harm_model.py`` checks the shipped one).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from hap_learned import labelled, vectorizer

from quantumlayer_nb.safety._harm_model import parse

HELD_OUT = "fresh5"
OUT = Path(__file__).parent.parent / "quantumlayer_nb" / "safety" / "harm_model.json"
C = 10.0
BENIGN_WEIGHT = 3.0


def train() -> dict[str, object]:
    """The model document, checked against scikit-learn on the training requests."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rows = [row for row in labelled() if row[0] != HELD_OUT]
    texts = [text for _, _, text in rows]
    labels = [label for _, label, _ in rows]
    harmful = np.array([label != "benign" for label in labels])
    features = vectorizer()
    x = features.fit_transform(texts)
    model = LogisticRegression(C=C, max_iter=3000)
    model.fit(x, harmful, sample_weight=np.where(harmful, 1.0, BENIGN_WEIGHT))
    categories = sorted({label for label in labels if label != "benign"})
    which = np.flatnonzero(harmful)
    namer = LogisticRegression(C=C, max_iter=3000)
    namer.fit(x[which], [labels[i] for i in which])
    if list(namer.classes_) != categories:
        raise SystemExit(f"unexpected categories {namer.classes_}")
    idf = features.idf_
    weights = model.coef_[0]
    terms = {
        term: [round(float(idf[j]), 6), round(float(weights[j]), 6),
               [round(float(namer.coef_[k][j]), 6) for k in range(len(categories))]]
        for term, j in sorted(features.vocabulary_.items())
    }
    document: dict[str, object] = {
        "about": "benchmarks/train_harm_model.py: TF-IDF words and word pairs, logistic "
                 f"regression C={C}, benign weight {BENIGN_WEIGHT}; trained on "
                 f"{len(rows)} labelled requests, never on hap_{HELD_OUT}.txt",
        "intercept": round(float(model.intercept_[0]), 6),
        "categories": categories,
        "category_intercepts": [round(float(b), 6) for b in namer.intercept_],
        "terms": terms,
    }
    ours = parse(document)
    theirs = model.predict_proba(x)[:, 1]
    named = namer.predict(x)
    for i, text in enumerate(texts):
        probability, category = ours.assess(text)
        if abs(probability - theirs[i]) > 1e-4:
            raise SystemExit(f"scorer disagrees with scikit-learn ({probability} vs "
                             f"{theirs[i]}) on: {text}")
        if category != named[i]:
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
