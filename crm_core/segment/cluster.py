"""Clustering of customers on scaled, log-transformed behaviour features.

Features get a signed log1p (money can be negative) and are standardised;
constant columns are dropped. Methods: K-Means (default, fixed ``n_init``,
seeded), Gaussian mixture, and hierarchical (Ward) on a sample of at most
10,000 with everyone assigned to the nearest cluster centroid. K-Means and
the mixture are fitted on at most ``fit_sample`` customers and predict the
rest. Without a given k, k is chosen by the best silhouette on a sample.
Clusters are numbered 1..k by descending mean monetary (then size), so the
same data and config always give the same labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn import config_context
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from crm_core.segment.settings import ClusterConfig

_SMALL = 50_000  # up to this many rows a single thread fits faster than several
_SILHOUETTE_MB = 32  # distances held at once by the silhouette (scikit-learn would hold 5,000 x 5,000: 200 MB)

# Behaviour features used when present (extra columns such as age, n_holdings, balance are added).
CLUSTER_FEATURES = (
    "recency_days", "frequency", "monetary", "tenure_days", "avg_order_value",
    "n_products", "n_families", "return_share", "mean_interpurchase_days",
)


@dataclass(frozen=True)
class Clustering:
    """Labels 1..k per customer, the feature matrix used, and how k was chosen."""

    labels: pd.Series
    matrix: pd.DataFrame
    k: int
    method: str
    silhouettes: dict[int, float]
    reason: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """The feature columns the clusters were fitted on."""
        return tuple(self.matrix.columns)


def clustering_matrix(features: pd.DataFrame, extra: pd.DataFrame | None = None) -> pd.DataFrame:
    """Scaled, signed-log1p features per customer, constant columns dropped.

    Args:
        features: customer features (index customer_id).
        extra: optional numeric per-customer columns (demographics, holdings);
            missing values take the column median.
    Returns:
        A float64 frame with the same index as ``features``.
    """
    names = [c for c in CLUSTER_FEATURES if c in features.columns]
    blocks = [features[c].to_numpy(dtype="float64", na_value=np.nan) for c in names]
    if extra is not None and len(extra.columns):
        numeric = extra.reindex(features.index).select_dtypes(include=["number", "bool"]).astype("float64")
        for c in numeric.columns:
            if c not in names:
                column = numeric[c].to_numpy(dtype="float64", na_value=np.nan)
                blocks.append(np.where(np.isnan(column), np.nanmedian(column) if (~np.isnan(column)).any() else 0.0,
                                       column))
                names.append(c)
    values = np.column_stack(blocks) if blocks else np.zeros((len(features), 0))
    values = np.nan_to_num(np.sign(values) * np.log1p(np.abs(values)), nan=0.0)
    mean, std = values.mean(axis=0), values.std(axis=0)
    keep = std > 1e-12
    scaled = (values[:, keep] - mean[keep]) / std[keep]
    return pd.DataFrame(scaled, index=features.index, columns=[c for c, k in zip(names, keep) if k], copy=False)


def cluster_customers(
    features: pd.DataFrame, config: ClusterConfig, extra: pd.DataFrame | None = None
) -> Clustering:
    """Cluster customers and number the clusters canonically.

    Args:
        features: customer features (index customer_id, needs ``monetary``).
        config: method, k (None = auto), seed, sample sizes.
        extra: optional demographics / holdings columns per customer.
    Returns:
        A :class:`Clustering`; ``labels`` is Int64, 1..k. With fewer than two
        distinct customers everyone is in cluster 1 and ``reason`` says why.
    """
    matrix = clustering_matrix(features, extra)
    X = matrix.to_numpy()
    n_distinct = len(pd.DataFrame(X).drop_duplicates()) if len(X) <= 200_000 else len(X)
    if n_distinct < 2 or X.shape[1] == 0:
        labels = pd.Series(_int_array(np.ones(len(X), dtype="int64")), index=features.index, name="cluster")
        reason = f"{n_distinct} distinct customer profile(s): all customers form one cluster"
        return Clustering(labels, matrix, 1 if len(X) else 0, config.method, {}, reason)
    rng = np.random.default_rng(config.seed)
    silhouettes: dict[int, float] = {}
    if config.k is None:
        with threadpool_limits(limits=1):  # many small fits: threads cost more than they give
            k, silhouettes = _choose_k(X, config, rng, n_distinct)
    else:
        k = min(config.k, n_distinct)
    with threadpool_limits(limits=1 if min(len(X), config.fit_sample) <= _SMALL else None):
        raw = _fit_predict(X, k, config, rng)
    labels = _canonical(raw, features["monetary"].to_numpy(dtype="float64"))
    return Clustering(
        pd.Series(_int_array(labels), index=features.index, name="cluster"),
        matrix, int(labels.max()), config.method, silhouettes,
    )


def _int_array(values: np.ndarray) -> pd.arrays.IntegerArray:
    return pd.arrays.IntegerArray(values.astype("int64"), np.zeros(len(values), dtype=bool))


def project_2d(features: pd.DataFrame, labels: pd.Series, *, extra: pd.DataFrame | None = None,
               sample: int = 5_000, seed: int = 42) -> pd.DataFrame:
    """A 2-D PCA projection of (a seeded sample of) customers for the cluster scatter.

    Returns:
        A frame indexed by customer_id with ``x, y, cluster``.
    """
    matrix = clustering_matrix(features, extra)
    idx = _sample(len(matrix), sample, np.random.default_rng(seed))
    X = matrix.to_numpy()
    n_comp = min(2, X.shape[1], len(X))
    points = np.zeros((len(idx), 2))
    if n_comp >= 1:
        points[:, :n_comp] = PCA(n_components=n_comp, random_state=seed).fit(X).transform(X[idx])[:, :n_comp]
    return pd.DataFrame(
        {"x": points[:, 0], "y": points[:, 1], "cluster": labels.iloc[idx].to_numpy()},
        index=matrix.index[idx],
    )


def _sample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted row positions of a seeded sample (all rows when n <= size)."""
    if n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


def _choose_k(X: np.ndarray, config: ClusterConfig, rng: np.random.Generator, n_distinct: int):
    """k in k_min..k_max with the best silhouette (ties: the smaller k)."""
    fit_idx = _sample(len(X), config.selection_sample, rng)
    Xs = X[fit_idx]
    sil_idx = _sample(len(Xs), config.silhouette_sample, rng)
    scores: dict[int, float] = {}
    for k in range(config.k_min, min(config.k_max, n_distinct - 1, len(Xs) - 1) + 1):
        labels = _fit_predict(Xs, k, config, np.random.default_rng(config.seed))
        if len(np.unique(labels[sil_idx])) < 2:
            continue
        with config_context(working_memory=_SILHOUETTE_MB):  # row blocks of the distances, same result
            scores[k] = round(float(silhouette_score(Xs[sil_idx], labels[sil_idx])), 6)
    if not scores:
        return min(config.k_min, n_distinct), scores
    best = max(scores.values())
    return min(k for k, s in scores.items() if s == best), scores


def _fit_predict(X: np.ndarray, k: int, config: ClusterConfig, rng: np.random.Generator) -> np.ndarray:
    """Raw labels 0..k-1 from the configured method."""
    if config.method == "hierarchical":
        idx = _sample(len(X), config.hierarchical_sample, rng)
        sample_labels = AgglomerativeClustering(n_clusters=min(k, len(idx)), linkage="ward").fit_predict(X[idx])
        centroids = np.vstack([X[idx][sample_labels == c].mean(axis=0) for c in range(sample_labels.max() + 1)])
        return _nearest(X, centroids)
    idx = _sample(len(X), config.fit_sample, rng)
    if config.method == "gmm":
        model = GaussianMixture(n_components=k, covariance_type="full", n_init=1, random_state=config.seed,
                                reg_covar=1e-4)
    else:
        model = KMeans(n_clusters=k, n_init=config.n_init, random_state=config.seed)
    model.fit(X[idx])
    return model.predict(X)


def _nearest(X: np.ndarray, centroids: np.ndarray, chunk: int = 200_000) -> np.ndarray:
    """Index of the nearest centroid per row (chunked to bound memory)."""
    out = np.empty(len(X), dtype="int64")
    c2 = (centroids**2).sum(axis=1)
    for start in range(0, len(X), chunk):
        block = X[start:start + chunk]
        out[start:start + chunk] = np.argmin(c2 - 2.0 * block @ centroids.T, axis=1)
    return out


def _canonical(raw: np.ndarray, monetary: np.ndarray) -> np.ndarray:
    """Renumber raw labels 1..k by descending mean monetary, then size, then first member."""
    used, inverse = np.unique(raw, return_inverse=True)
    sizes = np.bincount(inverse)
    means = np.bincount(inverse, weights=monetary) / sizes
    first = np.full(len(used), len(raw))
    np.minimum.at(first, inverse, np.arange(len(raw)))
    order = np.lexsort((first, -sizes, -means))
    rank = np.empty(len(used), dtype="int64")
    rank[order] = np.arange(1, len(used) + 1)
    return rank[inverse]
