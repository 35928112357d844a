"""Maximum likelihood with honest status: multi-start L-BFGS-B, read by ``success`` and the gradient.

scipy's L-BFGS-B ends a *successful* fit with the message
``CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH`` (older versions:
``CONVERGENCE: REL_REDUCTION_OF_F_<=_FACTR*EPSMCH``) as often as with the
projected-gradient one. A fit is judged here by ``res.success`` and, when that
is False (an abnormal line search, the iteration limit), by the projected
gradient: a coordinate resting on its bound may keep a gradient pointing out of
the box, since the best value lies beyond it. The text is only ever quoted.

A coordinate on its bound is an *edge*: the likelihood keeps rising towards a
limit (no dropout, everyone alike...). Whether that limit is a legitimate
answer is the model's call (:mod:`.bgnbd`, :mod:`.gamma_gamma`).

Starts are a fixed list, so the same data always gives the same fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

BOUND_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Optimum:
    """The best point of a multi-start fit.

    Attributes:
        theta: the optimiser's coordinates at the best point.
        value: the objective there (a mean negative log-likelihood).
        converged: ``res.success``, or a projected gradient below the tolerance.
        at_lower, at_upper: which coordinates rest on their lower / upper bound.
        message: scipy's own words (for logs; never parsed).
        starts_tried: how many starts were run.
    """

    theta: np.ndarray
    value: float
    converged: bool
    at_lower: np.ndarray
    at_upper: np.ndarray
    message: str
    starts_tried: int

    @property
    def interior(self) -> bool:
        """True when no coordinate rests on a bound."""
        return not (self.at_lower.any() or self.at_upper.any())


def projected_gradient(theta: np.ndarray, gradient: np.ndarray, bounds) -> np.ndarray:
    """The gradient with the components that only push out of the box set to 0 (minimisation)."""
    lo, hi = np.array(bounds, dtype="float64").T
    g = np.asarray(gradient, dtype="float64").copy()
    g[(theta <= lo + BOUND_TOLERANCE) & (g > 0)] = 0.0
    g[(theta >= hi - BOUND_TOLERANCE) & (g < 0)] = 0.0
    return g


def converged(res: optimize.OptimizeResult, bounds, gradient_tolerance: float) -> bool:
    """Whether an L-BFGS-B result is a maximum of the likelihood: ``res.success`` or a small projected gradient.

    Never reads ``res.message``: ``CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH`` is a success.
    """
    if not np.isfinite(res.fun):
        return False
    if res.success:
        return True
    if res.jac is None:
        return False
    pg = projected_gradient(np.asarray(res.x), np.asarray(res.jac), bounds)
    return bool(np.all(np.isfinite(pg)) and np.max(np.abs(pg)) <= gradient_tolerance)


def minimise(objective, starts, bounds, *, max_iter: int, ftol: float = 1e-12, gtol: float = 1e-8,
             gradient_tolerance: float = 1e-4, stop_when_interior: bool = True) -> Optimum:
    """Minimise ``objective(theta) -> (value, gradient)`` from each start in turn; keep the best.

    Args:
        objective: mean negative log-likelihood and its gradient in theta.
        starts: a fixed sequence of starting points (the first is the usual one).
        bounds: (low, high) per coordinate.
        max_iter: iteration limit per start.
        gradient_tolerance: the largest projected gradient accepted when scipy reports no success.
        stop_when_interior: stop after the first start that converges inside the box (the usual
            case: one fit, as fast as before); otherwise every start is run.
    Returns:
        The :class:`Optimum` with the lowest finite value (the first start wins ties).
    """
    best, best_ok, tried = None, False, 0
    for start in starts:
        with np.errstate(all="ignore"):
            res = optimize.minimize(objective, np.asarray(start, dtype="float64"), jac=True, method="L-BFGS-B",
                                    bounds=bounds, options={"maxiter": max_iter, "gtol": gtol, "ftol": ftol})
        tried += 1
        ok = converged(res, bounds, gradient_tolerance)
        better = np.isfinite(res.fun) and (best is None or (ok, -res.fun) > (best_ok, -best.fun))
        if better:
            best, best_ok = res, ok
        if stop_when_interior and ok and best is res and _interior(res.x, bounds):
            break
    if best is None:
        best = res
    lo, hi = np.array(bounds, dtype="float64").T
    x = np.asarray(best.x, dtype="float64")
    return Optimum(theta=x, value=float(best.fun), converged=best_ok, at_lower=x <= lo + BOUND_TOLERANCE,
                   at_upper=x >= hi - BOUND_TOLERANCE, message=str(best.message), starts_tried=tried)


def _interior(x, bounds) -> bool:
    lo, hi = np.array(bounds, dtype="float64").T
    return bool(np.all((x > lo + BOUND_TOLERANCE) & (x < hi - BOUND_TOLERANCE)))
