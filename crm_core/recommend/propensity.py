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
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from crm_core.errors import ModelNotFitted

MIN_POSITIVES = 20  # fewer purchases than this in the learning horizon: use the fixed rule


def pair_features(cand, history, adoption: np.ndarray | None, cluster_of: np.ndarray | None
                  ) -> pd.DataFrame:
    """Model features of candidate pairs.

    Args:
        cand: ``c, p, hist`` (bool: bought or held before), ``n, first, last``
            (0 / NaN for new products) and ``model_score`` (item-item model),
            as a frame or a dict of arrays.
        history: the :class:`~crm_core.recommend.history.History` of the day.
        adoption: clusters x products adoption shares, or None.
        cluster_of: cluster code per customer code, or None.
    Returns:
        A float64 frame aligned with ``cand``.
    """
    c, p = np.asarray(cand["c"]), np.asarray(cand["p"])
    bought = np.flatnonzero(np.asarray(cand["hist"], dtype=bool))
    columns = []
    for name, kind, values in feature_terms(cand, history, adoption, cluster_of):
        if kind == "product":
            values = values[p]
        elif kind == "customer":
            values = values[c]
        elif kind == "bought":
            full = np.zeros(len(c))
            full[bought] = values
            values = full
        columns.append((name, np.asarray(values, dtype=np.float64)))
    # One float block (no per-column consolidation on millions of rows).
    return pd.DataFrame(np.column_stack([v for _, v in columns]) if columns else np.zeros((len(c), 0)),
                        columns=[n for n, _ in columns], index=getattr(cand, "index", None))


def feature_terms(cand, history, adoption: np.ndarray | None, cluster_of: np.ndarray | None):
    """The features of :func:`pair_features` in model order, each as ``(name, kind, values)``.

    ``kind`` says what ``values`` is indexed by: ``"product"`` (product code),
    ``"customer"`` (customer code), ``"pair"`` (every candidate) or
    ``"bought"`` (only the candidates bought before, in order; the feature is 0
    for new products). Scoring millions of candidates folds the per-product
    and per-customer terms and never builds the feature matrix.
    """
    p, c = np.asarray(cand["p"]), np.asarray(cand["c"])
    b = np.flatnonzero(np.asarray(cand["hist"], dtype=bool))
    pb, cb = p[b], c[b]
    n = np.asarray(cand["n"])[b].astype(float)
    last = np.asarray(cand["last"])[b].astype(float).clip(0, 400)
    first = np.asarray(cand["first"])[b].astype(float).clip(0, 400)
    interval = np.where(n >= 2, (first - last) / np.maximum(n - 1, 1), np.nan)
    usual = np.where(np.isnan(interval), history.usual_interval[pb], interval)
    due = np.where(np.isfinite(usual) & (usual > 0), last / np.where(usual > 0, usual, 1), 0.0)
    P = len(history.popularity)
    C = int(max(int(c.max()) + 1 if len(c) else 0, int(history.customers.index.max()) + 1 if len(history.customers)
                else 0))
    freq = _per_customer(history.customers["frequency"], C)
    recency = _per_customer(history.customers["recency"], C)
    recent = history.popularity_recent
    score = np.clip(np.asarray(cand["model_score"], dtype=float), -1.0, 5.0)
    sb = score[b]
    ln = np.log1p(n)
    llast = np.log1p(last)
    yield "held_before", "bought", np.ones(len(b))
    yield "log_times", "bought", ln
    yield "log_days_since", "bought", llast
    yield "log_days_since_first", "bought", np.log1p(first)
    yield "copurchase", "pair", score
    yield "copurchase_if_bought", "bought", sb
    yield "log_popularity", "product", np.log1p(history.popularity)
    yield "log_popularity_recent", "product", np.log1p(recent)
    yield "popularity_recent_if_bought", "bought", np.log1p(recent[pb])
    yield "trend", "product", recent / (history.popularity + 1.0)
    yield "repeat_rate", "product", history.repeat_rate[:P]
    yield "log_buyers", "product", np.log1p(history.buyers)
    yield "log_days_since_vs_last_visit", "bought", np.log1p(np.clip(last - recency[cb], 0, 400))
    yield "due", "bought", np.clip(np.nan_to_num(due), 0, 5)
    yield "has_interval", "bought", np.isfinite(interval).astype(float)
    yield "log_interval", "bought", np.log1p(np.nan_to_num(interval))
    yield "log_frequency", "customer", np.log1p(freq)
    yield "log_frequency_if_bought", "bought", np.log1p(freq[cb])
    yield "log_times_x_days_since", "bought", ln * llast
    if adoption is not None and cluster_of is not None and adoption.size:
        cl = cluster_of[c]
        share = np.where(cl >= 0, adoption[np.maximum(cl, 0), p], 0.0)
        yield "cluster_adoption", "pair", share
        yield "cluster_adoption_if_bought", "bought", share[b]


def _per_customer(values: pd.Series, n: int) -> np.ndarray:
    """A per-customer Series (indexed by code) as an array over all ``n`` codes, 0 where missing."""
    out = np.zeros(n)
    out[values.index.to_numpy()] = values.to_numpy(dtype=float)
    return out


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
            self.model_ = LogisticRegression(C=1.0, solver="newton-cholesky", max_iter=200).fit(
                self.scaler_.transform(features.to_numpy()), y)
        return self

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Probability of a purchase within the horizon, per pair (0..1)."""
        if not hasattr(self, "fitted_"):
            raise ModelNotFitted("PurchaseModel.fit() must run before predict().")
        if not self.fitted_:
            return _fixed_rule(features)
        X = features[self.columns_].to_numpy()
        return self.model_.predict_proba(self.scaler_.transform(X))[:, 1]

    def predict_pairs(self, cand, history, adoption: np.ndarray | None,
                      cluster_of: np.ndarray | None) -> np.ndarray:
        """:meth:`predict` of :func:`pair_features`, without building the feature matrix (millions of pairs)."""
        if not hasattr(self, "fitted_"):
            raise ModelNotFitted("PurchaseModel.fit() must run before predict().")
        if not self.fitted_:
            return _fixed_rule(pair_features(cand, history, adoption, cluster_of))
        # The standardised linear model rewritten on raw features: z = b + sum_j (w_j / s_j) x_j.
        weight = dict(zip(self.columns_, self.model_.coef_[0] / self.scaler_.scale_))
        p, c = np.asarray(cand["p"]), np.asarray(cand["c"])
        z = np.full(len(p), float(self.model_.intercept_[0])
                    - float(np.sum(self.model_.coef_[0] * self.scaler_.mean_ / self.scaler_.scale_)))
        bought = np.flatnonzero(np.asarray(cand["hist"], dtype=bool))
        per_product, per_customer, on_bought = 0.0, 0.0, np.zeros(len(bought))
        for name, kind, values in feature_terms(cand, history, adoption, cluster_of):
            w = weight[name]
            if kind == "product":
                per_product = per_product + w * values
            elif kind == "customer":
                per_customer = per_customer + w * values
            elif kind == "bought":
                on_bought += w * values
            else:
                z += w * values
        z += np.asarray(per_product)[p] if np.ndim(per_product) else per_product
        z += np.asarray(per_customer)[c] if np.ndim(per_customer) else per_customer
        z[bought] += on_bought
        return expit(z)

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
