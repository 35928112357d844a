"""Comparing two stored runs: segment migration, cluster stability, valuable customers who slipped.

Reads both runs through :mod:`crm_core.views.runs` and hands the frames to
:mod:`crm_core.segment.compare`; adds labels, names and a spreadsheet-safe CSV.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from crm_core.errors import NextBestError
from crm_core.formula_safety import csv_bytes
from crm_core.segment import compare as run_compare
from crm_core.segment.rfm import segment_catalog, segment_labels
from crm_core.views.runs import RunInfo, get_run, run_customers


class RunsNotComparable(NextBestError):
    """Two runs cannot be compared (other workspaces, or one did not succeed)."""


@dataclass(frozen=True)
class RunComparisonView:
    """Two runs side by side: segment migration, cluster stability and the valuable customers who slipped."""

    before: RunInfo
    after: RunInfo
    migration: pd.DataFrame  # count matrix: segment before (rows) x after (columns), incl. ABSENT
    stability: float | None  # adjusted Rand index of the clusters of shared customers
    slipped: pd.DataFrame  # one row per slipped customer, most valuable first
    customers_both: int
    only_before: int
    only_after: int

    def migration_table(self) -> pd.DataFrame:
        """The migration matrix with segment labels instead of codes (for display)."""
        labels = {**segment_catalog()["label"].to_dict(), run_compare.ABSENT: "Not in run"}
        return self.migration.rename(index=labels, columns=labels)

    def slipped_csv(self) -> bytes:
        """The slipped list as UTF-8 CSV, safe to open in a spreadsheet (no cell runs as a formula)."""
        return csv_bytes(self.slipped)


def compare_runs(db, run_a: int, run_b: int) -> RunComparisonView:
    """Compare run ``run_a`` (before) with run ``run_b`` (after).

    Returns:
        A :class:`RunComparisonView`; ``slipped`` has ``customer_id, name,
        segment_before, segment_after`` (labels) and the value columns of both
        runs (``monetary_*, clv_*, churn_risk_*``).
    Raises:
        RunNotFound; RunsNotComparable when the runs belong to different
        workspaces or one of them did not succeed.
    """
    before, after = get_run(db, run_a), get_run(db, run_b)
    if before.workspace_id != after.workspace_id:
        raise RunsNotComparable(f"Runs #{before.id} and #{after.id} belong to different workspaces; "
                                "compare two runs of the same workspace.")
    for run in (before, after):
        if not run.succeeded:
            raise RunsNotComparable(f"Run #{run.id} {run.status} and has no results to compare; pick a "
                                    "succeeded run.")
    a, b = run_customers(db, before.id), run_customers(db, after.id)
    result = run_compare.compare_runs(a, b)
    slipped = result.slipped.copy()
    for col in ("segment_before", "segment_after"):
        slipped[col] = segment_labels(slipped[col]).where(slipped[col].notna())
    slipped.insert(0, "name", b["name"].reindex(slipped.index))
    slipped = slipped.rename_axis("customer_id").reset_index()
    return RunComparisonView(before, after, result.migration, result.stability, slipped,
                             result.customers_both, result.only_before, result.only_after)
