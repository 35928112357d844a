"""One call from customer features to segments, clusters, personas and value."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crm_core.segment.cluster import cluster_customers
from crm_core.segment.personas import describe_clusters
from crm_core.segment.recency import recency_bands
from crm_core.segment.rfm import assign_segments, rfm_scores
from crm_core.segment.settings import SEGMENT_CODES, SegmentConfig
from crm_core.segment.value import predict_value

SEGMENT_COLUMNS = (
    "r_score", "f_score", "m_score", "rfm_segment", "cluster", "persona", "persona_name",
    "expected_purchases", "clv", "p_alive", "churn_risk", "churn_score",
)


@dataclass(frozen=True)
class SegmentResult:
    """What the segment stage produces for one run.

    Attributes:
        customers: indexed by customer_id (as the features): ``r_score, f_score,
            m_score`` (int64), ``rfm_segment`` (code), ``cluster`` (Int64, 1..k),
            ``persona`` (code), ``persona_name``, ``expected_purchases, clv,
            p_alive, churn_score`` (Float64, <NA> when the model could not be
            fitted) and ``churn_risk`` (low / medium / high).
        clusters: indexed by cluster: size, share, persona, persona_name,
            description, median_* and z_* profile columns.
        params: JSON-ready: ``clv_model`` {r, alpha, a, b, p, q, gamma,
            time_unit, log_likelihood, ...}, ``rfm`` (recency rule, the shop's median
            days between purchases, the R day bands, the F1 share), ``cluster_sizes``,
            ``clustering`` (method, k, silhouettes, features), ``segment_sizes``.
        reasons: why a model could not be fitted or a step was simplified.
        timings: seconds per stage (rfm, cluster, value); not deterministic.
    """

    customers: pd.DataFrame
    clusters: pd.DataFrame
    params: dict
    reasons: tuple[str, ...] = field(default_factory=tuple)
    timings: dict = field(default_factory=dict)


def segment_customers(
    features: pd.DataFrame, config: SegmentConfig | None = None, extra: pd.DataFrame | None = None
) -> SegmentResult:
    """RFM segments, clusters with personas, predicted value and churn risk.

    Args:
        features: :func:`crm_core.features.customer_features` output.
        config: segment settings (defaults when None).
        extra: optional numeric per-customer columns indexed by customer_id
            (bank demographics and holdings: ``age``, ``balance``, ``n_holdings``),
            used for clustering and personas.
    Returns:
        A :class:`SegmentResult`. Same features and config give identical frames.
    """
    config = config or SegmentConfig()
    timings: dict[str, float] = {}
    reasons: list[str] = []

    start = time.perf_counter()
    bands = recency_bands(features, config.rfm)
    if bands.reason:
        reasons.append(f"segments: {bands.reason}")
    scores = rfm_scores(features, bands)
    segments = assign_segments(scores, config.rfm)
    timings["rfm"] = time.perf_counter() - start

    start = time.perf_counter()
    if len(features):
        clustering = cluster_customers(features, config.cluster, extra)
        if clustering.reason:
            reasons.append(f"clustering: {clustering.reason}")
        clusters = describe_clusters(features, clustering.labels, clustering.matrix, extra)
        labels = clustering.labels
    else:
        clustering = None
        clusters = _empty_clusters()
        labels = pd.Series(pd.array([], dtype="Int64"), index=features.index)
        reasons.append("clustering: no customers")
    timings["cluster"] = time.perf_counter() - start

    start = time.perf_counter()
    value = predict_value(features, config.value)
    reasons.extend(value.reasons)
    timings["value"] = time.perf_counter() - start

    # per-customer persona: take from the small per-cluster arrays (fast for millions of rows)
    position = clusters.index.get_indexer(labels.to_numpy(dtype="int64", na_value=0))
    customers = pd.concat([scores, segments], axis=1)
    customers["cluster"] = labels
    customers["persona"] = clusters["persona"].array.take(position, allow_fill=True)
    customers["persona_name"] = clusters["persona_name"].array.take(position, allow_fill=True)
    customers = pd.concat([customers, value.frame], axis=1)[list(SEGMENT_COLUMNS)]

    params = {
        **value.params,
        "rfm": {**bands.to_dict(), "f1_share": _f1_share(scores)},
        "cluster_sizes": {str(k): int(v) for k, v in clusters["size"].items()},
        "clustering": {
            "method": config.cluster.method,
            "k": int(clustering.k) if clustering else 0,
            "k_chosen_by": "config" if config.cluster.k is not None else "silhouette",
            "silhouettes": {str(k): v for k, v in (clustering.silhouettes if clustering else {}).items()},
            "features": list(clustering.columns) if clustering else [],
            "seed": config.cluster.seed,
        },
        "segment_sizes": {
            code: int(n) for code, n in segments.value_counts().reindex(list(SEGMENT_CODES), fill_value=0).items()
        },
    }
    return SegmentResult(customers, clusters, params, tuple(reasons), timings)


def _f1_share(scores: pd.DataFrame) -> float:
    """Share of customers at F1 (ties at one purchase: above 40 % no customer scores F2)."""
    return round(float((scores["f_score"] == 1).mean()), 6) if len(scores) else 0.0


def _empty_clusters() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "size": np.array([], dtype="int64"),
            "share": np.array([], dtype="float64"),
            "persona": pd.array([], dtype="string"),
            "persona_name": pd.array([], dtype="string"),
            "description": pd.array([], dtype="string"),
        }
    )
    frame.index.name = "cluster"
    return frame
