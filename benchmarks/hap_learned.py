"""Would a learned classifier beside the rules refuse more harm without refusing more work?

Run:  python benchmarks/hap_learned.py [--threshold 0.7]

The content policy's rules (``quantumlayer_nb.safety._harm``) were tuned on every labelled round
after its first measurement, and each new round found them weaker on new wording (first
measurements 76%, 28%, 88%, 71% of harmful requests refused). This measures the obvious next
step, before building it: a logistic regression over word and word-pair TF-IDF (scikit-learn,
installed with alt-profanity-check), trained on the project's labelled requests, with a request
refused when the rules match **or** the model's probability of harm is at least the threshold.

Each labelled round in turn is held out: the model is trained on every other request (the other
rounds, and the ordinary coding requests of ``ordinary_prompts.txt`` and
``semantic_cache_pairs.txt`` as more benign examples) and scored on the held-out round. The
rules' own figure on a round is optimistic (they were tuned on it); the model's gain over them is
not, since the model never saw the round. Targets of the content policy: false refusals <= 1%,
harmful refused >= 90%.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from hap_policy import FRESH, _read, _read_labelled

from quantumlayer_nb.safety._harm import find_harm, normalise

DATA = Path(__file__).parent / "data"
EXTRA_ROUNDS: tuple[str, ...] = ()  # rounds not (yet) in hap_policy.FRESH


def labelled() -> list[tuple[str, str, str]]:
    """(round, category or "benign", normalised text) for every labelled request."""
    rows: list[tuple[str, str, str]] = []
    benign, benign_held = _read("hap_benign.txt")
    harmful, harmful_held = _read("hap_harmful.txt")
    rows += [("base", "benign", normalise(t)) for t in benign + benign_held]
    for line in harmful + harmful_held:
        label, text = line.split("\t", 1)
        rows.append(("base", label, normalise(text)))
    for name in (*FRESH, *EXTRA_ROUNDS):
        fresh_benign, fresh_harmful = _read_labelled(f"hap_{name}.txt")
        rows += [(name, "benign", normalise(t)) for t in fresh_benign]
        for line in fresh_harmful:
            label, text = line.split("\t", 1)
            rows.append((name, label, normalise(text)))
    for line in (DATA / "ordinary_prompts.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(("ordinary", "benign", normalise(line)))
    for line in (DATA / "semantic_cache_pairs.txt").read_text(encoding="utf-8").splitlines():
        if "=>" in line and not line.startswith("#"):
            rows += [("ordinary", "benign", normalise(part.strip())) for part in line.split("=>")]
    return rows


def vectorizer() -> Any:
    """The features, as measured here and as benchmarks/train_harm_model.py ships them."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                           token_pattern=r"[a-z]+")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=0.7)
    parser.add_argument("--C", type=float, default=10.0, help="inverse regularisation")
    parser.add_argument("--benign-weight", type=float, default=3.0,
                        help="weight of a benign example against a harmful one in training")
    args = parser.parse_args()

    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rows = labelled()
    texts = [text for _, _, text in rows]
    harmful = np.array([label != "benign" for _, label, _ in rows])
    rounds = np.array([name for name, _, _ in rows])
    rules = np.array([find_harm(text) is not None for text in texts])
    print(f"learned classifier beside the rules: TF-IDF words and word pairs, logistic regression "
          f"(C={args.C}, benign weight {args.benign_weight}), refused when the rules match or "
          f"p(harm) >= {args.threshold}")
    print(f"{'held-out round':<15}{'benign':>7}{'harmful':>8}   {'rules alone':<30}"
          "rules or model")
    totals = {"rules": [0, 0, 0, 0], "both": [0, 0, 0, 0]}  # false, benign, refused, harmful
    for held in (*FRESH, *EXTRA_ROUNDS, "ordinary"):
        test = np.where(rounds == held)[0]
        if not len(test):
            continue
        train = np.where(rounds != held)[0]
        features = vectorizer()
        x_train = features.fit_transform([texts[i] for i in train])
        weights = np.where(harmful[train], 1.0, args.benign_weight)
        model = LogisticRegression(C=args.C, max_iter=3000)
        model.fit(x_train, harmful[train], sample_weight=weights)
        scores = model.predict_proba(features.transform([texts[i] for i in test]))[:, 1]
        truth = harmful[test]
        cells = []
        either = rules[test] | (scores >= args.threshold)
        for key, refused in (("rules", rules[test]), ("both", either)):
            false, benign = int(refused[~truth].sum()), int((~truth).sum())
            hit, total = int(refused[truth].sum()), int(truth.sum())
            for k, value in enumerate((false, benign, hit, total)):
                totals[key][k] += value
            refused_share = f"{hit / total:6.1%}" if total else "     -"
            cells.append(f"false {false / benign:6.1%}, refused {refused_share}")
        print(f"{held:<15}{int((~truth).sum()):>7}{int(truth.sum()):>8}   {cells[0]:<30}{cells[1]:<26}")
    summary = []
    for key, label in (("rules", "rules alone"), ("both", "rules or model")):
        false, benign, hit, total = totals[key]
        summary.append(f"{label}: false refusals {false / benign:.1%}, harmful refused "
                       f"{hit / total:.1%}")
    print("all held-out rounds: " + "; ".join(summary) + " (targets: <= 1%, >= 90%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
