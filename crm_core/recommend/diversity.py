"""Diversity: at most one offer per product family, then the top N per customer."""

from __future__ import annotations

import numpy as np


def top_offers(customer: np.ndarray, family: np.ndarray, product: np.ndarray, score: np.ndarray,
               top_n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pick each customer's best candidate per family, then their ``top_n`` best.

    All arguments are aligned integer codes (customer and product codes sort
    like their ids) and scores. Ties on score go to the smaller product code,
    so the choice is deterministic. Works in ``top_n`` rounds over all
    customers at once: take each customer's best remaining candidate, then
    drop the other candidates of its family (the same choice as sorting by
    score and keeping the first of each family, without the sort).

    Returns:
        (positions of the chosen candidates ordered by customer then rank,
        rank of each from 1).
    """
    n = len(customer)
    if n == 0 or top_n < 1:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = None
    if (np.diff(customer) < 0).any():
        order = np.argsort(customer, kind="stable")
        customer, family, product, score = customer[order], family[order], product[order], score[order]
    starts = np.flatnonzero(np.r_[True, customer[1:] != customer[:-1]])
    lengths = np.diff(np.r_[starts, n])
    run = np.repeat(np.arange(len(starts)), lengths)
    live = np.asarray(score, dtype=np.float64).copy()
    big = np.iinfo(np.int64).max
    picked, ranks = [], []
    for rank in range(1, top_n + 1):
        best = np.maximum.reduceat(live, starts)
        alive = best > -np.inf
        if not alive.any():
            break
        at_best = (live == best[run]) & (live > -np.inf)
        smallest = np.minimum.reduceat(np.where(at_best, product, big), starts)
        chosen = np.flatnonzero(at_best & (product == smallest[run]))
        picked.append(chosen)
        ranks.append(np.full(len(chosen), rank, dtype=np.int64))
        chosen_family = np.full(len(starts), -1, dtype=np.int64)
        chosen_family[run[chosen]] = family[chosen]
        live[family == chosen_family[run]] = -np.inf
    pos = np.concatenate(picked) if picked else np.zeros(0, np.int64)
    rank = np.concatenate(ranks) if ranks else np.zeros(0, np.int64)
    by_customer = np.lexsort((rank, run[pos]))
    pos, rank = pos[by_customer], rank[by_customer]
    return (order[pos] if order is not None else pos), rank
