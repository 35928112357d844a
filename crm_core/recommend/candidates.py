"""Candidate products per customer: past products, co-purchase proposals, bestsellers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_core.recommend.affinity import ItemItemModel
from crm_core.recommend.settings import RecommendConfig


def candidate_pairs(history, model: ItemItemModel, offerable: np.ndarray, rows: np.ndarray,
                    config: RecommendConfig, *, exclude_bought: bool) -> pd.DataFrame:
    """Every (customer, product) pair worth scoring for the customers ``rows``.

    The customer's past offerable products not currently held (unless
    ``exclude_bought``), the item-item model's top new products, and the
    bestsellers they have not bought, so that every customer has enough.

    Returns:
        ``c, p, hist`` (bought or held before), ``n, first, last`` (history
        facts, 0 for new products) and ``model_score``, sorted by ``c, p``.
    """
    P = len(offerable)
    known = history.pairs
    if len(rows) < len(history.customers):
        known = known[np.isin(known["c"].to_numpy(), rows)]
    new, known_score = model.score(offerable, config.candidates_per_customer, known, rows)
    past = known.assign(model_score=known_score, hist=True)
    past = past[offerable[past["p"].to_numpy()] & ~past["held"].to_numpy()]
    if exclude_bought:
        past = past.iloc[0:0]
    popular = _bestsellers(history, offerable, config.top_n + 2)
    best = pd.DataFrame({"c": np.repeat(rows, len(popular)), "p": np.tile(popular, len(rows))})
    taken = np.concatenate([known["c"].to_numpy() * P + known["p"].to_numpy(),
                            new["c"].to_numpy() * P + new["p"].to_numpy()])
    best = best[~np.isin(best["c"].to_numpy() * P + best["p"].to_numpy(), taken)]
    best_score = _model_score_of(model, history, best)
    fresh = pd.concat([new, best.assign(model_score=best_score)], ignore_index=True)
    fresh = fresh.assign(hist=False, n=0, first=0, last=0)
    cols = ["c", "p", "hist", "n", "first", "last", "model_score"]
    out = pd.concat([past[cols], fresh[cols]], ignore_index=True)
    order = np.lexsort((out["p"].to_numpy(), out["c"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def _bestsellers(history, offerable: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` offerable products with most invoices in the window (ties: more buyers, then code)."""
    codes = np.flatnonzero(offerable)
    order = np.lexsort((codes, -history.buyers[codes], -history.popularity[codes]))
    return codes[order[:k]]


def _model_score_of(model: ItemItemModel, history, pairs: pd.DataFrame) -> np.ndarray:
    """Item-item score of arbitrary new pairs: sum of weights from the customer's products."""
    if pairs.empty or len(model.items_) == 0:
        return np.zeros(len(pairs))
    col = model.column_[pairs["p"].to_numpy()]
    out = np.zeros(len(pairs))
    ok = col >= 0
    if ok.any():
        cols, where = np.unique(col[ok], return_inverse=True)
        S = np.asarray(model.matrix_ @ model.weights_[:, cols])
        out[ok] = S[pairs["c"].to_numpy()[ok], where]
    return out
