"""Diversity: at most one offer per product family, then the top N per customer."""

from __future__ import annotations

import numpy as np
import pandas as pd


def top_offers(customer: np.ndarray, family: np.ndarray, product: np.ndarray, score: np.ndarray,
               top_n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pick each customer's best candidate per family, then their ``top_n`` best.

    All arguments are aligned integer codes (customer and product codes sort
    like their ids) and scores. Ties on score go to the smaller product code,
    so the choice is deterministic.

    Returns:
        (positions of the chosen candidates ordered by customer then rank,
        rank of each from 1).
    """
    order = np.lexsort((product, -score, customer))
    c, f = customer[order], family[order]
    first_of_family = ~pd.DataFrame({"c": c, "f": f}).duplicated().to_numpy()
    order, c = order[first_of_family], c[first_of_family]
    rank = np.arange(len(c)) - np.searchsorted(c, c, side="left") + 1
    keep = rank <= top_n
    return order[keep], rank[keep].astype(np.int64)
