"""Personas come from the cluster profiles: retail and bank, unique stable codes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_core.segment.cluster import clustering_matrix
from crm_core.segment.personas import describe_clusters


def shop() -> tuple[pd.DataFrame, pd.Series]:
    """Cluster 1: frequent recent big spenders; cluster 2: one-off buyers long ago; cluster 3: average."""
    rng = np.random.default_rng(0)
    n = 100
    groups = [
        dict(recency_days=(2, 20), frequency=(15, 30), monetary=(3000, 6000), avg_order_value=(150, 250),
             n_products=(40, 80), tenure_days=(600, 700)),
        dict(recency_days=(300, 400), frequency=(1, 1), monetary=(20, 40), avg_order_value=(20, 40),
             n_products=(1, 3), tenure_days=(300, 400)),
        dict(recency_days=(40, 90), frequency=(3, 5), monetary=(300, 500), avg_order_value=(80, 120),
             n_products=(8, 15), tenure_days=(400, 500)),
    ]
    frames = [pd.DataFrame({k: rng.uniform(lo, hi, n) for k, (lo, hi) in g.items()}) for g in groups]
    f = pd.concat(frames, ignore_index=True)
    f["return_share"] = 0.0
    f.index = pd.Index([f"C{i:04d}" for i in range(len(f))], dtype="string", name="customer_id")
    labels = pd.Series(pd.array(np.repeat([1, 2, 3], n), dtype="Int64"), index=f.index)
    return f, labels


def test_retail_personas_follow_the_numbers():
    f, labels = shop()
    out = describe_clusters(f, labels, clustering_matrix(f))
    assert out.index.tolist() == [1, 2, 3]
    assert out.loc[1, "persona"].startswith("LOYALISTS")
    assert out.loc[2, "persona"].startswith("LAPSED_ONE_OFFS")
    assert out["persona"].is_unique and out["persona_name"].is_unique
    assert out.loc[1, "size"] == 100 and out["share"].sum() == 1.0
    assert "buy more often" in out.loc[1, "description"]
    assert "100 customers (33%)" in out.loc[2, "description"]
    assert out.loc[1, "median_frequency"] > out.loc[3, "median_frequency"] > out.loc[2, "median_frequency"]


def test_the_same_profile_on_other_numbers_gives_another_persona():
    f, labels = shop()
    swapped = labels.map({1: 2, 2: 1, 3: 3}).astype("Int64")
    out = describe_clusters(f, swapped, clustering_matrix(f))
    assert out.loc[2, "persona"].startswith("LOYALISTS")  # names follow the data, not the number


def test_bank_personas_use_age_balance_and_holdings():
    f, labels = shop()
    extra = pd.DataFrame({
        "age": np.repeat([62.0, 25.0, 45.0], 100),
        "balance": np.repeat([90_000.0, 800.0, 12_000.0], 100),
        "n_holdings": np.repeat([4.0, 1.0, 2.0], 100),
    }, index=f.index)
    out = describe_clusters(f, labels, clustering_matrix(f, extra), extra)
    assert out.loc[1, "persona"].startswith("SAVERS_NEAR_RETIREMENT")
    assert out.loc[2, "persona"].startswith("YOUNG_")
    assert "aged 62" in out.loc[1, "description"] and "balance 90,000" in out.loc[1, "description"]


def test_colliding_personas_get_distinct_codes():
    f, labels = shop()
    twins = pd.concat([f.iloc[200:], f.iloc[200:] * 1.3])  # two clusters of average customers
    twins.index = pd.Index([f"T{i:04d}" for i in range(len(twins))], dtype="string", name="customer_id")
    both = pd.concat([f, twins])
    lab = pd.Series(pd.array(np.r_[labels.to_numpy(), np.repeat([4, 5], 100)], dtype="Int64"), index=both.index)
    out = describe_clusters(both, lab, clustering_matrix(both))
    assert out["persona"].is_unique and out["persona_name"].is_unique


def test_age_alone_does_not_make_a_bank():
    f, labels = shop()
    extra = pd.DataFrame({"age": np.repeat([62.0, 25.0, 45.0], 100)}, index=f.index)
    out = describe_clusters(f, labels, clustering_matrix(f, extra), extra)
    assert out.loc[1, "persona"].startswith("LOYALISTS")  # a shop whose customers have birth dates
    assert "aged 62" in out.loc[1, "description"] and "order(s)" in out.loc[1, "description"]


def test_bank_wording_and_no_redundant_modifier():
    f, labels = shop()
    extra = pd.DataFrame({
        "age": np.repeat([45.0, 45.0, 45.0], 100),
        "balance": np.repeat([-150_000.0, 60_000.0, 9_000.0], 100),
        "n_holdings": np.repeat([3.0, 3.0, 3.0], 100),
    }, index=f.index)
    out = describe_clusters(f, labels, clustering_matrix(f, extra), extra)
    assert out.loc[1, "persona"].startswith("BORROWERS")
    assert "balance" not in out.loc[1, "persona_name"].lower()  # not "Low-balance borrowers"
    assert "transaction(s)" in out.loc[1, "description"] and "order" not in out.loc[1, "description"]
