"""The numbers behind the segment explorer: KPIs, filter choices and the filtered customer list.

Pure functions over :func:`crm_core.views.runs.run_customers` frames (no database),
vectorised, so the page only draws what these return.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crm_core.segment.rfm import segment_text
from crm_core.segment.settings import SEGMENT_CODES

UNKNOWN_REGION = "(no region)"
CHURN_LEVELS = ("low", "medium", "high")
VALUE_COLUMNS = {"monetary": "Net total spent", "clv": "Predicted value (CLV)"}
SLIPPING_SEGMENTS = ("AT_RISK", "CANT_LOSE")
LIST_COLUMNS = ("name", "segment", "persona_name", "recency_days", "frequency", "monetary", "clv", "p_alive",
                "churn_risk", "region", "city")


@dataclass(frozen=True)
class CustomerFilter:
    """What the analyst narrowed the customer list to; an empty choice means "all"."""

    segments: tuple[str, ...] = ()  # segment codes
    clusters: tuple[int, ...] = ()
    churn_risks: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()  # UNKNOWN_REGION selects customers without one
    value_column: str = "monetary"
    value_min: float | None = None
    value_max: float | None = None

    def __post_init__(self) -> None:
        if self.value_column not in VALUE_COLUMNS:
            raise ValueError(f"value_column must be one of {', '.join(VALUE_COLUMNS)}, not {self.value_column!r}")


@dataclass(frozen=True)
class FilterChoices:
    """The values the filters can take in one run, in display order."""

    segments: tuple[tuple[str, str], ...]  # (code, label), canonical order, only segments present
    clusters: tuple[tuple[int, str], ...]  # (number, "1 · persona name")
    churn_risks: tuple[str, ...]
    regions: tuple[str, ...]
    value_bounds: dict  # value column -> (min, max) or None when the column has no value


@dataclass(frozen=True)
class ExplorerKpis:
    """The KPI cards of the segment explorer."""

    customers: int
    revenue: float
    mean_clv: float | None  # None when the value model was not fitted
    high_churn_share: float | None  # None when churn risk is unknown
    slipping_share: float  # share in At Risk / Can't Lose Them
    champions_share: float


def filter_choices(customers: pd.DataFrame, clusters: pd.DataFrame | None = None) -> FilterChoices:
    """The filter options present in ``customers`` (a run_customers frame) and its clusters."""
    present = set(customers["rfm_segment"].dropna().unique().tolist())
    segments = tuple((c, segment_text(c).label) for c in SEGMENT_CODES if c in present)
    numbers = sorted(int(n) for n in customers["cluster"].dropna().unique().tolist())
    names = clusters["persona_name"] if clusters is not None and "persona_name" in clusters else pd.Series(dtype=str)
    cluster_opts = tuple((n, f"{n} · {names[n]}" if n in names.index else str(n)) for n in numbers)
    risks = tuple(level for level in CHURN_LEVELS if (customers["churn_risk"] == level).any())
    regions = sorted(customers["region"].dropna().unique().tolist())
    if customers["region"].isna().any():
        regions.append(UNKNOWN_REGION)
    bounds = {}
    for col in VALUE_COLUMNS:
        values = customers[col].dropna()
        bounds[col] = (float(values.min()), float(values.max())) if len(values) else None
    return FilterChoices(segments, cluster_opts, risks, tuple(regions), bounds)


def filter_customers(customers: pd.DataFrame, chosen: CustomerFilter) -> pd.DataFrame:
    """The rows of ``customers`` that pass every filter of ``chosen`` (same columns and order).

    A value range drops customers whose value is unknown (e.g. no CLV) only
    when a bound is set on that column.
    """
    keep = np.ones(len(customers), dtype=bool)
    if chosen.segments:
        keep &= customers["rfm_segment"].isin(list(chosen.segments)).fillna(False).to_numpy(dtype=bool)
    if chosen.clusters:
        keep &= customers["cluster"].isin([int(c) for c in chosen.clusters]).fillna(False).to_numpy(dtype=bool)
    if chosen.churn_risks:
        keep &= customers["churn_risk"].isin(list(chosen.churn_risks)).fillna(False).to_numpy(dtype=bool)
    if chosen.regions:
        region = customers["region"].astype("string").fillna(UNKNOWN_REGION)
        keep &= region.isin(list(chosen.regions)).to_numpy(dtype=bool)
    value = customers[chosen.value_column].astype("Float64")
    if chosen.value_min is not None:
        keep &= (value >= chosen.value_min).fillna(False).to_numpy(dtype=bool)
    if chosen.value_max is not None:
        keep &= (value <= chosen.value_max).fillna(False).to_numpy(dtype=bool)
    return customers.loc[keep]


def explorer_kpis(customers: pd.DataFrame) -> ExplorerKpis:
    """Headline numbers of a run's (possibly filtered) customers."""
    n = len(customers)
    clv = customers["clv"].dropna()
    risk = customers["churn_risk"].dropna()
    segment = customers["rfm_segment"]
    return ExplorerKpis(
        customers=int(n),
        revenue=float(customers["monetary"].sum()),
        mean_clv=float(clv.mean()) if len(clv) else None,
        high_churn_share=float((risk == "high").mean()) if len(risk) else None,
        slipping_share=float(segment.isin(list(SLIPPING_SEGMENTS)).mean()) if n else 0.0,
        champions_share=float((segment == "CHAMPIONS").mean()) if n else 0.0,
    )


def customer_list(customers: pd.DataFrame, *, limit: int | None = None) -> pd.DataFrame:
    """The customer list as shown: id as a column, the list columns, most valuable (net total) first."""
    frame = customers.reindex(columns=list(LIST_COLUMNS))
    order = np.lexsort((np.arange(len(frame)), -frame["monetary"].to_numpy(dtype="float64", na_value=-np.inf)))
    frame = frame.iloc[order].rename_axis("customer_id").reset_index()
    return frame if limit is None else frame.head(limit)


def persona_cards(clusters: pd.DataFrame) -> pd.DataFrame:
    """One row per persona for the cards: ``cluster, persona_name, description, size, share`` and key medians.

    The medians (``median_frequency``, ``median_monetary``,
    ``median_recency_days``, ``median_avg_order_value``) are <NA> when the
    run did not store them.
    """
    keys = ["median_frequency", "median_monetary", "median_recency_days", "median_avg_order_value"]
    frame = clusters.reindex(columns=["persona_name", "description", "size", "share", *keys])
    return frame.rename_axis("cluster").reset_index()
