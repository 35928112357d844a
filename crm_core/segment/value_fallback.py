"""Stated rules for when a value model cannot be fitted: they still rank customers, and the run says so.

- :func:`history_rule` (no BG/NBD fit, e.g. no repeat buyer): churn score =
  days since the last purchase / (those days + the horizon); P(alive) = 1 -
  churn score; expected purchases = purchase days per day of history (at least
  one horizon long) x horizon x P(alive); CLV = that x the customer's net spend
  per purchase day. A recent, frequent, big spender ranks first; a one-off
  buyer from long ago last.
- :func:`own_average_spend` (no Gamma-Gamma fit): each repeat customer's own
  mean spend per repeat purchase day; the median of those for everyone else.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HISTORY_RULE = ("churn score = days since the last purchase / (those days + {h}); P(alive) = 1 - churn score; "
                "expected purchases = purchase days per day of history (at least {h} days) x {h} days x P(alive); "
                "CLV = expected purchases x the customer's net spend per purchase day")


def history_rule(features: pd.DataFrame, horizon_days: int) -> dict[str, np.ndarray]:
    """``expected_purchases, clv, p_alive, churn_score`` per customer by the history rule (module docstring).

    Args:
        features: :func:`crm_core.features.customer_features` output.
        horizon_days: the value horizon in days.
    Returns:
        float arrays in the features' order.
    """
    h = float(horizon_days)
    recency = features["recency_days"].to_numpy(dtype="float64")
    days = features["purchase_days"].to_numpy(dtype="float64")
    history = np.maximum(features["tenure_days"].to_numpy(dtype="float64"), h)
    churn = recency / (recency + h)
    alive = 1.0 - churn
    expected = days / history * h * alive
    spend = np.maximum(features["monetary"].to_numpy(dtype="float64"), 0.0) / np.maximum(days, 1.0)
    return {"expected_purchases": expected, "clv": expected * spend, "p_alive": alive, "churn_score": churn}


def own_average_spend(summary: pd.DataFrame) -> tuple[np.ndarray, float]:
    """Spend per purchase without a Gamma-Gamma fit, and the median used for customers without their own.

    Args:
        summary: :func:`crm_core.segment.value.purchase_day_summary` output.
    Returns:
        ``(spend per customer, median of the repeat customers' positive means; 0 when there is none)``.
    """
    x = summary["frequency"].to_numpy(dtype="float64")
    m = summary["monetary_value"].to_numpy(dtype="float64")
    own = (x > 0) & (m > 0)
    median = float(np.median(m[own])) if own.any() else 0.0
    return np.where(own, m, median), median
