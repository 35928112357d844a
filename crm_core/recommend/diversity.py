"""Diversity: at most one offer per product family, then the top N per customer."""

from __future__ import annotations

import numpy as np
import pandas as pd


def top_offers(frame: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """At most one offer per product family, the ``top_n`` best per customer, with ``rank`` from 1.

    Ties on score go to the smaller product id, so the choice is deterministic.
    ``frame`` needs ``customer_id, product_id, family, score``.
    """
    ordered = frame.sort_values(["customer_id", "score", "product_id"], ascending=[True, False, True],
                                kind="mergesort")
    ordered = ordered.drop_duplicates(["customer_id", "family"], keep="first")
    rank = ordered.groupby("customer_id", sort=False).cumcount() + 1
    out = ordered.assign(rank=rank.astype(np.int64))
    return out[out["rank"] <= top_n].reset_index(drop=True)
