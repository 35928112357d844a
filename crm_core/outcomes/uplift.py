"""Uplift of a campaign's treatment group over its holdout, from counts the database summed.

The statistics are those of :mod:`crm_core.stats` (Newcombe's hybrid score interval for
the difference in conversion rates, Welch's t interval for revenue per customer, the
two-proportion sample size at 80 % power and 5 %, the plain-English verdict), applied to
per-group sums instead of one row per customer, so that a campaign of any size is
compared from a handful of numbers:

    rate      = conversions / customers
    mean      = revenue_sum / customers
    variance  = (revenue_sumsq - customers × mean²) / (customers - 1)     (sample variance)

The result has the shape of :func:`crm_core.stats.compare_groups`' (an
:class:`~crm_core.stats.UpliftResult` whose group is ``treatment`` and whose control is
``holdout``), so an experiment file and a campaign are shown the same way.
"""

from __future__ import annotations

import math

import pandas as pd

from crm_core.stats import GroupResult, GroupSummary, UpliftResult, compare_counts

TREATMENT, HOLDOUT = "treatment", "holdout"
UPLIFT_TABLE_COLUMNS = [
    "value", "group", "treatment_customers", "treatment_conversions", "treatment_rate", "control_customers",
    "control_conversions", "control_rate", "uplift_points", "uplift_low", "uplift_high", "relative_uplift",
    "treatment_revenue_per_customer", "control_revenue_per_customer", "revenue_uplift", "revenue_low",
    "revenue_high", "needed_per_group", "verdict",
]


def uplift_from_counts(counts: pd.DataFrame, *, by: str | None = None, with_revenue: bool = True,
                       confidence: float = 0.95) -> UpliftResult:
    """Compare the treatment group with the holdout, overall or per value of a split.

    Args:
        counts: rows of :func:`crm_core.views.outcomes.group_counts`: ``group`` (treatment or
            holdout), ``customers``, ``conversions``, ``revenue_sum``, ``revenue_sumsq``, and
            ``value`` when the counts are split (each value's treatment is compared with the
            same value's holdout).
        by: the name of the split (``segment``, ``scenario``, ``family``), kept as the result's ``by``.
        with_revenue: False when no revenue is known (revenue figures are then None).
        confidence: the coverage of the intervals.
    Returns:
        An UpliftResult: ``control`` the whole holdout, ``groups`` one GroupResult per value
        with treatment customers (``by`` the value; None without a split), ``controls`` the
        holdout per value (empty without a split).
    """
    split = "value" in counts.columns
    rows = counts if split else counts.assign(value=None)
    control = _summary(rows[rows["group"] == HOLDOUT], None, with_revenue)
    results, controls = [], []
    for value in _values(rows) if split else [None]:
        part = rows[_same(rows["value"], value)] if split else rows
        c = part[part["group"] == HOLDOUT]
        t = part[part["group"] == TREATMENT]
        if split:
            controls.append(_summary(c, value, with_revenue))
        if int(t["customers"].sum()) > 0:
            results.append(_compare(t, c, value, with_revenue, confidence))
    return UpliftResult(control=control, groups=tuple(results), controls=tuple(controls),
                        by=(by or "value") if split else None, confidence=confidence)


def uplift_table(result: UpliftResult) -> pd.DataFrame:
    """One row per comparison of ``result``: both groups' figures, the uplift and its intervals, the verdict.

    Rates and uplifts are fractions (``uplift_points`` too: 0.021 is 2.1 points); revenue in
    major units (NaN without revenue); ``value`` the split's value (None without a split),
    ``group`` the compared group (``treatment`` for a campaign; an experiment's group name).
    """
    controls = {c.by: c for c in result.controls}
    records = []
    for g in result.groups:
        c = controls.get(g.by, result.control) if result.by is not None else result.control
        revenue_ci = g.revenue_diff_ci or (math.nan, math.nan)
        records.append({
            "value": g.by, "group": g.group, "treatment_customers": g.n, "treatment_conversions": g.conversions,
            "treatment_rate": g.rate, "control_customers": c.n, "control_conversions": c.conversions,
            "control_rate": c.rate, "uplift_points": g.diff, "uplift_low": g.diff_ci[0], "uplift_high": g.diff_ci[1],
            "relative_uplift": g.relative, "treatment_revenue_per_customer": g.revenue_per_customer,
            "control_revenue_per_customer": c.revenue_per_customer, "revenue_uplift": g.revenue_diff,
            "revenue_low": revenue_ci[0], "revenue_high": revenue_ci[1], "needed_per_group": g.needed_per_group,
            "verdict": g.verdict})
    frame = pd.DataFrame(records, columns=UPLIFT_TABLE_COLUMNS)
    for col in ("treatment_customers", "treatment_conversions", "control_customers", "control_conversions"):
        frame[col] = frame[col].astype("int64")
    floats = [c for c in UPLIFT_TABLE_COLUMNS if c.endswith(("_rate", "_points", "_low", "_high", "_uplift",
                                                             "_customer"))]
    frame[floats] = frame[floats].apply(pd.to_numeric, errors="coerce").astype("float64")
    frame["needed_per_group"] = frame["needed_per_group"].astype("Int64")
    frame["verdict"] = frame["verdict"].astype("string")
    return frame


def _values(rows: pd.DataFrame) -> list:
    """The split's values in order, a missing value last."""
    present = [v for v in pd.unique(rows["value"]) if not pd.isna(v)]
    return sorted(present, key=str) + ([None] if rows["value"].isna().any() else [])


def _same(values: pd.Series, value) -> pd.Series:
    return values.isna() if value is None else (values == value).fillna(False)


def _totals(rows: pd.DataFrame) -> tuple[int, int, float, float]:
    """``(customers, conversions, revenue mean, revenue variance)`` of some count rows (NaN where undefined)."""
    n, x = int(rows["customers"].sum()), int(rows["conversions"].sum())
    total, total_sq = float(rows["revenue_sum"].sum()), float(rows["revenue_sumsq"].sum())
    mean = total / n if n else math.nan
    var = max(0.0, (total_sq - n * mean * mean) / (n - 1)) if n > 1 else math.nan
    return n, x, mean, var


def _summary(rows: pd.DataFrame, value, with_revenue: bool) -> GroupSummary:
    n, x, mean, _ = _totals(rows)
    return GroupSummary(group=HOLDOUT, n=n, conversions=x, rate=x / n if n else math.nan,
                        revenue_per_customer=mean if with_revenue else None, by=value)


def _compare(treated: pd.DataFrame, held: pd.DataFrame, value, with_revenue: bool, confidence: float) -> GroupResult:
    """The treatment rows against the holdout rows (crm_core.stats.compare_counts on their totals)."""
    return compare_counts(TREATMENT, value, _totals(treated), _totals(held), with_revenue=with_revenue,
                          confidence=confidence)
