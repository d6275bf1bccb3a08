"""Summary statistics reported by the benchmarks: mean and a 95% Student-t interval over seeds."""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy import stats

__all__ = ["format_interval", "mean_ci95"]


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


def format_interval(half_width: float | None, width: int = 7, precision: int = 3) -> str:
    """A half-width right-aligned in `width` characters; "n/a" when there is none (one value: nan or None)."""
    if half_width is None or not math.isfinite(half_width):
        return f"{'n/a':>{width}}"
    return f"{half_width:>{width}.{precision}f}"
