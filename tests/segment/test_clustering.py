"""Clustering: seeded and canonical, auto-k by silhouette, all three methods."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_core.features import customer_features
from crm_core.segment.cluster import cluster_customers, clustering_matrix, project_2d
from crm_core.segment.settings import ClusterConfig

from .builders import AS_OF


def blobs(sizes=(300, 200, 100), seed=1) -> pd.DataFrame:
    """Three well separated customer groups (small, medium and big spenders)."""
    rng = np.random.default_rng(seed)
    parts = []
    for level, n in enumerate(sizes):
        scale = 10.0 ** (level + 1)
        parts.append(pd.DataFrame({
            "recency_days": rng.integers(1, 30, n) * (3 - level),
            "frequency": rng.integers(1, 3, n) * (level + 1) ** 2,
            "monetary": rng.lognormal(np.log(scale), 0.1, n),
            "tenure_days": rng.integers(100, 120, n) * (level + 1),
            "avg_order_value": rng.lognormal(np.log(scale / 2), 0.1, n),
        }))
    frame = pd.concat(parts, ignore_index=True)
    frame.index = pd.Index([f"C{i:04d}" for i in range(len(frame))], dtype="string", name="customer_id")
    return frame


def test_clusters_are_numbered_by_descending_mean_monetary():
    f = blobs()
    c = cluster_customers(f, ClusterConfig(k=3))
    means = f["monetary"].groupby(c.labels.to_numpy()).mean()
    assert means.index.tolist() == [1, 2, 3]
    assert means.is_monotonic_decreasing
    assert c.labels.dtype == "Int64" and c.k == 3


def test_same_data_same_labels_for_every_method():
    f = blobs()
    for method in ("kmeans", "gmm", "hierarchical"):
        config = ClusterConfig(method=method, k=3)
        first = cluster_customers(f, config).labels
        second = cluster_customers(f.copy(), config).labels
        pd.testing.assert_series_equal(first, second)


def test_auto_k_finds_the_three_groups():
    f = blobs()
    c = cluster_customers(f, ClusterConfig(k=None, k_min=2, k_max=6))
    assert c.k == 3
    assert set(c.silhouettes) == {2, 3, 4, 5, 6}
    assert max(c.silhouettes, key=c.silhouettes.get) == 3
    # the big spenders form one cluster of their own
    assert c.labels.iloc[-100:].nunique() == 1 and c.labels.iloc[-1] == 1


def test_silhouettes_do_not_depend_on_the_memory_the_distances_get(monkeypatch):
    """The silhouette's distances are computed a few rows at a time (scikit-learn would hold the whole
    sample x sample matrix, 200 MB at 5,000): every k scores exactly as with the matrix held at once."""
    import crm_core.segment.cluster as cluster

    f = blobs()
    config = ClusterConfig(k=None, k_min=2, k_max=6)
    monkeypatch.setattr(cluster, "_SILHOUETTE_MB", 1024)  # the whole 600 x 600 matrix at once
    whole = cluster_customers(f, config).silhouettes
    monkeypatch.setattr(cluster, "_SILHOUETTE_MB", 0.01)  # a couple of rows per block
    assert cluster_customers(f, config).silhouettes == whole and len(whole) == 5


def test_hierarchical_on_a_sample_assigns_everyone():
    f = blobs(sizes=(600, 400, 200))
    c = cluster_customers(f, ClusterConfig(method="hierarchical", k=3, hierarchical_sample=150))
    assert c.labels.notna().all() and sorted(c.labels.unique()) == [1, 2, 3]
    # sampling does not break the obvious structure
    assert c.labels.iloc[-200:].nunique() == 1


def test_kmeans_fitted_on_a_sample_still_labels_everyone():
    f = blobs()
    c = cluster_customers(f, ClusterConfig(k=3, fit_sample=50))
    assert c.labels.notna().all() and c.labels.nunique() == 3


def test_one_customer_forms_one_cluster_with_a_reason():
    f = blobs().iloc[:1]
    c = cluster_customers(f, ClusterConfig(k=4))
    assert c.labels.tolist() == [1] and "one cluster" in c.reason


def test_k_larger_than_distinct_profiles_is_capped():
    f = pd.concat([blobs().iloc[:1]] * 3 + [blobs().iloc[-1:]] * 3)
    f.index = pd.Index(["A", "B", "C", "D", "E", "F"], dtype="string", name="customer_id")
    c = cluster_customers(f, ClusterConfig(k=5))
    assert c.k == 2


def test_matrix_is_scaled_signed_log_and_takes_extra_columns(simulated_tx):
    f = customer_features(simulated_tx, AS_OF)
    extra = pd.DataFrame({"age": np.arange(len(f), dtype=float), "note": "x"}, index=f.index)
    extra.iloc[0, 0] = np.nan
    m = clustering_matrix(f, extra)
    assert "age" in m.columns and "note" not in m.columns
    assert np.allclose(m.mean(), 0, atol=1e-9) and np.allclose(m.std(ddof=0), 1)
    assert np.isfinite(m.to_numpy()).all()


def test_projection_is_two_dimensional_and_seeded(simulated_tx):
    f = customer_features(simulated_tx, AS_OF)
    labels = cluster_customers(f, ClusterConfig(k=3)).labels
    p1 = project_2d(f, labels, sample=100, seed=5)
    p2 = project_2d(f, labels, sample=100, seed=5)
    assert list(p1.columns) == ["x", "y", "cluster"] and len(p1) == 100
    pd.testing.assert_frame_equal(p1, p2)


@pytest.mark.parametrize("bad", [{"method": "dbscan"}, {"k": 1}, {"k_min": 5, "k_max": 3},
                                 {"hierarchical_sample": 20_000}])
def test_bad_cluster_settings_are_refused(bad):
    from crm_core.errors import ConfigError

    with pytest.raises(ConfigError):
        ClusterConfig(**bad)
