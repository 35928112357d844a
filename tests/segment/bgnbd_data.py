"""Synthetic BG/NBD and Gamma-Gamma summaries made from known parameters (seeded, vectorised).

``simulate_bgnbd`` draws each customer's purchase rate from Gamma(r, rate alpha)
and dropout probability from Beta(a, b) (``a=0``: nobody drops out; ``b=0``:
everyone drops out at their first repeat purchase; ``r=None``: every customer
buys at the rate ``1/alpha``), then the purchase times in (0, T]. Time is
continuous, in the summary's unit. ``simulate_spend`` draws Gamma-Gamma
spends: each customer's spend rate nu ~ Gamma(q, rate gamma) (``q=None``: nu =
1/gamma for everyone), purchases Gamma(p, rate nu) (``p=None``: every purchase
costs exactly 1/nu).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def simulate_bgnbd(n: int, *, r: float | None, alpha: float, a: float, b: float, t_min: float = 20.0,
                   t_max: float = 52.0, seed: int = 1) -> pd.DataFrame:
    """A purchase summary (frequency, recency, T) of ``n`` customers drawn from BG/NBD."""
    rng = np.random.default_rng(seed)
    rate = np.full(n, 1.0 / alpha) if r is None else rng.gamma(r, 1.0 / alpha, n)
    if a == 0:
        dropout = np.zeros(n)
    elif b == 0:
        dropout = np.ones(n)
    else:
        dropout = rng.beta(a, b, n)
    T = np.round(rng.uniform(t_min, t_max, n), 4)
    x = np.zeros(n)
    last = np.zeros(n)
    now = np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():  # one round per purchase, over all customers still buying
        now = np.where(active, now + rng.exponential(1.0, n) / np.maximum(rate, 1e-300), now)
        bought = active & (now <= T)
        x[bought] += 1
        last[bought] = now[bought]
        active = bought & (rng.random(n) >= dropout)
    return pd.DataFrame({"frequency": x, "recency": np.round(last, 4), "T": T})


def simulate_spend(frequency: np.ndarray, *, p: float | None, q: float | None, gamma: float,
                   seed: int = 2) -> np.ndarray:
    """Mean spend per repeat purchase of each customer (0 without one) under Gamma-Gamma."""
    rng = np.random.default_rng(seed)
    x = np.asarray(frequency, dtype="float64")
    n = len(x)
    nu = np.full(n, 1.0 / gamma) if q is None else rng.gamma(q, 1.0 / gamma, n)  # rate of each customer's spend
    if p is None:  # no spread within a customer: every purchase costs 1 / nu
        mean_of_x = 1.0 / nu
    else:  # the mean of x Gamma(p, rate nu) spends is Gamma(p x, rate nu x)
        mean_of_x = rng.gamma(np.maximum(p * x, 1e-12), 1.0, n) / (nu * np.maximum(x, 1.0))
    return np.where(x > 0, np.round(mean_of_x, 2), 0.0)


def summaries() -> dict[str, pd.DataFrame]:
    """The synthetic summaries of tests/segment/reference_fits.py, made exactly as for the reference run."""
    out = {
        "middle": simulate_bgnbd(5000, r=0.5, alpha=4.0, a=0.8, b=2.5, seed=11),
        "no_dropout": simulate_bgnbd(5000, r=0.8, alpha=6.0, a=0, b=1, seed=12),
        "dropout_certain": simulate_bgnbd(8000, r=0.8, alpha=20.0, a=1, b=0, seed=13),
        "same_rate": simulate_bgnbd(5000, r=None, alpha=5.0, a=0.8, b=2.5, seed=14),
    }
    issue = simulate_bgnbd(4300, r=0.6, alpha=30.0, a=0.005, b=3, t_min=1, t_max=365, seed=1).round(0)
    issue["recency"] = np.minimum(issue["recency"], issue["T"])
    issue.loc[issue["frequency"] == 0, "recency"] = 0.0
    out["issue_like"] = issue
    for name, kw in {"gg_middle": dict(p=6.0, q=3.5, gamma=15.0), "gg_constant_spend": dict(p=None, q=3.5, gamma=15.0),
                     "gg_same_spenders": dict(p=6.0, q=None, gamma=5.0)}.items():
        frame = out["middle"].copy()
        frame["monetary_value"] = simulate_spend(frame["frequency"].to_numpy(), seed=21, **kw)
        out[name] = frame
    return out


def features_from_summary(summary: pd.DataFrame, as_of: str = "2024-06-30", spend: float = 20.0) -> pd.DataFrame:
    """Customer features (the columns the value stage reads) of a summary in days."""
    end = pd.Timestamp(as_of)
    T = np.round(summary["T"].to_numpy()).astype(int)
    rec = np.minimum(np.round(summary["recency"].to_numpy()).astype(int), T)
    x = summary["frequency"].to_numpy()
    first = end - pd.to_timedelta(T, unit="D")
    last = first + pd.to_timedelta(np.where(x > 0, rec, 0), unit="D")
    return pd.DataFrame({
        "first_purchase": first, "last_purchase": last, "recency_days": (end - last).days.astype("int64"),
        "frequency": (x + 1).astype("int64"), "monetary": (x + 1) * spend, "tenure_days": T.astype("int64"),
        "purchase_days": (x + 1).astype("int64"), "mean_repeat_day_spend": np.where(x > 0, spend, 0.0),
    }, index=pd.Index([f"C{i:05d}" for i in range(len(x))], name="customer_id"))
