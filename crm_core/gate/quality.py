"""Run-level quality of the gated offers: coverage, diversity, audit scores, errors, and a level.

Definitions (denominators are the run's customers unless said otherwise):

- ``coverage``: customers with at least one PASS offer / the run's customers.
- ``high_score_share``: customers whose best offer (highest audit score of
  their offers) scores >= ``high_audit_score`` (80) / the run's customers.
- ``error_rate``: offers carrying an ERROR flag (after the policy's
  escalations) / offers.
- ``mean_families_per_customer``: distinct families per customer with offers.
- ``catalogue_share``: distinct products offered / offerable products.
- ``audit_score_bins``: offers per 10-point bin (``90-100`` includes 100);
  quantiles by linear interpolation.
- ``level``: EXCELLENT, GOOD or ACCEPTABLE when coverage, high_score_share
  and error_rate all meet that level's thresholds (config), else POOR.

The dict is JSON-safe with stable keys; shares are rounded to 6 decimals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_core.gate.codes import arrow, encode, sorted_unique
from crm_core.gate.settings import LEVELS, GateConfig

REQUIRED = ("customer_id", "product_id", "family", "audit_score", "gate", "worst_severity")
BINS = tuple(f"{lo}-{lo + 9}" if lo < 90 else "90-100" for lo in range(0, 100, 10))
QUANTILES = {"p10": 0.10, "p25": 0.25, "median": 0.50, "p75": 0.75, "p90": 0.90}


def run_quality(gated_offers: pd.DataFrame, *, customers_in_run, offerable_products: int,
                config: GateConfig) -> dict:
    """Quality metrics and level of one run's gated offers.

    Args:
        gated_offers: ``gate_offers`` output (``customer_id, product_id, family,
            audit_score, gate, worst_severity`` are read).
        customers_in_run: the run's customers (those with and without offers): their ids,
            or their number. Every customer with an offer counts as one of the run's (a
            bank's holdings-only customers may be missing from the sales customers): ids
            are joined with them exactly; a number below them is raised to their count.
        offerable_products: products the engine could offer (catalogue share's denominator).
        config: gate settings (``high_audit_score``, ``quality_levels``).
    Returns:
        A JSON-safe dict: ``level, customers, customers_with_offers,
        customers_with_pass, offers, pass, review, block, coverage,
        high_score_share, error_rate, mean_families_per_customer,
        distinct_products_offered, offerable_products, catalogue_share,
        audit_score_mean, audit_score_quantiles, audit_score_bins``
        (None where a figure has no data, e.g. quantiles of no offer).
    Raises:
        ValueError: a required column is missing.
    """
    missing = [c for c in REQUIRED if c not in gated_offers.columns]
    if missing:
        raise ValueError(f"run_quality needs gate_offers output; missing column(s) {missing}.")
    o = gated_offers
    customer, customers = encode(o["customer_id"])  # codes once; every count below is a bincount
    with_offers = len(customers)
    customers_in_run = _run_customers(customers_in_run, customers)
    gate = o["gate"].astype("string")
    score = pd.to_numeric(o["audit_score"]).to_numpy(dtype=float, na_value=np.nan)
    passed = _customers_where(customer, gate.eq("PASS").to_numpy(dtype=bool, na_value=False), with_offers)
    # A customer's best offer scores >= the line exactly when one of their offers does.
    high = _customers_where(customer, score >= config.high_audit_score, with_offers)
    errors = int(o["worst_severity"].astype("string").eq("ERROR").to_numpy(dtype=bool, na_value=False).sum())
    family, families = encode(o["family"])
    pairs = sorted_unique(customer * (len(families) + 1) + family + 1)  # family -1 (unknown) counts as one
    products = len(encode(o["product_id"])[1])
    counts = gate.value_counts()
    out = {
        "customers": int(customers_in_run), "customers_with_offers": with_offers, "customers_with_pass": passed,
        "offers": int(len(o)), "pass": int(counts.get("PASS", 0)), "review": int(counts.get("REVIEW", 0)),
        "block": int(counts.get("BLOCK", 0)),
        "coverage": _share(passed, customers_in_run),
        "high_score_share": _share(high, customers_in_run),
        "error_rate": _share(errors, len(o)),
        "mean_families_per_customer": _round(len(pairs) / with_offers) if with_offers else None,
        "distinct_products_offered": products, "offerable_products": int(offerable_products),
        "catalogue_share": _share(products, offerable_products) if offerable_products > 0 else None,
        "audit_score_mean": _round(np.nanmean(score)) if np.isfinite(score).any() else None,
        "audit_score_quantiles": _quantiles(score),
        "audit_score_bins": _bins(score),
    }
    return {"level": quality_level(out, config), **out}


def quality_level(metrics: dict, config: GateConfig) -> str:
    """EXCELLENT, GOOD or ACCEPTABLE (the first whose thresholds all hold), else POOR."""
    for level in LEVELS:
        t = config.quality_levels[level]
        if (metrics["coverage"] >= t["min_coverage"] and metrics["high_score_share"] >= t["min_high_score_share"]
                and metrics["error_rate"] <= t["max_error_rate"]):
            return level
    return "POOR"


def _run_customers(customers_in_run, offered: pa.Array) -> int:
    """The number of the run's customers: the distinct ids given plus those with offers (a count: at least them)."""
    if isinstance(customers_in_run, (int, np.integer)):
        return max(int(customers_in_run), len(offered))
    ids = arrow(pd.Series(list(customers_in_run)) if not isinstance(customers_in_run, (pd.Series, pd.Index))
                else pd.Series(customers_in_run))
    both = pa.chunked_array(ids.chunks + [offered.cast(pa.large_string())])
    return len(pc.unique(both.drop_null()))


def _customers_where(customer: np.ndarray, rows: np.ndarray, n: int) -> int:
    """How many distinct customer codes the selected rows have."""
    return int(np.count_nonzero(np.bincount(customer[rows], minlength=n)))


def _round(value) -> float:
    return round(float(value), 6)


def _share(part: int, whole: int) -> float:
    """part / whole rounded to 6 decimals (0.0 for an empty whole: nothing was achieved)."""
    return _round(part / whole) if whole > 0 else 0.0


def _quantiles(score: np.ndarray) -> dict:
    known = score[np.isfinite(score)]
    if not len(known):
        return {name: None for name in QUANTILES}
    values = np.quantile(known, list(QUANTILES.values()))
    return {name: _round(v) for name, v in zip(QUANTILES, values)}


def _bins(score: np.ndarray) -> dict:
    known = score[np.isfinite(score)]
    which = np.clip((known // 10).astype(np.int64), 0, 9)  # 100 joins 90-99
    counts = np.bincount(which, minlength=10)
    return {name: int(c) for name, c in zip(BINS, counts)}
