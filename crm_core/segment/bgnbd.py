"""The BG/NBD model of repeat purchases (Fader, Hardie and Lee, 2005).

Each customer buys at a Poisson rate (gamma-distributed over customers with
shape ``r`` and rate ``alpha``) and may drop out after any purchase with a
probability that is beta-distributed (``a``, ``b``). The model is fitted by
maximum likelihood on the summary ``frequency`` (repeat purchase days ``x``),
``recency`` (``t_x``, first to last purchase) and ``T`` (first purchase to the
end of the observation), all in one time unit.

How it always answers (when the likelihood has a finite maximum): the
optimiser works on log r, the log mean purchase rate r/alpha, the logit of
the mean dropout a/(a+b) and the log concentration a+b, so that each limit
the data may ask for is a coordinate running to a bound, not a ridge:

=====================  ==========================  ==============================================
edge                   coordinate at its bound     what it says
=====================  ==========================  ==============================================
``no_dropout``         mean dropout -> 0           customers never drop out (``a -> 0`` or
                                                   ``b -> infinity``): refitted exactly as the NBD
                                                   limit, reported with ``a = 0``
``dropout_certain``    mean dropout -> 1           a repeat purchase is (nearly) always the last
``same_dropout``       a + b -> infinity           every customer has the same dropout probability
``all_or_nothing``     a + b -> 0                  customers either never drop out or drop out at
                                                   their first repeat purchase
``same_rate``          r -> infinity               every customer buys at the same rate
=====================  ==========================  ==============================================

The fit is judged by ``res.success`` and the projected gradient (:mod:`.mle`),
never by scipy's message. The usual fit starts once; a fit that ends on an
edge or does not converge is restarted from a fixed list of starts and the
best is kept. A rate running to 0 or infinity has no finite maximum: then
``fit`` raises :class:`ModelFitFailed` in plain words.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betaincinv, expit, hyp2f1, logit

from crm_core.errors import ModelNotFitted, NextBestError
from crm_core.segment import mle
from crm_core.segment.bgnbd_likelihood import Triples, codes, distinct_rows, log_likelihood

SUMMARY_COLUMNS = ("frequency", "recency", "T")
EDGES = ("no_dropout", "dropout_certain", "same_dropout", "all_or_nothing", "same_rate")
_BOUNDS = [(-15.0, 15.0), (-15.0, 15.0), (-15.0, 15.0), (-15.0, 25.0)]
_STARTS = (  # log r, log(alpha / (r * scale)), logit mean dropout, log(a + b); the first is the usual start
    (0.0, 0.0, 0.0, np.log(2.0)),
    (np.log(0.5), 0.0, logit(0.1), np.log(5.0)),
    (0.0, 1.0, logit(0.02), 0.0),
    (np.log(2.0), -1.0, logit(0.5), np.log(20.0)),
    (-1.0, 1.0, logit(0.9), 3.0),
)
_NEAR_LIMIT = 1e-3  # a mean dropout this close to 0 or 1 is compared with the exact limit there
# beyond these the fit is read as its limit (the likelihood no longer tells the difference)
_SAME_DROPOUT, _ALL_OR_NOTHING, _SAME_RATE = 1e6, 1e-5, 1e4


class ModelFitFailed(NextBestError):
    """A value model could not be fitted to the data (too few repeat buyers, no finite maximum)."""


class PurchaseSummaryInvalid(NextBestError):
    """A purchase summary has missing, negative or inconsistent values."""


class BetaGeoModel:
    """BG/NBD fitted by maximum likelihood (scipy L-BFGS-B, analytic gradient, fixed restarts).

    Args:
        max_iter: iteration limit of the optimiser (per start).
        min_repeat_customers: fewer customers with a repeat purchase raise ModelFitFailed.

    After ``fit``: ``params_`` (dict r, alpha, a, b), ``log_likelihood_``,
    ``n_customers_``, ``edges_`` (the :data:`EDGES` the fit rests on; empty for an
    interior fit) and ``starts_tried_``.
    """

    def __init__(self, max_iter: int = 500, min_repeat_customers: int = 20):
        self.max_iter = max_iter
        self.min_repeat_customers = min_repeat_customers

    def fit(self, summary: pd.DataFrame) -> "BetaGeoModel":
        """Fit on a summary with columns frequency, recency, T; returns self.

        Raises:
            PurchaseSummaryInvalid: values missing, negative, or recency > T.
            ModelFitFailed: too few repeat customers, or no finite maximum of the likelihood.
        """
        x, t_x, T = _validated(summary)
        repeaters = int((x > 0).sum())
        if repeaters < self.min_repeat_customers:
            raise ModelFitFailed(
                f"only {repeaters} customers bought on more than one day; BG/NBD needs at least "
                f"{self.min_repeat_customers} (load a longer history or lower segment.value.min_repeat_customers)"
            )
        data = Triples(x, t_x, T)
        total = data.w.sum()
        scale = max(float(np.average(T)), 1e-9)  # alpha is optimised relative to the observation span
        best = self._search(data, total, scale)
        r, alpha, a, b = _natural(best.theta, scale)
        ll = -best.value * total
        if best.at_lower[0] or best.at_lower[1] or best.at_upper[1]:
            raise ModelFitFailed(
                "the purchase pattern has no best fit: the model's purchase rates run to "
                + ("zero" if best.at_upper[1] or best.at_lower[0] else "infinity")
                + " (check the as-of date and that repeat purchases are present)")
        if not best.converged:
            raise ModelFitFailed(
                f"the optimiser found no maximum after {best.starts_tried} starts; the purchase pattern does "
                "not fit the model (check the as-of date and that repeat purchases are present)")
        mu = a / (a + b)
        for limit_a, limit_b, near in ((0.0, 1.0, mu < _NEAR_LIMIT), (1.0, 0.0, mu > 1.0 - _NEAR_LIMIT)):
            limit = self._fit_at_limit(data, total, scale, best.theta[:2], limit_a, limit_b) if near else None
            if limit is not None and limit[2] >= ll:
                r, alpha, ll = limit
                a, b = (0.0, b) if limit_a == 0 else (a, 0.0)  # the other one no longer matters: kept as fitted
        self.params_ = {"r": float(r), "alpha": float(alpha), "a": float(a), "b": float(b)}
        self.log_likelihood_ = float(ll)
        self.n_customers_ = int(len(x))
        self.edges_ = _edges(r, a, b)
        self.starts_tried_ = best.starts_tried
        return self

    def _search(self, data: Triples, total: float, scale: float) -> mle.Optimum:
        """The best of the fixed starts (a systematic sample of the triples finds the start of big fits)."""
        def objective(theta, d):
            r, alpha, a, b = _natural(theta, scale)
            ll, (g_r, g_alpha, g_a, g_b) = log_likelihood(r, alpha, a, b, d, gradient=True)
            mu, kappa = a / (a + b), a + b
            grad = np.array([g_r * r + g_alpha * alpha, g_alpha * alpha, kappa * (g_a - g_b) * mu * (1 - mu),
                             (mu * g_a + (1 - mu) * g_b) * kappa])
            return -ll / total, -grad / total  # per customer: tolerances do not depend on n

        starts = _STARTS
        if len(data.w) > 40_000:  # warm start on a systematic sample of the triples
            sample = data.subsample(20_000)
            rough = mle.minimise(lambda t: objective(t, sample), starts, _BOUNDS, max_iter=self.max_iter, ftol=1e-9)
            starts = (tuple(rough.theta),)
        return mle.minimise(lambda t: objective(t, data), starts, _BOUNDS, max_iter=self.max_iter)

    def _fit_at_limit(self, data: Triples, total: float, scale: float, near: np.ndarray, a: float, b: float):
        """r, alpha and the log-likelihood at a dropout limit: (a, b) = (0, 1) none, (1, 0) certain; None if no fit.

        The likelihood is exact there (the beta ratios are products that reach 0 or 1), so the
        limit's value is the supremum the optimiser only approaches.
        """
        a, b = np.float64(a), np.float64(b)  # numpy division: 1/0 is inf, not an exception

        def objective(theta):
            r, alpha = np.exp(theta[0]), np.exp(theta[0] + theta[1]) * scale
            ll, g = log_likelihood(r, alpha, a, b, data, gradient=True)
            return -ll / total, -np.array([g[0] * r + g[1] * alpha, g[1] * alpha]) / total

        best = mle.minimise(objective, (tuple(near), (0.0, 0.0)), _BOUNDS[:2], max_iter=self.max_iter)
        if not best.converged or best.at_lower.any() or best.at_upper[1]:
            return None
        return float(np.exp(best.theta[0])), float(np.exp(best.theta.sum()) * scale), float(-best.value * total)

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> np.ndarray:
        """Expected number of purchases in the next ``t`` time units, per customer.

        Uses the closed form with 2F1 (after Euler's transformation, which keeps
        it finite for large x); where 2F1 still fails (extreme a, b) the same
        expectation is integrated numerically over the dropout probability.
        """
        r, alpha, a, b = self._params()
        x, t_x, T = _validated(summary)
        (ix, iT), _, (ux, uT) = distinct_rows(x, T)
        if_alive = _expected_if_alive(r, alpha, a, b, ux[ix], uT[iT], t)
        key = codes(x)[0] * len(uT) + codes(T)[0]
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
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            odds = a / (b + x) * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
            return np.where(a == 0, 1.0, 1.0 / (1.0 + odds))

    def p_no_purchase_if_alive(self, summary: pd.DataFrame, t: float) -> np.ndarray:
        """P(no purchase in the next ``t`` units | alive): ((alpha+T)/(alpha+T+t))^(r+x).

        The rate's posterior given x repeat purchases by T is Gamma(r + x, alpha + T).
        """
        r, alpha, _, _ = self._params()
        x, _, T = _validated(summary)
        return ((alpha + T) / (alpha + T + t)) ** (r + x)

    def _p_alive_raw(self, x, t_x, T) -> np.ndarray:
        r, alpha, a, b = self._params()
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            odds = a / (b + x - 1.0) * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
            return np.where((x > 0) & (a > 0), 1.0 / (1.0 + odds), 1.0)

    def _params(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "params_"):
            raise ModelNotFitted("BetaGeoModel: call fit(summary) before predicting")
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]


def _edges(r: float, a: float, b: float) -> tuple[str, ...]:
    """The :data:`EDGES` fitted parameters rest on (empty for an interior fit)."""
    found = []
    if a == 0:
        found.append("no_dropout")
    elif b == 0:
        found.append("dropout_certain")
    elif a + b >= _SAME_DROPOUT:
        found.append("same_dropout")
    elif a + b <= _ALL_OR_NOTHING:
        found.append("all_or_nothing")
    if r >= _SAME_RATE:
        found.append("same_rate")
    return tuple(found)


def _expected_if_alive(r, alpha, a, b, x, T, t) -> np.ndarray:
    """E[purchases in (T, T+t] | alive at T, x repeat purchases] (FHL 2005 eq. 10 without P(alive))."""
    if a == 0:  # no dropout: the NBD's (r + x) t / (alpha + T)
        return (r + x) * t / (alpha + T)
    if b == 0:  # dropout certain at the next purchase: at most one more, P(one within t)
        return 1.0 - ((alpha + T) / (alpha + T + t)) ** (r + x)
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


def _natural(theta: np.ndarray, scale: float) -> tuple[float, float, float, float]:
    """(r, alpha, a, b) from (log r, log alpha/(r scale), logit a/(a+b), log(a+b))."""
    r = np.exp(theta[0])
    alpha = np.exp(theta[0] + theta[1]) * scale
    mu, kappa = expit(theta[2]), np.exp(theta[3])
    return float(r), float(alpha), float(mu * kappa), float((1.0 - mu) * kappa)
