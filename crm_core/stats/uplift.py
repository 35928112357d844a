"""Uplift of each experiment group over a control group: rates, intervals and a verdict.

:func:`compare_groups` takes one row per customer (the group they were in,
whether they converted, optionally their revenue and a column to split by)
and compares every other group with the control:

* conversion rate ``conversions / n`` and its difference from the control,
  with Newcombe's hybrid score interval (:mod:`crm_core.stats.proportions`);
  relative uplift ``diff / control rate`` (None when the control never converts);
* revenue per customer (blank revenue counts as 0: a customer without a
  figure spent nothing) and its difference, with Welch's t interval
  (:mod:`crm_core.stats.means`);
* the customers per group a two-sided test at level ``1 - confidence`` (5 %)
  with 80 % power would need to detect the observed difference in rate;
* :func:`verdict`, a sentence for the page and the report.

With ``by``, each group is compared with the control *of the same by-value*.
Aggregation is one pandas groupby; the per-group arithmetic afterwards runs
over the handful of summary rows (one per group and by-value), not customers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crm_core.stats.inputs import (NothingToCompare, UnknownControl, case_hint, check_columns, control_key,
                                   conversion_flags, group_keys, revenue_values)
from crm_core.stats.means import welch_interval_from_summary
from crm_core.stats.proportions import newcombe_diff_interval, sample_size_two_proportions


@dataclass(frozen=True)
class GroupSummary:
    """One group's figures: customers, conversions, rate (fraction) and revenue per customer (None without revenue)."""

    group: object
    n: int
    conversions: int
    rate: float
    revenue_per_customer: float | None
    by: object = None


@dataclass(frozen=True)
class GroupResult:
    """One group compared with its control; differences are ``group - control``, as fractions.

    ``diff_ci`` and ``revenue_diff_ci`` are ``(low, high)`` at the result's
    confidence; ``needed_per_group`` is the customers per group a test would
    need to detect ``diff`` (None when the rates are equal or undefined).
    """

    group: object
    by: object
    n: int
    conversions: int
    rate: float
    revenue_per_customer: float | None
    diff: float
    diff_ci: tuple[float, float]
    relative: float | None
    revenue_diff: float | None
    revenue_diff_ci: tuple[float, float] | None
    needed_per_group: int | None
    verdict: str


@dataclass(frozen=True)
class UpliftResult:
    """Every group against the control: ``control`` overall, ``controls`` per by-value (empty without ``by``)."""

    control: GroupSummary
    groups: tuple[GroupResult, ...]
    controls: tuple[GroupSummary, ...] = ()
    by: str | None = None
    confidence: float = 0.95

    def to_json_dict(self) -> dict:
        """The result as JSON-ready data: floats rounded to 6 decimals, NaN as None, intervals as lists.

        Keys: ``control`` (group, n, conversions, rate, revenue_per_customer),
        ``groups`` (one entry per group, and per by-value with ``by``), ``confidence``,
        and with ``by`` also ``controls`` (the control's figures per by-value).
        """
        out = {"confidence": self.confidence, "control": _summary_dict(self.control, with_by=False),
               "groups": [_result_dict(g, with_by=self.by is not None) for g in self.groups]}
        if self.by is not None:
            out["controls"] = [_summary_dict(c, with_by=True) for c in self.controls]
        return _plain(out)


def compare_groups(frame: pd.DataFrame, *, group: str, control, converted: str, revenue: str | None = None,
                   by: str | None = None, confidence: float = 0.95) -> UpliftResult:
    """Compare every group of ``frame[group]`` with the ``control`` group.

    Args:
        frame: one row per customer. Its index labels rows in error messages
            (``line N`` when the index is named ``line``, as :func:`crm_core.ingest.read_table` gives).
        group: the column saying which group a customer was in. Text values are trimmed.
        control: the control group's value in that column.
        converted: the column saying whether a customer converted: booleans, 1/0, or
            text true/false, yes/no, y/n (any case).
        revenue: optional numeric column of revenue per customer; blank counts as 0.
        by: optional column to split by; groups are then compared with the control of the same value.
        confidence: the coverage of the intervals (0.95).
    Returns:
        An :class:`UpliftResult`; groups sorted by (by-value, group).
    Raises:
        UnknownColumn: a named column is missing (the message lists the table's columns).
        UnknownControl: ``control`` does not occur (the message lists the values found).
        NothingToCompare: only the control group occurs.
        UnreadableValue: a converted flag that is not yes/no, a non-numeric revenue, or a blank
            group or by cell (the message names the first such row and its value).
    """
    check_columns(frame, group, converted, revenue, by)
    keys, control = group_keys(frame[group], group), control_key(frame[group], control)
    found = pd.unique(keys)
    if control not in set(found):
        shown = ", ".join(repr(v) for v in sorted(found, key=str)[:20]) + (" ..." if len(found) > 20 else "")
        raise UnknownControl(f"Control value {control!r} does not occur in column {group!r}; the values found are: "
                             f"{shown}.{case_hint(control, found)}")
    if len(found) == 1:
        raise NothingToCompare(f"Column {group!r} holds only the control value {control!r}: there is no other "
                               "group to compare with it.")
    rev = revenue_values(frame[revenue], revenue).to_numpy() if revenue is not None else np.nan
    work = pd.DataFrame({"by": group_keys(frame[by], by).to_numpy() if by is not None else 0,
                         "group": keys.to_numpy(),
                         "conv": conversion_flags(frame[converted], converted).to_numpy(dtype="int64"),
                         "rev": rev}, index=np.arange(len(frame)))
    stats = work.groupby(["by", "group"], sort=True).agg(
        n=("conv", "size"), conversions=("conv", "sum"), rev_mean=("rev", "mean"), rev_var=("rev", "var"))
    overall = work[work["group"] == control]
    control_all = _summary(control, None, len(overall), int(overall["conv"].sum()), float(overall["rev"].mean()),
                           with_revenue=revenue is not None)
    by_values = stats.index.get_level_values("by").unique()
    controls = {b: stats.loc[(b, control)] if (b, control) in stats.index else None for b in by_values}
    results = [_compare(g, b if by is not None else None, row, controls[b], revenue is not None, confidence)
               for (b, g), row in stats.iterrows() if g != control]  # one row per group and by-value
    per_by = tuple(_summary(control, b, *_counts(controls[b]), with_revenue=revenue is not None)
                   for b in by_values) if by is not None else ()
    return UpliftResult(control=control_all, groups=tuple(results), controls=per_by, by=by, confidence=confidence)


def verdict(diff: float, ci: tuple[float, float], *, needed_per_group: int | None = None,
            confidence: float = 0.95) -> str:
    """A plain-English sentence on a difference in conversion rate (fractions in, percentage points out).

    "Converts 2.1 points more than control (95 % interval +0.4 to +3.8 points): a real uplift.",
    the same with "less" and "a real drop", or, when the interval spans zero, "Too few customers
    to tell: ..." with the customers per group needed to detect a difference this size
    (rounded up to two significant figures from 100 on, so never understated).

    Args:
        diff: group rate minus control rate.
        ci: its interval ``(low, high)``; NaN bounds (an empty group) give "Cannot tell: ...".
        needed_per_group: from :func:`crm_core.stats.sample_size_two_proportions`; used when the
            interval spans zero.
        confidence: the interval's coverage, shown as "95 %".
    Returns:
        One or two sentences.
    """
    low, high = ci
    if any(math.isnan(v) for v in (diff, low, high)):
        return "Cannot tell: one of the two groups has no customers."
    level = f"{confidence * 100:g} %"
    span = f"{_signed(low)} to {_signed(high)} points"
    if low > 0:
        return f"Converts {_points(diff)} points more than control ({level} interval {span}): a real uplift."
    if high < 0:
        return f"Converts {_points(-diff)} points less than control ({level} interval {span}): a real drop."
    text = f"Too few customers to tell: the {level} interval ({span}) spans zero."
    if needed_per_group:
        return text + (f" About {_about(needed_per_group):,} customers per group would be needed to detect "
                       "a difference this size.")
    return text + " The two rates are equal, so no number of customers would show a difference."


def compare_counts(group, by, treated: tuple[int, int, float, float], control: tuple[int, int, float, float], *,
                   with_revenue: bool, confidence: float) -> GroupResult:
    """One group against its control from counts: each side is ``(customers, conversions, revenue mean,
    revenue variance)`` (the mean and variance may be NaN when there is no revenue or no control).

    The difference in conversion rate with Newcombe's interval, the customers per group needed to detect
    it, the revenue difference with Welch's interval (``with_revenue``) and the verdict sentence.
    """
    n, x, mean, var = treated
    cn, cx, c_mean, c_var = control
    rate, c_rate = x / n, (cx / cn if cn else math.nan)
    diff = rate - c_rate
    ci = newcombe_diff_interval(x, n, cx, cn, confidence)
    needed = sample_size_two_proportions(rate, c_rate, alpha=1 - confidence)
    rev_diff = rev_ci = None
    if with_revenue:
        rev_diff = mean - c_mean
        rev_ci = welch_interval_from_summary(mean, var, n, c_mean, c_var, cn, confidence)
    return GroupResult(group=group, by=by, n=n, conversions=x, rate=rate,
                       revenue_per_customer=mean if with_revenue else None,
                       diff=diff, diff_ci=ci, relative=diff / c_rate if c_rate > 0 else None,
                       revenue_diff=rev_diff, revenue_diff_ci=rev_ci, needed_per_group=needed,
                       verdict=verdict(diff, ci, needed_per_group=needed, confidence=confidence))


def _compare(g, b, row, control_row, with_revenue: bool, confidence: float) -> GroupResult:
    """One group's row of the groupby against its control's row (None: no control customers)."""
    cn, cx, c_mean = _counts(control_row)
    c_var = float(control_row["rev_var"]) if control_row is not None else math.nan
    treated = (int(row["n"]), int(row["conversions"]), float(row["rev_mean"]), float(row["rev_var"]))
    return compare_counts(g, b, treated, (cn, cx, c_mean, c_var), with_revenue=with_revenue, confidence=confidence)


def _counts(row) -> tuple[int, int, float]:
    """``(n, conversions, revenue mean)`` of a groupby row; zeros and NaN for a missing control."""
    if row is None:
        return 0, 0, math.nan
    return int(row["n"]), int(row["conversions"]), float(row["rev_mean"])


def _summary(group, by, n: int, conversions: int, rev_mean: float, *, with_revenue: bool) -> GroupSummary:
    return GroupSummary(group=group, by=by, n=n, conversions=conversions,
                        rate=conversions / n if n else math.nan,
                        revenue_per_customer=rev_mean if with_revenue else None)


def _points(fraction: float) -> str:
    return f"{abs(fraction) * 100:.1f}"


def _signed(fraction: float) -> str:
    """Percentage points with a sign: +0.4, −1.2 (a real minus sign), 0.0."""
    text = f"{abs(fraction) * 100:.1f}"
    if text == "0.0":
        return text
    return ("+" if fraction > 0 else "\u2212") + text


def _about(n: int) -> int:
    """``n`` rounded up to two significant figures from 100 on (4,312 -> 4,400), so never understated."""
    if n < 100:
        return n
    step = 10 ** (len(str(n)) - 2)
    return -(-n // step) * step


def _summary_dict(s: GroupSummary, *, with_by: bool) -> dict:
    out = {"group": s.group, "n": s.n, "conversions": s.conversions, "rate": s.rate,
           "revenue_per_customer": s.revenue_per_customer}
    if with_by:
        out["by"] = s.by
    return out


def _result_dict(r: GroupResult, *, with_by: bool) -> dict:
    out = {"group": r.group, "n": r.n, "conversions": r.conversions, "rate": r.rate,
           "revenue_per_customer": r.revenue_per_customer, "diff": r.diff, "diff_ci": r.diff_ci,
           "relative": r.relative, "revenue_diff": r.revenue_diff, "revenue_diff_ci": r.revenue_diff_ci,
           "needed_per_group": r.needed_per_group, "verdict": r.verdict}
    if with_by:
        out["by"] = r.by
    return out


def _plain(value):
    """JSON-ready: numpy scalars to Python, floats rounded to 6 decimals (NaN/inf to None, -0.0 to 0.0)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, 6) + 0.0 if math.isfinite(value) else None
    return value
