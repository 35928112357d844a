"""The purchase model: how likely a customer is to buy a candidate product soon.

Each (customer, candidate) pair gets features from the customer's own history
with the product (times bought, days since, usual interval, how due it is),
from the item-item model (co-purchase affinity), from the product (recent
popularity and its trend, repeat rate) and, when segmentation ran, from the
customer's cluster. A logistic regression learns how to weigh them on the
shop's own data: it looks at the data as it stood one horizon before the
as-of date and at what each customer then bought within the horizon. With too
little history to learn from, a fixed rule stands in (see ``fitted_``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from crm_core.errors import ModelNotFitted

MIN_POSITIVES = 20  # fewer purchases than this in the learning horizon: use the fixed rule


def pair_features(cand: pd.DataFrame, history, adoption: np.ndarray | None, cluster_of: np.ndarray | None
                  ) -> pd.DataFrame:
    """Model features of candidate pairs.

    Args:
        cand: ``c, p, hist`` (bool: bought or held before), ``n, first, last``
            (0 / NaN for new products) and ``model_score`` (item-item model).
        history: the :class:`~crm_core.recommend.history.History` of the day.
        adoption: clusters x products adoption shares, or None.
        cluster_of: cluster code per customer code, or None.
    Returns:
        A float64 frame aligned with ``cand``.
    """
    p = cand["p"].to_numpy()
    c = cand["c"].to_numpy()
    h = cand["hist"].to_numpy(dtype=float)
    n = cand["n"].to_numpy(dtype=float)
    last = np.where(h > 0, cand["last"].to_numpy(dtype=float), 0.0).clip(0, 400)
    first = np.where(h > 0, cand["first"].to_numpy(dtype=float), 0.0).clip(0, 400)
    interval = np.where(n >= 2, (first - last) / np.maximum(n - 1, 1), np.nan)
    usual = np.where(np.isnan(interval), history.usual_interval[p], interval)
    due = np.where((h > 0) & np.isfinite(usual) & (usual > 0), last / np.where(usual > 0, usual, 1), 0.0)
    pop = history.popularity[p]
    recent = history.popularity_recent[p]
    cust = history.customers
    freq = cust["frequency"].reindex(c).to_numpy(dtype=float, na_value=0.0)
    recency = cust["recency"].reindex(c).to_numpy(dtype=float, na_value=0.0)
    score = np.clip(cand["model_score"].to_numpy(dtype=float), -1.0, 5.0)
    ln = np.log1p(n)
    llast = h * np.log1p(last)
    f = {
        "held_before": h,
        "log_times": ln,
        "log_days_since": llast,
        "log_days_since_first": h * np.log1p(first),
        "copurchase": score,
        "copurchase_if_bought": h * score,
        "log_popularity": np.log1p(pop),
        "log_popularity_recent": np.log1p(recent),
        "popularity_recent_if_bought": h * np.log1p(recent),
        "trend": recent / (pop + 1.0),
        "repeat_rate": history.repeat_rate[p],
        "log_buyers": np.log1p(history.buyers[p]),
        "log_days_since_vs_last_visit": h * np.log1p(np.clip(last - recency, 0, 400)),
        "due": np.clip(np.nan_to_num(due), 0, 5),
        "has_interval": h * np.isfinite(interval),
        "log_interval": np.log1p(np.nan_to_num(interval)),
        "log_frequency": np.log1p(freq),
        "log_frequency_if_bought": h * np.log1p(freq),
        "log_times_x_days_since": ln * llast,
    }
    if adoption is not None and cluster_of is not None and adoption.size:
        cl = cluster_of[c]
        share = np.where(cl >= 0, adoption[np.maximum(cl, 0), p], 0.0)
        f["cluster_adoption"] = share
        f["cluster_adoption_if_bought"] = h * share
    # One float block (no per-column consolidation on millions of rows).
    return pd.DataFrame(np.column_stack([np.asarray(v, dtype=np.float64) for v in f.values()]),
                        columns=list(f), index=cand.index)


class PurchaseModel:
    """Logistic regression of "buys within the horizon" on :func:`pair_features`."""

    def fit(self, features: pd.DataFrame, bought: np.ndarray) -> "PurchaseModel":
        """Learn the weights; falls back to the fixed rule with too few purchases. Returns self."""
        y = np.asarray(bought, dtype=int)
        self.columns_ = list(features.columns)
        self.positives_ = int(y.sum())
        self.fitted_ = bool(self.positives_ >= MIN_POSITIVES and (len(y) - self.positives_) >= MIN_POSITIVES)
        if self.fitted_:
            self.scaler_ = StandardScaler().fit(features.to_numpy())
            self.model_ = LogisticRegression(C=1.0, solver="newton-cholesky", max_iter=200).fit(self.scaler_.transform(features.to_numpy()), y)
        return self

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Probability of a purchase within the horizon, per pair (0..1)."""
        if not hasattr(self, "fitted_"):
            raise ModelNotFitted("PurchaseModel.fit() must run before predict().")
        if not self.fitted_:
            return _fixed_rule(features)
        X = features[self.columns_].to_numpy()
        return self.model_.predict_proba(self.scaler_.transform(X))[:, 1]

    def parameters(self) -> dict:
        """JSON-safe description for run metadata: fitted or not, and the standardised weights."""
        if not getattr(self, "fitted_", False):
            return {"fitted": False, "positives": getattr(self, "positives_", 0), "rule": "fixed"}
        return {"fitted": True, "positives": self.positives_,
                "intercept": round(float(self.model_.intercept_[0]), 6),
                "weights": {name: round(float(w), 6) for name, w in zip(self.columns_, self.model_.coef_[0])}}


def _fixed_rule(f: pd.DataFrame) -> np.ndarray:
    """Hand-set propensity used when the data is too short to learn from.

    Products bought before: more often and more recently is likelier; new
    products: by co-purchase affinity and popularity. Mapped into (0, 1).
    """
    bought = f["held_before"].to_numpy() > 0
    repeat = f["log_times"].to_numpy() - 0.5 * f["log_days_since"].to_numpy() / np.log(366) + 0.5
    new = 0.8 * f["copurchase"].to_numpy() + 0.1 * f["log_popularity"].to_numpy() / 10
    z = np.where(bought, repeat, new - 0.5)
    return 1.0 / (1.0 + np.exp(-2.0 * (z - 1.0)))
