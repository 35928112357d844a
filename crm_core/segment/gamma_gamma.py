"""The Gamma-Gamma model of spend per purchase (Fader, Hardie and Lee, 2005).

A customer's purchases are gamma-distributed (shape ``p``) around their own
mean, and the customers' spend rates ``nu`` vary as Gamma(``q``, rate ``gamma``).
Fitted by maximum likelihood on repeat customers' mean spend per repeat
purchase day; customers without a repeat purchase or with a non-positive mean
are left out of the fit and get the population mean ``p * gamma / (q - 1)``.

The optimiser works on log p, log q and the log of ``p * gamma / q``, so that
both limits the data may ask for are a coordinate running to its bound, with
an exact likelihood at the limit that the fit compares against:

- ``constant_spend`` (p -> infinity): each customer spends about the same every
  time; the mean spend ``m`` is then inverse-gamma (shape q, scale s). Expected
  spend: the customer's own mean.
- ``same_spenders`` (q -> infinity): every customer has the same spend rate
  ``nu``; the mean of x spends is Gamma(p x, rate nu x). Expected spend: p / nu
  for everyone.

The parameter that ran to infinity is reported as None in ``params_``;
``mean_spend_`` is the population mean in every case. q <= 1 (no finite mean
spend) and a likelihood without a finite maximum raise :class:`ModelFitFailed`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from crm_core.errors import ModelNotFitted
from crm_core.segment import mle
from crm_core.segment.bgnbd import ModelFitFailed, PurchaseSummaryInvalid

EDGES = ("constant_spend", "same_spenders")
_BOUNDS = [(-15.0, 15.0)] * 3
_STARTS = ((0.0, 0.0, 0.0), (np.log(5.0), np.log(3.0), 0.0), (np.log(50.0), np.log(50.0), 0.0))
_EDGE = 1e5  # p or q beyond this: compared with the exact limit
# beyond _EDGE the interior likelihood equals the limit's up to rounding (either side of it, by scipy and
# numpy version): the limit is taken unless the interior point is better by more than this share of |ll|
_LIMIT_TIE = 1e-8


def _at_least(limit_ll: float, interior_ll: float) -> bool:
    """Whether the limit's log-likelihood is at least the interior one's, up to rounding (:data:`_LIMIT_TIE`)."""
    return limit_ll >= interior_ll - _LIMIT_TIE * max(1.0, abs(interior_ll))


class GammaGammaModel:
    """Gamma-Gamma fitted by maximum likelihood (scipy L-BFGS-B, analytic gradient, fixed restarts).

    Args:
        max_iter: iteration limit of the optimiser (per start).
        min_repeat_customers: fewer usable repeat customers raise ModelFitFailed.

    After ``fit``: ``params_`` (dict p, q, gamma; None for one that ran to infinity),
    ``mean_spend_`` (population mean spend per purchase), ``log_likelihood_``,
    ``n_customers_`` (customers used in the fit) and ``edges_`` (:data:`EDGES`).
    """

    def __init__(self, max_iter: int = 500, min_repeat_customers: int = 20):
        self.max_iter = max_iter
        self.min_repeat_customers = min_repeat_customers

    def fit(self, summary: pd.DataFrame) -> "GammaGammaModel":
        """Fit on ``frequency`` (repeat purchases) and ``monetary_value`` (their mean); returns self.

        Raises:
            PurchaseSummaryInvalid: a column is missing or holds missing values.
            ModelFitFailed: too few usable repeat customers, spend identical for everyone (no finite
                maximum), or q <= 1 (the population mean spend would be infinite).
        """
        x, m = _columns(summary)
        use = (x > 0) & (m > 0)
        if int(use.sum()) < self.min_repeat_customers:
            raise ModelFitFailed(
                f"only {int(use.sum())} customers have repeat purchases with a positive mean spend; "
                f"Gamma-Gamma needs at least {self.min_repeat_customers}"
            )
        x, m = x[use], m[use]
        if np.ptp(m) == 0:
            raise ModelFitFailed(f"every repeat customer spends exactly {m[0]:g} per purchase: there is "
                                 "nothing to fit, and no finite maximum")
        data = _Spends(x, m)
        best = mle.minimise(data.objective, _STARTS, _BOUNDS, max_iter=self.max_iter, ftol=1e-14, gtol=1e-9,
                            gradient_tolerance=1e-5)
        if not best.converged or best.at_lower[0] or best.at_lower[2] or best.at_upper[2]:
            raise ModelFitFailed(f"no maximum of the likelihood was found after {best.starts_tried} starts; "
                                 "check for outlier amounts")
        p, q, g = data.natural(best.theta)
        ll, edges = -best.value * data.n, ()
        params = {"p": p, "q": q, "gamma": g}
        mean = p * g / (q - 1.0) if q > 1 else np.inf
        if p > _EDGE:
            limit = data.fit_constant_spend(self.max_iter)
            if limit is not None and _at_least(limit[2], ll):
                q, s, ll = limit
                params, edges, mean = {"p": None, "q": q, "gamma": None}, ("constant_spend",), s / (q - 1.0)
        elif q > _EDGE:
            limit = data.fit_same_spenders(self.max_iter)
            if limit is not None and _at_least(limit[2], ll):
                p, nu, ll = limit
                params, edges, mean = {"p": p, "q": None, "gamma": None}, ("same_spenders",), p / nu
        if params["q"] is not None and params["q"] <= 1.0:
            raise ModelFitFailed(
                f"Gamma-Gamma fitted q = {params['q']:.3g} <= 1: spend is too heavy-tailed for a finite mean; "
                "check for outlier amounts"
            )
        self.params_ = {k: (None if v is None else float(v)) for k, v in params.items()}
        self.mean_spend_ = float(mean)
        self.log_likelihood_ = float(ll)
        self.n_customers_ = int(len(x))
        self.edges_ = edges
        return self

    def expected_spend(self, summary: pd.DataFrame) -> np.ndarray:
        """Expected spend per purchase: conditional mean for usable repeat customers, else the population mean."""
        if not hasattr(self, "params_"):
            raise ModelNotFitted("GammaGammaModel: call fit(summary) before predicting")
        p, q, g = self.params_["p"], self.params_["q"], self.params_["gamma"]
        x, m = _columns(summary)
        use = (x > 0) & (m > 0)
        if "constant_spend" in self.edges_:
            return np.where(use, m, self.mean_spend_)
        if "same_spenders" in self.edges_:
            return np.full(len(x), self.mean_spend_)
        with np.errstate(invalid="ignore", divide="ignore"):
            conditional = p * (g + x * m) / (p * x + q - 1.0)
        return np.where(use, conditional, self.mean_spend_)


class _Spends:
    """Repeat customers' (x, m), with the Gamma-Gamma log-likelihood and its two limits."""

    def __init__(self, x: np.ndarray, m: np.ndarray):
        self.x, self.m, self.n = x, m, len(x)
        counts = pd.Series(x).value_counts(sort=False)
        self.xs, self.nx = counts.index.to_numpy(dtype="float64"), counts.to_numpy(dtype="float64")
        self.sum_x_log = float(np.sum(x * np.log(m)) + np.sum(x * np.log(x)))
        self.sum_log_m = float(np.sum(np.log(m)))
        self.xm = x * m
        self.scale = float(np.mean(m))  # p * gamma / q is optimised relative to the typical spend

    def natural(self, theta) -> tuple[float, float, float]:
        """(p, q, gamma) from (log p, log q, log(p gamma / (q scale)))."""
        p, q = np.exp(theta[0]), np.exp(theta[1])
        return float(p), float(q), float(np.exp(theta[2]) * self.scale * q / p)

    def objective(self, theta):
        """Mean negative log-likelihood and its gradient in theta."""
        p, q, g = self.natural(theta)
        n, x, xs, nx = self.n, self.x, self.xs, self.nx
        log_gxm = np.log(g + self.xm)
        ll = (np.sum(nx * (gammaln(p * xs + q) - gammaln(p * xs))) - n * gammaln(q) + n * q * np.log(g)
              + p * self.sum_x_log - self.sum_log_m - np.sum((p * x + q) * log_gxm))
        g_p = np.sum(nx * xs * (digamma(p * xs + q) - digamma(p * xs))) + self.sum_x_log - np.sum(x * log_gxm)
        g_q = np.sum(nx * digamma(p * xs + q)) - n * digamma(q) + n * np.log(g) - np.sum(log_gxm)
        g_g = n * q / g - np.sum((p * x + q) / (g + self.xm))
        grad = np.array([g_p * p - g_g * g, g_q * q + g_g * g, g_g * g])  # gamma = e^t2 scale q / p
        return -ll / n, -grad / n

    def fit_constant_spend(self, max_iter: int):
        """The p -> infinity limit: m ~ inverse-gamma(q, scale s). (q, s, log-likelihood) or None."""
        n, log_m, inv_m = self.n, np.log(self.m), 1.0 / self.m

        def objective(theta):
            q, s = np.exp(theta[0]), np.exp(theta[1]) * self.scale
            ll = n * q * np.log(s) - n * gammaln(q) - (q + 1.0) * log_m.sum() - s * inv_m.sum()
            grad = np.array([(n * np.log(s) - n * digamma(q) - log_m.sum()) * q, (n * q / s - inv_m.sum()) * s])
            return -ll / n, -grad / n

        best = mle.minimise(objective, ((0.0, 0.0), (np.log(3.0), np.log(2.0))), _BOUNDS[:2], max_iter=max_iter,
                            ftol=1e-14, gtol=1e-9, gradient_tolerance=1e-5)
        if not best.converged or (best.at_lower | best.at_upper).any():
            return None
        return float(np.exp(best.theta[0])), float(np.exp(best.theta[1]) * self.scale), float(-best.value * n)

    def fit_same_spenders(self, max_iter: int):
        """The q -> infinity limit: one spend rate nu for all. (p, nu, log-likelihood) or None."""
        n, x, xs, nx = self.n, self.x, self.xs, self.nx

        def objective(theta):
            p, nu = np.exp(theta[0]), np.exp(theta[1]) / self.scale
            ll = (p * self.sum_x_log + np.log(nu) * p * x.sum() - self.sum_log_m - nu * self.xm.sum()
                  - np.sum(nx * gammaln(p * xs)))
            g_p = self.sum_x_log + np.log(nu) * x.sum() - np.sum(nx * xs * digamma(p * xs))
            g_nu = p * x.sum() / nu - self.xm.sum()
            return -ll / n, -np.array([g_p * p, g_nu * nu]) / n

        best = mle.minimise(objective, ((0.0, 0.0), (np.log(5.0), np.log(5.0))), _BOUNDS[:2], max_iter=max_iter,
                            ftol=1e-14, gtol=1e-9, gradient_tolerance=1e-5)
        if not best.converged or (best.at_lower | best.at_upper).any():
            return None
        return float(np.exp(best.theta[0])), float(np.exp(best.theta[1]) / self.scale), float(-best.value * n)


def _columns(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    missing = [c for c in ("frequency", "monetary_value") if c not in summary.columns]
    if missing:
        raise PurchaseSummaryInvalid(f"purchase summary lacks {', '.join(missing)}; build it with purchase_day_summary")
    x = summary["frequency"].to_numpy(dtype="float64", na_value=np.nan)
    m = summary["monetary_value"].to_numpy(dtype="float64", na_value=np.nan)
    if not (np.isfinite(x).all() and np.isfinite(m).all()):
        raise PurchaseSummaryInvalid("frequency and monetary_value must not be missing; use 0 for no repeat purchase")
    return x, m
