"""The Gamma-Gamma model of spend per purchase (Fader, Hardie and Lee, 2005).

A customer's purchases are gamma-distributed around their own mean, and the
means vary over customers (shape ``p``, ``q``, scale ``gamma``). Fitted by
maximum likelihood on repeat customers' mean spend per repeat purchase day;
customers without a repeat purchase or with a non-positive mean are left out
of the fit and get the population mean ``p * gamma / (q - 1)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import digamma, gammaln

from crm_core.errors import ModelNotFitted
from crm_core.segment.bgnbd import ModelFitFailed, PurchaseSummaryInvalid


class GammaGammaModel:
    """Gamma-Gamma fitted by maximum likelihood (scipy L-BFGS-B, analytic gradient).

    Args:
        max_iter: iteration limit of the optimiser.
        min_repeat_customers: fewer usable repeat customers raise ModelFitFailed.

    After ``fit``: ``params_`` (dict p, q, gamma), ``log_likelihood_``, ``n_customers_``
    (customers used in the fit).
    """

    def __init__(self, max_iter: int = 500, min_repeat_customers: int = 20):
        self.max_iter = max_iter
        self.min_repeat_customers = min_repeat_customers

    def fit(self, summary: pd.DataFrame) -> "GammaGammaModel":
        """Fit on ``frequency`` (repeat purchases) and ``monetary_value`` (their mean); returns self.

        Raises:
            PurchaseSummaryInvalid: a column is missing or holds missing values.
            ModelFitFailed: too few usable repeat customers, no convergence, or q <= 1
                (the population mean spend would be infinite).
        """
        x, m = _columns(summary)
        use = (x > 0) & (m > 0)
        if int(use.sum()) < self.min_repeat_customers:
            raise ModelFitFailed(
                f"only {int(use.sum())} customers have repeat purchases with a positive mean spend; "
                f"Gamma-Gamma needs at least {self.min_repeat_customers}"
            )
        x, m = x[use], m[use]
        counts = pd.Series(x).value_counts(sort=False)
        xs, nx = counts.index.to_numpy(dtype="float64"), counts.to_numpy(dtype="float64")
        sum_x_log = float(np.sum(x * np.log(m)) + np.sum(x * np.log(x)))
        jacobian = float(-np.sum(np.log(m)))
        xm = x * m
        scale = float(np.mean(m))  # gamma is optimised relative to the typical spend

        def objective(theta):
            p, q, g = np.exp(theta)
            g *= scale
            log_gxm = np.log(g + xm)
            ll = (
                np.sum(nx * (gammaln(p * xs + q) - gammaln(p * xs)))
                - len(x) * gammaln(q) + len(x) * q * np.log(g) + p * sum_x_log + jacobian
                - np.sum((p * x + q) * log_gxm)
            )
            d_pxq = np.sum(nx * xs * digamma(p * xs + q)) - np.sum(nx * xs * digamma(p * xs))
            g_p = d_pxq + sum_x_log - np.sum(x * log_gxm)
            g_q = np.sum(nx * digamma(p * xs + q)) - len(x) * digamma(q) + len(x) * np.log(g) - np.sum(log_gxm)
            g_g = len(x) * q / g - np.sum((p * x + q) / (g + xm))
            return -ll, -np.array([g_p * p, g_q * q, g_g * g])

        with np.errstate(all="ignore"):
            res = optimize.minimize(
                objective, np.zeros(3), jac=True, method="L-BFGS-B",
                bounds=[(-15.0, 15.0)] * 3, options={"maxiter": self.max_iter, "gtol": 1e-9, "ftol": 1e-14},
            )
        p, q, g = np.exp(res.x)
        g *= scale
        grad_norm = float(np.max(np.abs(res.jac))) if res.jac is not None else np.inf
        at_bound = bool(np.any(np.abs(res.x) >= 15.0 - 1e-6))
        if not np.isfinite(res.fun) or at_bound or (not res.success and grad_norm > 1e-3 * max(1.0, abs(res.fun))):
            raise ModelFitFailed(f"Gamma-Gamma did not converge ({res.message})")
        if q <= 1.0:
            raise ModelFitFailed(
                f"Gamma-Gamma fitted q = {q:.3g} <= 1: spend is too heavy-tailed for a finite mean; "
                "check for outlier amounts"
            )
        self.params_ = {"p": float(p), "q": float(q), "gamma": float(g)}
        self.log_likelihood_ = float(-res.fun)
        self.n_customers_ = int(len(x))
        return self

    def expected_spend(self, summary: pd.DataFrame) -> np.ndarray:
        """Expected spend per purchase: conditional mean for usable repeat customers, else the population mean."""
        if not hasattr(self, "params_"):
            raise ModelNotFitted("GammaGammaModel: call fit(summary) before predicting")
        p, q, g = self.params_["p"], self.params_["q"], self.params_["gamma"]
        x, m = _columns(summary)
        use = (x > 0) & (m > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            conditional = p * (g + x * m) / (p * x + q - 1.0)
        return np.where(use, conditional, p * g / (q - 1.0))


def _columns(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    missing = [c for c in ("frequency", "monetary_value") if c not in summary.columns]
    if missing:
        raise PurchaseSummaryInvalid(f"purchase summary lacks {', '.join(missing)}; build it with purchase_day_summary")
    x = summary["frequency"].to_numpy(dtype="float64", na_value=np.nan)
    m = summary["monetary_value"].to_numpy(dtype="float64", na_value=np.nan)
    if not (np.isfinite(x).all() and np.isfinite(m).all()):
        raise PurchaseSummaryInvalid("frequency and monetary_value must not be missing; use 0 for no repeat purchase")
    return x, m
