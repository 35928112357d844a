"""Intervals for a difference of means: Welch's t interval.

Revenue per customer is skewed (most customers spend nothing, a few spend a
lot) and the groups rarely share a variance, so the interval does not pool
the variances: Welch (1947) with the Welch-Satterthwaite degrees of freedom

    se² = s_a²/n_a + s_b²/n_b
    df  = se⁴ / ((s_a²/n_a)² / (n_a - 1) + (s_b²/n_b)² / (n_b - 1))
    mean_a - mean_b ± t_{df, 1-α/2} · se

— the same interval as ``scipy.stats.ttest_ind(a, b, equal_var=False)``.

Degenerate cases, by rule rather than by accident:

* a group with fewer than two values has no variance estimate: ``(nan, nan)``;
* both groups without spread (every customer spent the same within each
  group): se is 0 and the interval is the point ``(d, d)``; the data show
  no noise, so there is nothing to widen it by.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import t as student_t


def welch_interval(a, b, confidence: float = 0.95) -> tuple[float, float]:
    """Welch's t interval for ``mean(a) - mean(b)``.

    Args:
        a: the first group's values (e.g. revenue per treated customer); NaN values are ignored.
        b: the second group's values (e.g. the control's).
        confidence: the coverage, e.g. 0.95.
    Returns:
        ``(low, high)``; ``(nan, nan)`` when a group has fewer than two values,
        ``(d, d)`` when neither group varies (see the module docstring).
    Raises:
        ValueError: ``confidence`` outside (0, 1).
    """
    x = np.asarray(a, dtype="float64").ravel()
    y = np.asarray(b, dtype="float64").ravel()
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    var_a = float(x.var(ddof=1)) if len(x) > 1 else math.nan
    var_b = float(y.var(ddof=1)) if len(y) > 1 else math.nan
    mean_a = float(x.mean()) if len(x) else math.nan
    mean_b = float(y.mean()) if len(y) else math.nan
    return welch_interval_from_summary(mean_a, var_a, len(x), mean_b, var_b, len(y), confidence)


def welch_interval_from_summary(mean_a: float, var_a: float, n_a: int, mean_b: float, var_b: float, n_b: int,
                                confidence: float = 0.95) -> tuple[float, float]:
    """Welch's t interval for ``mean_a - mean_b`` from each group's mean, variance (ddof=1) and size.

    The form to use after a ``groupby(...).agg(["mean", "var", "size"])``: the
    raw values are not needed again. Same rules as :func:`welch_interval`.

    Returns:
        ``(low, high)``; ``(nan, nan)`` when ``n_a`` or ``n_b`` is below 2.
    Raises:
        ValueError: ``confidence`` outside (0, 1).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), e.g. 0.95; got {confidence!r}.")
    if n_a < 2 or n_b < 2:
        return math.nan, math.nan
    d = mean_a - mean_b
    va, vb = var_a / n_a, var_b / n_b
    se2 = va + vb
    if se2 == 0:
        return d, d
    ra, rb = va / se2, vb / se2  # shares of se², so tiny variances cannot underflow to 0/0
    df = 1.0 / (ra ** 2 / (n_a - 1) + rb ** 2 / (n_b - 1))
    half = float(student_t.ppf(0.5 + confidence / 2, df)) * math.sqrt(se2)
    return d - half, d + half
