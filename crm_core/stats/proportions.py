"""Intervals and sample sizes for conversion rates (proportions).

* :func:`wilson_interval` - the Wilson score interval for one proportion
  (Wilson 1927), which unlike the textbook ``p ± z·sqrt(p(1-p)/n)`` never
  leaves [0, 1] and does not collapse to a point at 0 or n successes.
* :func:`newcombe_diff_interval` - Newcombe's hybrid score interval for a
  difference ``p1 - p2`` (Newcombe 1998, Statistics in Medicine 17:873-890,
  method 10): with ``(l1, u1)`` and ``(l2, u2)`` the Wilson intervals,

      low  = d - sqrt((p1 - l1)² + (u2 - p2)²)
      high = d + sqrt((u1 - p1)² + (p2 - l2)²)

  It keeps close to its nominal coverage for small groups and rates near 0
  or 1, where the simple Wald interval fails badly (Newcombe's comparison of
  eleven methods), and is exact in its arithmetic: no iteration.
* :func:`sample_size_two_proportions` - customers per group for a two-sided
  two-proportion z-test (formula in its docstring).

No input makes these raise ZeroDivisionError: an empty group gives NaN
bounds, equal rates give no sample size (None).
"""

from __future__ import annotations

import math

from scipy.stats import norm


def _z(confidence: float) -> float:
    """The two-sided standard normal quantile for ``confidence`` (1.959964 for 0.95)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), e.g. 0.95; got {confidence!r}.")
    return float(norm.ppf(0.5 + confidence / 2))


def _check_counts(successes: int, n: int) -> None:
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"successes must lie between 0 and n; got {successes} of {n}.")


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for the proportion ``successes / n``.

    ``centre ± half`` with ``centre = (x + z²/2) / (n + z²)`` and
    ``half = z·sqrt(n) / (n + z²) · sqrt(p(1-p) + z²/(4n))``. At 0 successes the
    low bound is exactly 0 and at n the high bound exactly 1 (the formula's value,
    without floating-point dust), so the interval always contains ``p``.

    Args:
        successes: how many converted (0..n).
        n: how many customers.
        confidence: the coverage, e.g. 0.95.
    Returns:
        ``(low, high)``; ``(nan, nan)`` when ``n`` is 0.
    Raises:
        ValueError: ``successes`` outside 0..n, or ``confidence`` outside (0, 1).
    """
    _check_counts(successes, n)
    z = _z(confidence)
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    z2 = z * z
    centre = (successes + z2 / 2) / (n + z2)
    half = z * math.sqrt(n) / (n + z2) * math.sqrt(p * (1 - p) + z2 / (4 * n))
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exactly 0 and 1 there, whatever the rounding
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def newcombe_diff_interval(x1: int, n1: int, x2: int, n2: int,
                           confidence: float = 0.95) -> tuple[float, float]:
    """Newcombe's hybrid score interval for ``x1/n1 - x2/n2`` (Newcombe 1998, method 10).

    Args:
        x1, n1: conversions and customers of the first group (e.g. treatment).
        x2, n2: conversions and customers of the second group (e.g. control).
        confidence: the coverage, e.g. 0.95.
    Returns:
        ``(low, high)`` within [-1, 1]; ``(nan, nan)`` when either group is empty.
        Swapping the groups gives ``(-high, -low)``.
    Raises:
        ValueError: a count outside 0..n, or ``confidence`` outside (0, 1).
    """
    l1, u1 = wilson_interval(x1, n1, confidence)
    l2, u2 = wilson_interval(x2, n2, confidence)
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, low), min(1.0, high)


def sample_size_two_proportions(p1: float, p2: float, alpha: float = 0.05,
                                power: float = 0.8) -> int | None:
    """Customers needed in *each* group to detect ``p1`` against ``p2``.

    The normal-approximation formula for a two-sided two-proportion z-test
    with equal groups and no continuity correction (Fleiss, Levin & Paik 2003,
    *Statistical Methods for Rates and Proportions*, §4.2; the same equation
    R's ``power.prop.test`` solves):

        n = (z_{1-α/2}·sqrt(2·p̄(1-p̄)) + z_{1-β}·sqrt(p1(1-p1) + p2(1-p2)))² / (p1 - p2)²

    with ``p̄ = (p1 + p2) / 2`` and ``1 - β`` the power, rounded up to a whole
    customer. (A difference of 1e-9 customer is forgiven before rounding up, so
    floating-point noise cannot add one.)

    Args:
        p1, p2: the two conversion rates as fractions (0..1).
        alpha: the two-sided significance level (0.05).
        power: the chance of detecting the difference if it is real (0.8).
    Returns:
        The per-group size, or None when ``p1 == p2`` (no size detects no
        difference) or a rate is NaN.
    Raises:
        ValueError: a rate outside [0, 1], or ``alpha``/``power`` outside (0, 1).
    """
    if math.isnan(p1) or math.isnan(p2):
        return None
    if not (0 <= p1 <= 1 and 0 <= p2 <= 1):
        raise ValueError(f"rates must be fractions between 0 and 1; got {p1!r} and {p2!r}.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1 (exclusive), e.g. 0.05; got {alpha!r}.")
    if not 0 < power < 1:
        raise ValueError(f"power must be between 0 and 1 (exclusive), e.g. 0.8; got {power!r}.")
    if p1 == p2:
        return None
    z_alpha = _z(1 - alpha)
    z_beta = float(norm.ppf(power))
    p_bar = (p1 + p2) / 2
    root = z_alpha * math.sqrt(2 * p_bar * (1 - p_bar)) + z_beta * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return max(1, math.ceil(root ** 2 / (p1 - p2) ** 2 - 1e-9))
