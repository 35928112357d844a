"""Candidate products per customer: past products, co-purchase proposals, bestsellers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_core.recommend.affinity import ItemItemModel
from crm_core.recommend.settings import RecommendConfig


def candidate_pairs(history, model: ItemItemModel, offerable: np.ndarray, rows: np.ndarray,
                    config: RecommendConfig, *, exclude_bought: bool) -> dict[str, np.ndarray]:
    """Every (customer, product) pair worth scoring for the customers ``rows``.

    The customer's past offerable products not currently held (unless
    ``exclude_bought``), the item-item model's top new products, and the
    bestsellers they have not bought, so that every customer has enough.

    Args:
        history: the History of the day.
        model: the fitted item-item model.
        offerable: bool per product code.
        rows: customer codes (sorted, with history); work in blocks of
            ``model.block_size()`` customers to bound memory.
        config: ``candidates_per_customer`` and ``top_n``.
        exclude_bought: no product the customer bought or holds.
    Returns:
        Aligned arrays ``c, p, hist`` (bought or held before), ``n, first,
        last`` (history facts, 0 for new products) and ``model_score``,
        grouped by customer (``c`` ascending; the order within a customer is
        unspecified).
    """
    rows = np.asarray(rows, dtype=np.int64)
    known = _pairs_of(history.pairs, rows)
    kc = known["c"].to_numpy()
    kp = known["p"].to_numpy()
    items = model.items_
    S = model.scores(rows) if len(rows) else np.zeros((0, len(items)), np.float32)
    at = np.searchsorted(rows, kc)  # row position of each known pair
    kcol = model.column_[kp]
    known_score = np.zeros(len(known), dtype=np.float32)
    in_model = kcol >= 0
    known_score[in_model] = S[at[in_model], kcol[in_model]]

    # New products from the model: the top k by affinity among offerable products not bought or held.
    allowed = offerable[items] if len(items) else np.zeros(0, bool)
    k = int(min(config.candidates_per_customer, int(allowed.sum())))
    ok = np.zeros((len(rows), 0), dtype=bool)
    new_top = np.full((len(rows), 0), -1, dtype=np.int64)
    vals = np.zeros((len(rows), 0), dtype=np.float32)
    if k > 0:
        S[:, ~allowed] = -np.inf
        r, col = model.bought_mask(rows)
        S[r, col] = -np.inf
        m = S.shape[1]
        top = np.argpartition(S, m - k, axis=1)[:, m - k:]
        vals = np.take_along_axis(S, top, axis=1)
        ok = np.isfinite(vals)
        new_top = np.where(ok, items[top], -1)

    # Bestsellers the customer has neither bought nor been proposed, so that everyone has enough.
    popular = _bestsellers(history, offerable, config.top_n + 2)
    taken = np.zeros((len(rows), len(popular)), dtype=bool)
    slot = np.full(len(offerable), -1, dtype=np.int64)
    slot[popular] = np.arange(len(popular))
    mine = slot[kp] >= 0
    taken[at[mine], slot[kp[mine]]] = True
    for j, product in enumerate(popular):
        taken[:, j] |= (new_top == product).any(axis=1)
    best = ~taken
    # A bestseller left here is offerable and not bought: its cell of S was never masked.
    pcol = model.column_[popular]
    best_s = np.where(pcol >= 0, S[:, np.maximum(pcol, 0)], 0.0) if len(items) else np.zeros(best.shape)

    # Lay the three parts out customer by customer: past products, proposals, bestsellers.
    past = np.ones(len(known), dtype=bool) if not exclude_bought else np.zeros(len(known), dtype=bool)
    past &= offerable[kp] & ~known["held"].to_numpy()
    past_at = at[past]
    n_past = np.bincount(past_at, minlength=len(rows))
    n_new, n_best = ok.sum(axis=1), best.sum(axis=1)
    size = n_past + n_new + n_best
    start = np.cumsum(size) - size
    total = int(size.sum())
    past_pos = start[past_at] + np.arange(len(past_at)) - np.searchsorted(past_at, past_at)
    new_pos = (start + n_past)[:, None] + np.cumsum(ok, axis=1) - 1
    best_pos = (start + n_past + n_new)[:, None] + np.cumsum(best, axis=1) - 1
    p = np.empty(total, dtype=np.int64)
    score = np.empty(total, dtype=np.float64)
    p[past_pos], score[past_pos] = kp[past], known_score[past]
    p[new_pos[ok]], score[new_pos[ok]] = new_top[ok], vals[ok]
    p[best_pos[best]] = np.broadcast_to(popular, best.shape)[best]
    score[best_pos[best]] = best_s[best]
    hist = np.zeros(total, dtype=bool)
    hist[past_pos] = True
    out = {"c": np.repeat(rows, size), "p": p, "hist": hist}
    for name in ("n", "first", "last"):
        out[name] = np.zeros(total, dtype=np.int64)
        out[name][past_pos] = known[name].to_numpy()[past]
    out["model_score"] = score
    return out


def _pairs_of(pairs: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """The history pairs of the customers ``rows`` (a slice when they are a contiguous block)."""
    if len(rows) == 0:
        return pairs.iloc[0:0]
    c = pairs["c"].to_numpy()
    lo, hi = np.searchsorted(c, [rows[0], rows[-1] + 1])
    block = pairs.iloc[lo:hi]
    if hi - lo and len(rows) < int(rows[-1]) - int(rows[0]) + 1:
        block = block[np.isin(block["c"].to_numpy(), rows)]
    return block


def _bestsellers(history, offerable: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` offerable products with most invoices in the window (ties: more buyers, then code)."""
    codes = np.flatnonzero(offerable)
    order = np.lexsort((codes, -history.buyers[codes], -history.popularity[codes]))
    return codes[order[:k]]
