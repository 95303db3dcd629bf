"""The unbiased pass@k estimator of the HumanEval paper (Chen et al., 2021, section 2.1).

``pass@k = 1 - C(n - c, k) / C(n, k)`` for ``n`` samples of which ``c`` passed, computed as
a numerically stable product instead of with large binomials.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["mean_pass_at_k", "pass_at_k"]


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of pass@k for one task.

    Args:
        n: samples generated for the task.
        c: samples that passed.
        k: the k of pass@k; must be at most ``n``.

    Returns:
        The probability that at least one of ``k`` samples drawn from the ``n`` passes.

    Raises:
        ValueError: ``k`` is larger than ``n``, or ``c`` is outside ``0..n``.
    """
    if not 0 <= c <= n:
        raise ValueError(f"pass_at_k: c={c} must be between 0 and n={n}.")
    if k < 1 or k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples per task, got n={n}. "
                         f"Generate more samples (n >= {k}) or lower k.")
    if n - c < k:
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):
        product *= 1.0 - k / i
    return 1.0 - product


def mean_pass_at_k(counts: Iterable[tuple[int, int]], k: int) -> float:
    """Mean pass@k over tasks given ``(n, c)`` per task; tasks with ``n < k`` are skipped.

    Returns:
        The mean, or ``nan`` when no task has ``k`` samples.
    """
    values = [pass_at_k(n, c, k) for n, c in counts if n >= k]
    return sum(values) / len(values) if values else float("nan")
