"""The offer score: a weighted sum of components in [0, 1], and the top N per customer.

Components: ``affinity`` (the purchase model's probability relative to the
customer's best candidate), ``popularity`` (recent distinct invoices, log
scaled against the bestseller), ``profit`` (margin rate) and ``scenario_fit``.
A component without data (no margins, no recent sales) is left out and the
other weights renormalised, so a score is always in [0, 1].
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_core.recommend.settings import COMPONENTS, RecommendConfig


def relative_affinity(customer: np.ndarray, probability: np.ndarray) -> np.ndarray:
    """Probability divided by the customer's highest candidate probability (0..1)."""
    if len(customer) and (np.diff(customer) >= 0).all():  # grouped by customer: one pass over the runs
        starts = np.flatnonzero(np.r_[True, customer[1:] != customer[:-1]])
        best = np.repeat(np.maximum.reduceat(probability, starts), np.diff(np.r_[starts, len(customer)]))
    else:
        best = pd.Series(probability).groupby(customer).transform("max").to_numpy()
    return np.divide(probability, best, out=np.zeros(len(probability)), where=best > 0)


def popularity_component(popularity: np.ndarray, offerable: np.ndarray) -> np.ndarray | None:
    """Per product code, log(1 + invoices) / log(1 + bestseller's invoices); None without recent sales."""
    top = float(popularity[offerable].max()) if offerable.any() else 0.0
    if top <= 0:
        return None
    return np.clip(np.log1p(popularity) / np.log1p(top), 0.0, 1.0)


def profit_component(margin_rate: np.ndarray, offerable: np.ndarray) -> np.ndarray | None:
    """Per product code, the margin rate clipped to [0, 1] (unknown: the median known); None without margins."""
    known = np.isfinite(margin_rate) & offerable
    if not known.any():
        return None
    filled = np.where(np.isfinite(margin_rate), margin_rate, float(np.median(margin_rate[known])))
    return np.clip(filled, 0.0, 1.0)


def weighted_score(components: dict[str, np.ndarray | None], config: RecommendConfig) -> tuple[np.ndarray, dict]:
    """Weighted sum of the components that have data, weights renormalised.

    Args:
        components: name -> values in [0, 1] aligned with the candidates, or None (no data).
        config: the weights.
    Returns:
        (score in [0, 1], the weights used, summing to 1 over the components with data).
    """
    weights = {k: w for k, w in config.weights.items() if components.get(k) is not None}
    total = sum(weights.values())
    if total <= 0:  # only components without data carry weight: fall back to equal weights
        weights = {k: 1.0 for k in COMPONENTS if components.get(k) is not None}
        total = float(len(weights))
    used = {k: w / total for k, w in weights.items()}
    n = len(next(v for v in components.values() if v is not None))
    score = np.zeros(n)
    for name, w in used.items():
        score += w * np.asarray(components[name], dtype=float)
    return np.clip(score, 0.0, 1.0), used
