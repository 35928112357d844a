"""Predicted value and churn risk: BG/NBD + Gamma-Gamma over a horizon.

- ``expected_purchases``: BG/NBD expected purchase days in the horizon.
- ``clv``: expected purchases x Gamma-Gamma expected spend per purchase day;
  undiscounted unless ``discount_rate`` > 0 (then each ``discount_step_days``
  slice is discounted at the yearly rate).
- ``p_alive``: BG/NBD P(alive) for customers with a repeat purchase. BG/NBD
  says 1 for everybody without one, so **one-off buyers** get the modified
  BG/NBD P(alive) (dropout possible right after the first purchase)
  computed with the fitted parameters.
- ``churn_score``: 1 - P(alive) for repeat buyers; for one-off buyers the
  probability of *no purchase within the horizon*,
  1 - P_mod(alive) x (1 - ((alpha+T)/(alpha+T+h))^r), so that a single
  purchase long ago is never read as "safe".
- ``churn_risk``: low < bands[0] <= medium < bands[1] <= high.

When a model cannot be fitted, its columns stay missing (``<NA>``) and the
reason is returned; no number is invented.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crm_core.segment.bgnbd import BetaGeoModel, ModelFitFailed
from crm_core.segment.gamma_gamma import GammaGammaModel
from crm_core.segment.settings import ValueConfig

VALUE_COLUMNS = ("expected_purchases", "clv", "p_alive", "churn_score", "churn_risk")
CHURN_LEVELS = ("low", "medium", "high")


VALUE_NOTE_PREFIX = "value model:"
"""Every note of this module starts so: pages pick the value model's notes out of a run's notes by it."""


def value_notes(notes) -> list[str]:
    """The notes that say why CLV, expected purchases or P(alive) are missing or simplified."""
    return [n for n in notes if str(n).startswith(VALUE_NOTE_PREFIX)]


@dataclass(frozen=True)
class ValueResult:
    """Per-customer value columns, the fitted parameters and why anything is missing."""

    frame: pd.DataFrame
    params: dict
    reasons: tuple[str, ...] = field(default_factory=tuple)


def purchase_day_summary(features: pd.DataFrame, time_unit_days: int = 1) -> pd.DataFrame:
    """The BG/NBD / Gamma-Gamma inputs per customer, from customer features.

    Several purchases of a customer on one day count as one purchase day.

    Args:
        features: :func:`crm_core.features.customer_features` output.
        time_unit_days: 1 for days, 7 for weeks.
    Returns:
        A frame with the same index: ``frequency`` (repeat purchase days),
        ``recency`` (first to last purchase day) and ``T`` (first purchase to
        as-of) in time units, ``monetary_value`` (mean net spend per repeat
        purchase day, 0 without one).
    """
    unit = float(time_unit_days)
    span = (features["last_purchase"] - features["first_purchase"]).dt.days.to_numpy(dtype="float64")
    return pd.DataFrame(
        {
            "frequency": features["purchase_days"].to_numpy(dtype="float64") - 1.0,
            "recency": span / unit,
            "T": features["tenure_days"].to_numpy(dtype="float64") / unit,
            "monetary_value": features["mean_repeat_day_spend"].to_numpy(dtype="float64"),
        },
        index=features.index,
    )


def churn_bands(score: pd.Series, bands: tuple[float, float]) -> pd.Series:
    """``low`` / ``medium`` / ``high`` from a churn score (missing stays missing)."""
    values = score.to_numpy(dtype="float64", na_value=np.nan)
    level = np.select([values < bands[0], values < bands[1], values >= bands[1]], CHURN_LEVELS, default="")
    out = pd.Series(pd.array(level, dtype="string"), index=score.index)
    return out.mask(np.isnan(values))


def predict_value(features: pd.DataFrame, config: ValueConfig) -> ValueResult:
    """Fit BG/NBD and Gamma-Gamma on the customers and predict their value.

    Args:
        features: :func:`crm_core.features.customer_features` output.
        config: horizon, discounting, time unit, churn bands, fit limits.
    Returns:
        A :class:`ValueResult`; its ``params['clv_model']`` holds
        ``r, alpha, a, b, p, q, gamma, time_unit, log_likelihood`` (None when unfitted)
        and ``reasons`` says why any column is empty.
    """
    summary = purchase_day_summary(features, config.time_unit_days)
    frame = pd.DataFrame(
        {
            "expected_purchases": pd.array([pd.NA] * len(summary), dtype="Float64"),
            "clv": pd.array([pd.NA] * len(summary), dtype="Float64"),
            "p_alive": pd.array([pd.NA] * len(summary), dtype="Float64"),
            "churn_score": pd.array([pd.NA] * len(summary), dtype="Float64"),
        },
        index=summary.index,
    )
    model = {k: None for k in ("r", "alpha", "a", "b", "p", "q", "gamma", "log_likelihood")}
    model.update(time_unit=config.time_unit, horizon_days=config.horizon_days,
                 discount_rate=config.discount_rate, one_off_rule="p_no_purchase_in_horizon_modified_bgnbd")
    reasons: list[str] = []
    horizon = config.horizon_days / config.time_unit_days

    try:
        bg = BetaGeoModel(config.max_iter, config.min_repeat_customers).fit(summary)
    except ModelFitFailed as exc:
        reasons.append(f"{VALUE_NOTE_PREFIX} {exc}")
        frame["churn_risk"] = pd.array([pd.NA] * len(frame), dtype="string")
        return ValueResult(frame, {"clv_model": model}, tuple(reasons))
    model.update(bg.params_, log_likelihood=bg.log_likelihood_)

    with np.errstate(all="ignore"):
        expected = bg.expected_purchases(summary, horizon)
        repeat = summary["frequency"].to_numpy() > 0
        p_mod = bg.p_alive_one_off(summary)
        p_alive = np.where(repeat, bg.p_alive(summary), p_mod)
        no_purchase = 1.0 - p_mod * (1.0 - bg.p_no_purchase_if_alive(summary, horizon))
        churn = np.where(repeat, 1.0 - p_alive, no_purchase)
    frame["expected_purchases"] = _finite(expected)
    frame["p_alive"] = _finite(p_alive)
    frame["churn_score"] = _finite(churn)
    bad = int((~np.isfinite(expected)).sum())
    if bad:
        reasons.append(f"{VALUE_NOTE_PREFIX} expected purchases could not be computed for {bad} customers")

    try:
        gg = GammaGammaModel(config.max_iter, config.min_repeat_customers).fit(summary)
    except ModelFitFailed as exc:
        reasons.append(f"{VALUE_NOTE_PREFIX} CLV is empty because spend per purchase could not be fitted "
                       f"(Gamma-Gamma): {exc}")
    else:
        model.update(gg.params_)
        spend = gg.expected_spend(summary)
        if config.discount_rate > 0:
            purchases = _discounted_purchases(bg, summary, config)
        else:
            purchases = expected
        frame["clv"] = _finite(purchases * spend)
    frame["churn_risk"] = churn_bands(frame["churn_score"], config.churn_bands)
    return ValueResult(frame, {"clv_model": model}, tuple(reasons))


def _discounted_purchases(bg: BetaGeoModel, summary: pd.DataFrame, config: ValueConfig) -> np.ndarray:
    """Expected purchases with each slice of the horizon discounted to today."""
    ends = np.arange(config.discount_step_days, config.horizon_days + config.discount_step_days,
                     config.discount_step_days, dtype="float64")
    ends[-1] = config.horizon_days
    total = np.zeros(len(summary))
    before = np.zeros(len(summary))
    for end in np.unique(ends):  # a dozen steps, each vectorised over customers
        cumulative = bg.expected_purchases(summary, end / config.time_unit_days)
        total += (cumulative - before) / (1.0 + config.discount_rate) ** (end / 365.0)
        before = cumulative
    return total


def _finite(values: np.ndarray) -> pd.arrays.FloatingArray:
    """Float values with anything non-finite as <NA> (never NaN written)."""
    values = np.asarray(values, dtype="float64")
    return pd.arrays.FloatingArray(np.where(np.isfinite(values), values, 0.0), ~np.isfinite(values))
