"""Summary statistics reported by the benchmarks: mean and a 95% Student-t interval over seeds."""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy import stats

__all__ = ["mean_ci95"]


def mean_ci95(values: Sequence[float]) -> tuple[float, float]:
    """(mean, half-width of the 95% t-interval); the half-width is nan for fewer than 2 values."""
    n = len(values)
    if n == 0:
        raise ValueError("no values to summarise")
    mean = sum(values) / n
    if n < 2:
        return mean, float("nan")
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, float(stats.t.ppf(0.975, n - 1) * math.sqrt(var / n))
