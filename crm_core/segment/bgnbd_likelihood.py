"""The BG/NBD log-likelihood on distinct (x, t_x, T) triples, with its gradient.

Fitting at scale: the likelihood runs on the distinct triples weighted by
their counts, special functions once per distinct x, and beta ratios as exact
products over the integer x (:func:`log_likelihood`). :func:`nbd_log_likelihood`
is the limit without dropout (``a -> 0``, or ``b -> infinity``): the NBD model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import digamma, expit, gammaln


class Triples:
    """Distinct (x, t_x, T) triples with counts, factorised so special functions run per distinct x."""

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray):
        (self.ix, self.it, self.iT), self.w, (self.ux, self.ut, self.uT) = distinct_rows(x, t_x, T)
        self.wx = np.bincount(self.ix, weights=self.w, minlength=len(self.ux))

    def subsample(self, size: int) -> "Triples":
        """Every k-th triple (in sorted order), reweighted to the same total: a cheap warm start."""
        step = max(1, len(self.w) // size)
        keep = np.arange(0, len(self.w), step)
        out = object.__new__(Triples)
        out.ix, out.it, out.iT = self.ix[keep], self.it[keep], self.iT[keep]
        out.w = self.w[keep] * (self.w.sum() / self.w[keep].sum())
        out.ux, out.ut, out.uT = self.ux, self.ut, self.uT
        out.wx = np.bincount(out.ix, weights=out.w, minlength=len(out.ux))
        return out


def distinct_rows(*columns: np.ndarray):
    """Codes of the distinct rows of a few float columns (sorted), their counts, and each column's values."""
    per_column, uniques = zip(*(codes(c) for c in columns))
    key = np.zeros(len(columns[0]), dtype="int64")
    for c, u in zip(per_column, uniques):
        key = key * len(u) + c
    keys, counts = np.unique(key, return_counts=True)
    split = []
    for u in reversed(uniques):
        split.append(keys % len(u))
        keys = keys // len(u)
    return tuple(reversed(split)), counts.astype("float64"), uniques


def codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of float values (in sorted order of the distinct values) and those values."""
    found, uniques = pd.factorize(np.asarray(values, dtype="float64"), sort=True)
    return found.astype("int64"), np.asarray(uniques, dtype="float64")


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    """Sum of products without BLAS (whose thread start-up dominates on these vector sizes)."""
    return float(np.multiply(u, v).sum())


def log_likelihood(r, alpha, a, b, d: Triples, *, gradient: bool = False):
    """Weighted BG/NBD log-likelihood (and its gradient in r, alpha, a, b).

    The beta-function ratios are products over the integer x,
    B(a, b+x)/B(a, b) = prod_{j<x} (b+j)/(a+b+j), summed as logs: exact even
    when a and b are huge (where betaln differences cancel catastrophically).
    """
    ux, w = d.ux, d.w
    xi = ux.astype("int64")
    j = np.arange(int(xi.max()) if len(xi) else 0, dtype="float64")
    cum = lambda terms: np.concatenate([[0.0], np.cumsum(terms)])  # noqa: E731
    l2 = cum(-np.log1p(a / (b + j)))  # l2[x] = log B(a, b+x) / B(a, b)
    prev = np.maximum(xi - 1, 0)
    repeat_u = xi > 0
    b2 = l2[xi]
    b3 = np.where(repeat_u, np.log(a) - np.log(a + b + ux - 1.0) + l2[prev], -np.inf)
    a1 = gammaln(r + ux) - gammaln(r) + r * np.log(alpha)
    log_aT, log_at = np.log(alpha + d.uT), np.log(alpha + d.ut)
    rx = (r + ux)[d.ix]
    lT, lt = log_aT[d.iT], log_at[d.it]
    a2 = b2[d.ix] - rx * lT
    a3 = b3[d.ix] - rx * lt
    s2 = expit(a2 - a3)  # share of the "still alive at T" branch (1 for x = 0)
    ll = float(_dot(d.wx, a1) + _dot(w, np.logaddexp(a2, a3)))  # exact at the limits, where a2 or a3 is -inf
    if not gradient:
        return ll
    s3 = 1.0 - s2
    n_ux = len(ux)
    S2 = np.bincount(d.ix, weights=w * s2, minlength=n_ux)
    S3 = np.bincount(d.ix, weights=w * s3, minlength=n_ux)
    ca = cum(-1.0 / (a + b + j))  # d l2[x] / da
    cb = cum(a / ((b + j) * (a + b + j)))  # d l2[x] / db
    last = 1.0 / (a + b + ux - 1.0)
    d3a = np.where(repeat_u, 1.0 / a - last + ca[prev], 0.0)
    d3b = np.where(repeat_u, -last + cb[prev], 0.0)
    g_r = _dot(d.wx, digamma(r + ux) - digamma(r) + np.log(alpha)) - _dot(w, s2 * lT + s3 * lt)
    g_alpha = d.wx.sum() * r / alpha - _dot(w, rx * (s2 / (alpha + d.uT[d.iT]) + s3 / (alpha + d.ut[d.it])))
    g_a = _dot(S2, ca[xi]) + _dot(S3, d3a)
    g_b = _dot(S2, cb[xi]) + _dot(S3, d3b)
    return ll, np.array([g_r, g_alpha, g_a, g_b])


def nbd_log_likelihood(r, alpha, d: Triples, *, gradient: bool = False):
    """Weighted log-likelihood of the BG/NBD limit without dropout (the NBD), and its gradient in r, alpha.

    Equal to :func:`log_likelihood` at ``a = 0`` for any ``b``: every customer is still alive at T.
    """
    ux, w = d.ux, d.w
    a1 = gammaln(r + ux) - gammaln(r) + r * np.log(alpha)
    log_aT = np.log(alpha + d.uT)
    rx = (r + ux)[d.ix]
    ll = float(_dot(d.wx, a1) - _dot(w, rx * log_aT[d.iT]))
    if not gradient:
        return ll
    g_r = _dot(d.wx, digamma(r + ux) - digamma(r) + np.log(alpha)) - _dot(w, log_aT[d.iT])
    g_alpha = d.wx.sum() * r / alpha - _dot(w, rx / (alpha + d.uT[d.iT]))
    return ll, np.array([g_r, g_alpha])
