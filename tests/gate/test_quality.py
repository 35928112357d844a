"""Run quality: figures computed by hand on a small gated frame, and the level thresholds."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from crm_core.gate import GateConfig, quality_level, run_quality

# customer, product, family, audit score, gate, worst severity; D and E (in the run) have no offer.
ROWS = [("A", "P1", "F1", 98, "PASS", "INFO"), ("A", "P2", "F2", 68, "REVIEW", "WARN"),
        ("B", "P1", "F1", 0, "BLOCK", "ERROR"),
        ("C", "P3", "F1", 83, "PASS", "WARN"), ("C", "P4", "F1", 79, "REVIEW", "WARN")]


def gated(rows=ROWS) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "product_id", "family", "audit_score", "gate",
                                        "worst_severity"])
    return frame.astype({"customer_id": "string", "product_id": "string", "family": "string", "gate": "string",
                         "worst_severity": "string"})


def test_quality_figures_by_hand():
    q = run_quality(gated(), customers_in_run=5, offerable_products=10, config=GateConfig())
    assert q == {
        "level": "POOR",  # coverage and high scores reach ACCEPTABLE (0.4) but 20 % errors exceed its 15 %
        "customers": 5, "customers_with_offers": 3, "customers_with_pass": 2, "offers": 5,
        "pass": 2, "review": 2, "block": 1,
        "coverage": 0.4,                       # A and C have a PASS offer
        "high_score_share": 0.4,               # best offers: A 98, B 0, C 83
        "error_rate": 0.2,                     # B's offer
        "mean_families_per_customer": 1.333333,  # A 2, B 1, C 1
        "distinct_products_offered": 4, "offerable_products": 10, "catalogue_share": 0.4,
        "audit_score_mean": 65.6,
        "audit_score_quantiles": {"p10": 27.2, "p25": 68.0, "median": 79.0, "p75": 83.0, "p90": 92.0},
        "audit_score_bins": {"0-9": 1, "10-19": 0, "20-29": 0, "30-39": 0, "40-49": 0, "50-59": 0, "60-69": 1,
                             "70-79": 1, "80-89": 1, "90-100": 1},
    }
    json.dumps(q, allow_nan=False)


def test_the_run_customers_can_be_given_as_ids_and_those_with_offers_are_always_counted():
    q = run_quality(gated(), customers_in_run=pd.Index(["A", "D", "E", "F"]), offerable_products=10,
                    config=GateConfig())
    assert q["customers"] == 6  # A, D, E, F plus B and C (offers but missing from the ids, e.g. holdings-only)


def test_a_count_below_the_customers_with_offers_counts_them_all():
    q = run_quality(gated(), customers_in_run=2, offerable_products=10, config=GateConfig())
    assert (q["customers"], q["coverage"]) == (3, 0.666667)


def test_a_frame_that_is_not_gated_is_refused():
    with pytest.raises(ValueError, match=r"missing column\(s\) \['worst_severity'\]"):
        run_quality(gated().drop(columns="worst_severity"), customers_in_run=5, offerable_products=10,
                    config=GateConfig())


def test_a_score_of_100_falls_in_the_top_bin():
    q = run_quality(gated([("A", "P1", "F1", 100, "PASS", "")]), customers_in_run=1, offerable_products=0,
                    config=GateConfig())
    assert q["audit_score_bins"]["90-100"] == 1
    assert (q["catalogue_share"], q["level"]) == (None, "EXCELLENT")


def test_a_run_without_offers_is_poor_and_still_json_safe():
    q = run_quality(gated([]), customers_in_run=3, offerable_products=5, config=GateConfig())
    assert (q["level"], q["coverage"], q["offers"], q["audit_score_mean"], q["mean_families_per_customer"]) == (
        "POOR", 0.0, 0, None, None)
    assert q["audit_score_quantiles"]["median"] is None
    json.dumps(q, allow_nan=False)


@pytest.mark.parametrize("coverage, high, errors, level", [
    (0.8, 0.8, 0.02, "EXCELLENT"), (0.79, 0.9, 0.0, "GOOD"), (0.9, 0.9, 0.03, "GOOD"),
    (0.6, 0.6, 0.05, "GOOD"), (0.5, 0.7, 0.05, "ACCEPTABLE"), (0.4, 0.4, 0.15, "ACCEPTABLE"),
    (0.39, 1.0, 0.0, "POOR"), (1.0, 1.0, 0.16, "POOR"),
])
def test_level_thresholds(coverage, high, errors, level):
    metrics = {"coverage": coverage, "high_score_share": high, "error_rate": errors}
    assert quality_level(metrics, GateConfig()) == level


def test_level_thresholds_come_from_config():
    config = GateConfig.from_dict({"quality_levels": {"ACCEPTABLE": {"max_error_rate": 0.25}}})
    q = run_quality(gated(), customers_in_run=5, offerable_products=10, config=config)
    assert q["level"] == "ACCEPTABLE"
