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

A fit that rests on an edge of its parameters (no dropout, same spend...) is a
legitimate answer and is described in a note (:mod:`.value_notes`); with no
dropout, repeat buyers' churn score too is the chance of no purchase within
the horizon. When a model truly cannot be fitted, a stated rule
(:mod:`.value_fallback`) fills the columns so that customers are still
ranked, and a note says which rule; CLV is never left empty in silence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crm_core.segment.bgnbd import BetaGeoModel, ModelFitFailed
from crm_core.segment.gamma_gamma import GammaGammaModel
from crm_core.segment.settings import ValueConfig
from crm_core.segment.value_fallback import HISTORY_RULE, history_rule, own_average_spend
from crm_core.segment.value_notes import (VALUE_NOTE_PREFIX, edge_note, fallback_note, spend_fallback_note,
                                          value_notes)

VALUE_COLUMNS = ("expected_purchases", "clv", "p_alive", "churn_score", "churn_risk")
CHURN_LEVELS = ("low", "medium", "high")


__all__ = ["VALUE_COLUMNS", "VALUE_NOTE_PREFIX", "ValueResult", "churn_bands", "predict_value",
           "purchase_day_summary", "value_notes"]


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
        A :class:`ValueResult`; its ``params['clv_model']`` holds ``r, alpha, a, b, p, q, gamma,
        time_unit, log_likelihood`` (None when unfitted), ``method`` (``bgnbd`` or ``history_rule``),
        ``bgnbd_edges``, ``spend`` (``gamma_gamma`` or ``own_average``), ``spend_edges``,
        ``spend_log_likelihood`` and ``mean_spend``; ``reasons`` holds the notes.
    """
    summary = purchase_day_summary(features, config.time_unit_days)
    frame = pd.DataFrame(index=summary.index)
    model = {k: None for k in ("r", "alpha", "a", "b", "p", "q", "gamma", "log_likelihood", "spend_log_likelihood",
                               "mean_spend")}
    model.update(time_unit=config.time_unit, horizon_days=config.horizon_days, discount_rate=config.discount_rate,
                 one_off_rule="p_no_purchase_in_horizon_modified_bgnbd", method="bgnbd", bgnbd_edges=[],
                 spend="gamma_gamma", spend_edges=[])
    reasons: list[str] = []
    horizon = config.horizon_days / config.time_unit_days

    try:
        bg = BetaGeoModel(config.max_iter, config.min_repeat_customers).fit(summary)
    except ModelFitFailed as exc:
        rule = history_rule(features, config.horizon_days)
        for column in ("expected_purchases", "clv", "p_alive", "churn_score"):
            frame[column] = _finite(rule[column])
        frame["churn_risk"] = churn_bands(frame["churn_score"], config.churn_bands)
        model.update(method="history_rule", spend=None, rule=HISTORY_RULE.format(h=config.horizon_days))
        reasons.append(fallback_note(str(exc), HISTORY_RULE.format(h=config.horizon_days)))
        return ValueResult(frame[list(VALUE_COLUMNS)], {"clv_model": model}, tuple(reasons))
    model.update(bg.params_, log_likelihood=bg.log_likelihood_, bgnbd_edges=list(bg.edges_))
    reasons.extend(_bgnbd_notes(bg, config))

    with np.errstate(all="ignore"):
        expected = bg.expected_purchases(summary, horizon)
        repeat = summary["frequency"].to_numpy() > 0
        p_mod = bg.p_alive_one_off(summary)
        p_alive = np.where(repeat, bg.p_alive(summary), p_mod)
        no_purchase = 1.0 - p_alive * (1.0 - bg.p_no_purchase_if_alive(summary, horizon))
        # without dropout P(alive) is 1 for every repeat buyer: read churn as no purchase within the horizon
        churn = no_purchase if "no_dropout" in bg.edges_ else np.where(repeat, 1.0 - p_alive, no_purchase)
    frame["expected_purchases"] = _finite(expected)
    frame["p_alive"] = _finite(p_alive)
    frame["churn_score"] = _finite(churn)
    bad = int((~np.isfinite(expected)).sum())
    if bad:
        reasons.append(f"{VALUE_NOTE_PREFIX} expected purchases could not be computed for {bad} customers")

    try:
        gg = GammaGammaModel(config.max_iter, config.min_repeat_customers).fit(summary)
    except ModelFitFailed as exc:
        spend, median = own_average_spend(summary)
        model.update(spend="own_average", mean_spend=median)
        reasons.append(spend_fallback_note(str(exc), median))
    else:
        spend = gg.expected_spend(summary)
        model.update(gg.params_, spend_log_likelihood=gg.log_likelihood_, mean_spend=gg.mean_spend_,
                     spend_edges=list(gg.edges_))
        reasons.extend(edge_note(e, horizon_days=config.horizon_days, spend=gg.mean_spend_) for e in gg.edges_)
    purchases = _discounted_purchases(bg, summary, config) if config.discount_rate > 0 else expected
    frame["clv"] = _finite(purchases * spend)
    frame["churn_risk"] = churn_bands(frame["churn_score"], config.churn_bands)
    return ValueResult(frame[list(VALUE_COLUMNS)], {"clv_model": model}, tuple(reasons))


def _bgnbd_notes(bg: BetaGeoModel, config: ValueConfig) -> list[str]:
    """A note per edge of the purchase model, with the figure a marketer needs."""
    p = bg.params_
    dropout = p["a"] / (p["a"] + p["b"]) if p["a"] + p["b"] > 0 else 0.0
    gap = p["alpha"] / p["r"] * config.time_unit_days
    return [edge_note(e, horizon_days=config.horizon_days, dropout=dropout, gap_days=gap) for e in bg.edges_]


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
