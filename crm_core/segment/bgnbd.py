"""The BG/NBD model of repeat purchases (Fader, Hardie and Lee, 2005).

Each customer buys at a Poisson rate (gamma-distributed over customers with
shape ``r`` and rate ``alpha``) and may drop out after any purchase with a
probability that is beta-distributed (``a``, ``b``). The model is fitted by
maximum likelihood on the summary ``frequency`` (repeat purchase days ``x``),
``recency`` (``t_x``, first to last purchase) and ``T`` (first purchase to the
end of the observation), all in one time unit.

Fitting at scale: the likelihood runs on the distinct (x, t_x, T) triples
weighted by their counts, special functions once per distinct x, and beta
ratios as exact products over the integer x. The optimiser works on log r,
log alpha, the mean dropout a/(a+b) (logit) and the concentration a+b (log),
so that homogeneous dropout (a, b -> infinity together) is a clean limit
rather than a ridge; big fits start from a fit on a systematic sample of the
triples.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import betaincinv, digamma, expit, gammaln, hyp2f1

from crm_core.errors import ModelNotFitted, NextBestError

SUMMARY_COLUMNS = ("frequency", "recency", "T")


class ModelFitFailed(NextBestError):
    """A value model could not be fitted to the data (too few repeat buyers, no convergence)."""


class PurchaseSummaryInvalid(NextBestError):
    """A purchase summary has missing, negative or inconsistent values."""


class BetaGeoModel:
    """BG/NBD fitted by maximum likelihood (scipy L-BFGS-B, analytic gradient).

    Args:
        max_iter: iteration limit of the optimiser.
        min_repeat_customers: fewer customers with a repeat purchase raise ModelFitFailed.

    After ``fit``: ``params_`` (dict r, alpha, a, b), ``log_likelihood_``,
    ``n_customers_``.
    """

    def __init__(self, max_iter: int = 500, min_repeat_customers: int = 20):
        self.max_iter = max_iter
        self.min_repeat_customers = min_repeat_customers

    def fit(self, summary: pd.DataFrame) -> "BetaGeoModel":
        """Fit on a summary with columns frequency, recency, T; returns self.

        Raises:
            PurchaseSummaryInvalid: values missing, negative, or recency > T.
            ModelFitFailed: too few repeat customers, or no convergence.
        """
        x, t_x, T = _validated(summary)
        repeaters = int((x > 0).sum())
        if repeaters < self.min_repeat_customers:
            raise ModelFitFailed(
                f"only {repeaters} customers bought on more than one day; BG/NBD needs at least "
                f"{self.min_repeat_customers} (load a longer history or lower segment.value.min_repeat_customers)"
            )
        data = _Triples(x, t_x, T)
        total = data.w.sum()
        scale = max(float(np.average(T)), 1e-9)  # alpha is optimised relative to the observation span

        def objective(theta, d):
            r, alpha, a, b = _natural(theta, scale)
            ll, (g_r, g_alpha, g_a, g_b) = _log_likelihood(r, alpha, a, b, d, gradient=True)
            mu, kappa = a / (a + b), a + b
            grad = np.array([g_r * r, g_alpha * alpha, kappa * (g_a - g_b) * mu * (1 - mu),
                             (mu * g_a + (1 - mu) * g_b) * kappa])
            return -ll / total, -grad / total

        start = np.array([0.0, 0.0, 0.0, np.log(2.0)])  # r = 1, alpha = mean T, a = b = 1
        with np.errstate(all="ignore"):
            if len(data.w) > 40_000:  # warm start on a systematic sample of the triples
                start = self._minimize(objective, start, data.subsample(20_000), ftol=1e-9).x
            res = self._minimize(objective, start, data, ftol=1e-12)
        r, alpha, a, b = _natural(res.x, scale)
        grad_norm = float(np.max(np.abs(res.jac))) if res.jac is not None else np.inf
        # an unbounded concentration a + b is a legitimate limit (everyone has the same dropout
        # probability); r, alpha or the mean dropout at a bound means there is no sensible fit
        at_bound = bool(np.any(np.abs(res.x[:3]) >= _BOUND - 1e-6))
        if not np.isfinite(res.fun) or at_bound or (not res.success and grad_norm > 1e-4):
            raise ModelFitFailed(
                f"BG/NBD did not converge ({res.message}); the purchase pattern does not fit the model "
                "(check the as-of date and that repeat purchases are present)"
            )
        self.params_ = {"r": float(r), "alpha": float(alpha), "a": float(a), "b": float(b)}
        self.log_likelihood_ = float(-res.fun * total)
        self.n_customers_ = int(len(x))
        return self

    def _minimize(self, objective, start, data, ftol):
        # the objective is the mean log-likelihood per customer, so tolerances do not depend on n
        return optimize.minimize(
            objective, start, args=(data,), jac=True, method="L-BFGS-B",
            bounds=[(-_BOUND, _BOUND)] * 3 + [(-_BOUND, 25.0)],
            options={"maxiter": self.max_iter, "gtol": 1e-8, "ftol": ftol},
        )

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> np.ndarray:
        """Expected number of purchases in the next ``t`` time units, per customer.

        Uses the closed form with 2F1 (after Euler's transformation, which keeps
        it finite for large x); where 2F1 still fails (extreme a, b) the same
        expectation is integrated numerically over the dropout probability.
        """
        r, alpha, a, b = self._params()
        x, t_x, T = _validated(summary)
        (ix, iT), _, (ux, uT) = _distinct_rows(x, T)
        if_alive = _expected_if_alive(r, alpha, a, b, ux[ix], uT[iT], t)
        key = _codes(x)[0] * len(uT) + _codes(T)[0]
        return if_alive[np.searchsorted(ix * len(uT) + iT, key)] * self._p_alive_raw(x, t_x, T)

    def p_alive(self, summary: pd.DataFrame) -> np.ndarray:
        """BG/NBD probability of being alive at T (1 for customers without a repeat purchase)."""
        self._params()
        return self._p_alive_raw(*_validated(summary))

    def p_alive_one_off(self, summary: pd.DataFrame) -> np.ndarray:
        """Modified BG/NBD P(alive): dropout allowed right after the first purchase.

        ``1 / (1 + a/(b + x) * ((alpha + T)/(alpha + t_x))^(r + x))`` with the fitted
        BG/NBD parameters; used for customers without a repeat purchase, for
        whom BG/NBD itself always says 1.
        """
        r, alpha, a, b = self._params()
        x, t_x, T = _validated(summary)
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + a / (b + x) * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + t_x))))

    def p_no_purchase_if_alive(self, summary: pd.DataFrame, t: float) -> np.ndarray:
        """P(no purchase in the next ``t`` units | alive), for customers without a repeat purchase.

        Their rate's posterior is Gamma(r, alpha + T), so this is ((alpha+T)/(alpha+T+t))^r.
        """
        r, alpha, _, _ = self._params()
        _, _, T = _validated(summary)
        return ((alpha + T) / (alpha + T + t)) ** r

    def _p_alive_raw(self, x, t_x, T) -> np.ndarray:
        r, alpha, a, b = self._params()
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            odds = a / (b + x - 1.0) * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
            return np.where(x > 0, 1.0 / (1.0 + odds), 1.0)

    def _params(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "params_"):
            raise ModelNotFitted("BetaGeoModel: call fit(summary) before predicting")
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]


def _expected_if_alive(r, alpha, a, b, x, T, t) -> np.ndarray:
    """E[purchases in (T, T+t] | alive at T, x repeat purchases] (FHL 2005 eq. 10 without P(alive))."""
    z = t / (alpha + T + t)
    with np.errstate(all="ignore"):
        tail = (1.0 - z) ** (a - 1.0) * hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
        out = (a + b + x - 1.0) / (a - 1.0) * (1.0 - tail)
    bad = ~np.isfinite(out) | (out < 0)
    if bad.any():
        out[bad] = _expected_if_alive_by_quadrature(r, alpha, a, b, x[bad], T[bad], t)
    return out


def _expected_if_alive_by_quadrature(r, alpha, a, b, x, T, t, nodes: int = 64) -> np.ndarray:
    """The same expectation as E over p ~ Beta(a, b + x) of (1 - (1 + p t/(alpha+T))^-(r+x)) / p.

    Gauss-Legendre in the quantile space of the beta posterior: robust when a and b are huge.
    """
    u, weights = np.polynomial.legendre.leggauss(nodes)
    u, weights = (u + 1.0) / 2.0, weights / 2.0
    ux, ix = np.unique(x, return_inverse=True)
    p = betaincinv(a, b + ux[:, None], u[None, :])[ix]  # (n, nodes)
    c = (t / (alpha + T))[:, None]
    k = (r + x)[:, None]
    with np.errstate(all="ignore"):
        f = np.where(p > 0, -np.expm1(-k * np.log1p(p * c)) / p, k * c)
    return f @ weights


def _validated(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.columns]
    if missing:
        raise PurchaseSummaryInvalid(f"purchase summary lacks {', '.join(missing)}; build it with purchase_day_summary")
    x, t_x, T = (summary[c].to_numpy(dtype="float64", na_value=np.nan) for c in SUMMARY_COLUMNS)
    bad = ~(np.isfinite(x) & np.isfinite(t_x) & np.isfinite(T)) | (x < 0) | (t_x < 0) | (t_x > T + 1e-9)
    bad |= ((x == 0) & (t_x > 0)) | (np.isfinite(x) & (x != np.round(x)))
    if bad.any():
        where = summary.index[np.flatnonzero(bad)[:3]].tolist()
        raise PurchaseSummaryInvalid(
            f"{int(bad.sum())} rows of the purchase summary are inconsistent (missing, negative, recency > T, "
            f"recency > 0 without a repeat purchase, or a fractional frequency), e.g. {where}"
        )
    return x, t_x, T


_BOUND = 15.0  # on the optimiser's log / logit scale


def _natural(theta: np.ndarray, scale: float) -> tuple[float, float, float, float]:
    """(r, alpha, a, b) from (log r, log alpha/scale, logit a/(a+b), log(a+b))."""
    r, alpha = np.exp(theta[0]), np.exp(theta[1]) * scale
    mu, kappa = expit(theta[2]), np.exp(theta[3])
    return float(r), float(alpha), float(mu * kappa), float((1.0 - mu) * kappa)


class _Triples:
    """Distinct (x, t_x, T) triples with counts, factorised so special functions run per distinct x."""

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray):
        (self.ix, self.it, self.iT), self.w, (self.ux, self.ut, self.uT) = _distinct_rows(x, t_x, T)
        self.wx = np.bincount(self.ix, weights=self.w, minlength=len(self.ux))

    def subsample(self, size: int) -> "_Triples":
        """Every k-th triple (in sorted order), reweighted to the same total: a cheap warm start."""
        step = max(1, len(self.w) // size)
        keep = np.arange(0, len(self.w), step)
        out = object.__new__(_Triples)
        out.ix, out.it, out.iT = self.ix[keep], self.it[keep], self.iT[keep]
        out.w = self.w[keep] * (self.w.sum() / self.w[keep].sum())
        out.ux, out.ut, out.uT = self.ux, self.ut, self.uT
        out.wx = np.bincount(out.ix, weights=out.w, minlength=len(out.ux))
        return out


def _distinct_rows(*columns: np.ndarray):
    """Codes of the distinct rows of a few float columns (sorted), their counts, and each column's values."""
    codes, uniques = zip(*(_codes(c) for c in columns))
    key = np.zeros(len(columns[0]), dtype="int64")
    for c, u in zip(codes, uniques):
        key = key * len(u) + c
    keys, counts = np.unique(key, return_counts=True)
    split = []
    for u in reversed(uniques):
        split.append(keys % len(u))
        keys = keys // len(u)
    return tuple(reversed(split)), counts.astype("float64"), uniques


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(np.asarray(values, dtype="float64"), sort=True)
    return codes.astype("int64"), np.asarray(uniques, dtype="float64")


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    """Sum of products without BLAS (whose thread start-up dominates on these vector sizes)."""
    return float(np.multiply(u, v).sum())


def _log_likelihood(r, alpha, a, b, d: _Triples, *, gradient: bool = False):
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
    ll = float(_dot(d.wx, a1) + _dot(w, a2) - _dot(w, np.log(s2)))  # log(e^a2 + e^a3) = a2 - log(s2)
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
