"""Comparing two runs: segment migration, cluster stability, valuable customers who slipped."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from crm_core.segment.settings import SEGMENT_CODES

VALUABLE = ("CHAMPIONS", "LOYAL")
SLIPPING = ("AT_RISK", "CANT_LOSE")
ABSENT = "ABSENT"  # a customer present in only one of the two runs


@dataclass(frozen=True)
class RunComparison:
    """Migration matrix, stability and the slipped customers between two runs."""

    migration: pd.DataFrame
    stability: float | None
    slipped: pd.DataFrame
    customers_both: int
    only_before: int
    only_after: int


def segment_migration(before: pd.Series, after: pd.Series) -> pd.DataFrame:
    """Customers per (segment before, segment after), including ``ABSENT``.

    Args:
        before, after: ``rfm_segment`` per customer id, one per run.
    Returns:
        A count matrix: rows = segment before, columns = segment after, in the
        canonical segment order (then ABSENT); zero rows/columns included.
    """
    joined = pd.concat([before.rename("before"), after.rename("after")], axis=1, join="outer")
    joined = joined.astype("string").fillna(ABSENT)
    order = [*SEGMENT_CODES, ABSENT]
    matrix = pd.crosstab(joined["before"], joined["after"])
    matrix = matrix.reindex(index=order, columns=order, fill_value=0).astype("int64")
    matrix.index.name, matrix.columns.name = "before", "after"
    return matrix


def cluster_stability(before: pd.Series, after: pd.Series) -> float | None:
    """Adjusted Rand index of the cluster labels of the customers in both runs (None if < 2 shared)."""
    both = pd.concat([before.rename("before"), after.rename("after")], axis=1, join="inner").dropna()
    if len(both) < 2:
        return None
    return round(float(adjusted_rand_score(both["before"].to_numpy(), both["after"].to_numpy())), 6)


def slipped_customers(
    before: pd.DataFrame,
    after: pd.DataFrame,
    *,
    from_segments: tuple[str, ...] = VALUABLE,
    to_segments: tuple[str, ...] = SLIPPING,
) -> pd.DataFrame:
    """Customers who moved from a valuable segment to a slipping one.

    Args:
        before, after: per-run customer frames indexed by customer_id with
            ``rfm_segment`` and optionally ``monetary``, ``clv``, ``churn_risk``.
        from_segments, to_segments: the segment codes that define "slipped".
    Returns:
        A frame indexed by customer_id with ``segment_before, segment_after``
        and the value columns of both runs (``*_before`` / ``*_after``),
        most valuable first (monetary before, then id).
    """
    value_cols = [c for c in ("monetary", "clv", "churn_risk") if c in before.columns or c in after.columns]
    b = before.reindex(columns=["rfm_segment", *value_cols]).add_suffix("_before")
    a = after.reindex(columns=["rfm_segment", *value_cols]).add_suffix("_after")
    both = b.join(a, how="inner")
    moved = both["rfm_segment_before"].isin(list(from_segments)) & both["rfm_segment_after"].isin(list(to_segments))
    out = both.loc[moved.fillna(False).to_numpy(dtype=bool)].rename(
        columns={"rfm_segment_before": "segment_before", "rfm_segment_after": "segment_after"}
    )
    out = out.sort_index(kind="stable")
    if "monetary_before" in out.columns:
        value = out["monetary_before"].astype("float64").fillna(-np.inf).to_numpy()
        out = out.iloc[np.argsort(-value, kind="stable")]
    return out


def compare_runs(before: pd.DataFrame, after: pd.DataFrame) -> RunComparison:
    """Everything the comparison page shows for two runs' customer frames.

    Args:
        before, after: indexed by customer_id with ``rfm_segment``, ``cluster``
            and optionally ``monetary``, ``clv``, ``churn_risk``.
    """
    shared = before.index.intersection(after.index)
    return RunComparison(
        migration=segment_migration(before["rfm_segment"], after["rfm_segment"]),
        stability=cluster_stability(before["cluster"], after["cluster"]),
        slipped=slipped_customers(before, after),
        customers_both=int(len(shared)),
        only_before=int(len(before.index.difference(after.index))),
        only_after=int(len(after.index.difference(before.index))),
    )
