"""Offline evaluation of the offer engine on a time split (issue 5's exact definitions).

- Training data: transactions dated on or before the cutoff. Truth: sales
  dated from the day after the cutoff to cutoff + H days, cancellations and
  anonymous rows excluded, product ids normalised (trimmed, upper case); with
  holdings (banks), the truth is the products opened in the window. Offers are
  evaluated as the engine ranks them, before any gate.
- Track *all*: customers with a sale (or holding) on or before the cutoff and
  a purchase in the window. Track *new*: the engine excludes every product the
  customer bought before; eligible customers bought in the window at least
  one product they never bought before, and only such products are truth.
- hit-rate@N: share of eligible customers with at least one offered product in
  their truth; precision@N: mean hits / N; recall@N: mean hits / truth size;
  coverage: distinct offered products / distinct products sold in the 90 days
  up to the cutoff.
- Baselines: *popularity*, the top-N products by distinct invoices in the 90
  days up to the cutoff, ties by product id (new track: the top N the
  customer never bought); *repeat* (all track), the customer's N products with
  most distinct invoices, ties by most recent purchase then product id,
  filled from popularity when fewer than N.

The engine is evaluated as a run would use it: calibrated on the history
before the cutoff (:mod:`crm_core.recommend.calibration`; ``[recommend]
calibrate = false`` evaluates the configured blend).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import numpy as np
import pandas as pd

from crm_core.errors import NextBestError
from crm_core.recommend.calibration import calibrate, calibration_budget
from crm_core.recommend.engine import prepare
from crm_core.recommend.history import day_number
from crm_core.recommend.settings import RecommendConfig

BASELINE_WINDOW_DAYS = 90


class EvaluationImpossible(NextBestError):
    """The data is too short or empty for an offline evaluation."""


def evaluate(tx: pd.DataFrame, *, cutoff: dt.date, horizon_days: int = 90, top_n: int = 3,
             products: pd.DataFrame | None = None, holdings: pd.DataFrame | None = None,
             customers: pd.DataFrame | None = None, features: pd.DataFrame | None = None,
             config: RecommendConfig | None = None) -> dict:
    """Hit-rate, precision, recall and coverage at N of the engine and the baselines.

    Args:
        tx: canonical transactions covering the cutoff and the window after it.
        cutoff: last day of the training data.
        horizon_days: length of the truth window H.
        top_n: offers per customer N (overrides ``config.top_n``).
        products, holdings: as for :func:`crm_core.recommend.engine.recommend`.
        customers: the customers frame (accepted for symmetry with the CLI; the
            evaluation needs only transactions and holdings).
        features: customer features with an optional ``cluster`` column.
        config: engine settings (defaults when None).
    Returns:
        ``{"all": {"engine", "popularity", "repeat"}, "new": {"engine", "popularity"}}``,
        each ``{"customers", "hit_rate", "precision", "recall", "coverage"}``.
    """
    return evaluate_calibrated(tx, cutoff=cutoff, horizon_days=horizon_days, top_n=top_n, products=products,
                               holdings=holdings, features=features, config=config)[0]


def evaluate_calibrated(tx: pd.DataFrame, *, cutoff: dt.date, horizon_days: int = 90, top_n: int = 3,
                        products: pd.DataFrame | None = None, holdings: pd.DataFrame | None = None,
                        features: pd.DataFrame | None = None, config: RecommendConfig | None = None,
                        sales: pd.DataFrame | None = None) -> tuple[dict, dict]:
    """:func:`evaluate`, and the calibration report of the engine at the cutoff.

    ``sales`` is ``sales_frame(tx)`` when already computed (several cutoffs of one file).
    Returns ``(evaluation, calibration report)``.
    """
    config = dataclasses.replace(config or RecommendConfig(), top_n=int(top_n))
    cut = day_number(cutoff)
    t = sales_frame(tx) if sales is None else sales
    train = t[t["day"] <= cut]
    window = t[(t["day"] > cut) & (t["day"] <= cut + horizon_days) & t["customer_id"].notna()
               & t["product_id"].notna()]
    truth = window[["customer_id", "product_id"]]
    before = train.loc[train["customer_id"].notna() & train["product_id"].notna(), ["customer_id", "product_id"]]
    known_customers = set(train["customer_id"].dropna().unique())
    if holdings is not None and len(holdings):
        # Banks: a hit is a product opened in the window (transactions on held products are not purchases).
        h = _holdings_frame(holdings)
        truth = h.loc[(h["day"] > cut) & (h["day"] <= cut + horizon_days), ["customer_id", "product_id"]]
        held = h.loc[h["day"] <= cut, ["customer_id", "product_id"]]
        before = pd.concat([before, held])
        known_customers |= set(held["customer_id"].unique())
    truth = truth.drop_duplicates()
    truth = truth[truth["customer_id"].isin(known_customers)]
    before = before.drop_duplicates()
    truth_new = _anti_join(truth, before)

    recent = train[(train["day"] > cut - BASELINE_WINDOW_DAYS) & train["product_id"].notna()]
    ranking = (recent.groupby("product_id")["invoice_id"].nunique().rename("n").reset_index()
               .sort_values(["n", "product_id"], ascending=[False, True], kind="mergesort")["product_id"].to_numpy())
    sold = max(len(ranking), 1)
    started = time.perf_counter()
    engine = prepare(tx.loc[_days(tx["invoice_date"]) <= cut], features, products,
                     None if holdings is None else holdings[_days(holdings["opened_at"]) <= cut]
                     if "opened_at" in holdings.columns else holdings, as_of=cutoff, config=config)
    calibration = calibrate(engine, budget_seconds=calibration_budget(time.perf_counter() - started, config))
    engine = calibration.engine
    offers_all = engine.offers()[["customer_id", "product_id"]]
    offers_new = engine.offers(exclude_bought=True)[["customer_id", "product_id"]]
    elig_all = pd.Index(truth["customer_id"].unique())
    elig_new = pd.Index(truth_new["customer_id"].unique())
    popular_all = _cross(elig_all, ranking[:top_n])
    popular_new = _popular_unbought(elig_new, ranking, before, top_n)
    repeat = _repeat(train, elig_all, ranking, top_n)
    return {
        "all": {"engine": _metrics(offers_all, truth, elig_all, top_n, sold),
                "popularity": _metrics(popular_all, truth, elig_all, top_n, sold),
                "repeat": _metrics(repeat, truth, elig_all, top_n, sold)},
        "new": {"engine": _metrics(offers_new, truth_new, elig_new, top_n, sold),
                "popularity": _metrics(popular_new, truth_new, elig_new, top_n, sold)},
    }, calibration.report


def default_cutoff(tx: pd.DataFrame, horizon_days: int = 90) -> dt.date:
    """The cutoff that leaves the last ``horizon_days`` of the data as the truth window.

    Raises:
        EvaluationImpossible: the data spans less than twice the horizon.
    """
    days = _days(tx["invoice_date"])
    days = days[days > -10**6]
    if len(days) == 0 or days.max() - days.min() < 2 * horizon_days:
        raise EvaluationImpossible(
            f"The offline evaluation needs at least {2 * horizon_days} days of transactions (a training period and "
            f"a {horizon_days}-day truth window); load a longer history or shorten --horizon-days.")
    return (np.datetime64(int(days.max() - horizon_days), "D")).astype(dt.date)


def _metrics(offers: pd.DataFrame, truth: pd.DataFrame, eligible: pd.Index, n: int, sold: int) -> dict:
    """The four figures over the eligible customers."""
    if len(eligible) == 0:
        return {"customers": 0, "hit_rate": 0.0, "precision": 0.0, "recall": 0.0, "coverage": 0.0}
    offers = offers[offers["customer_id"].isin(eligible)].drop_duplicates()
    hits = offers.merge(truth, on=["customer_id", "product_id"]).groupby("customer_id").size()
    hits = hits.reindex(eligible).fillna(0).to_numpy(dtype=float)
    size = truth.groupby("customer_id").size().reindex(eligible).to_numpy(dtype=float)
    return {"customers": int(len(eligible)),
            "hit_rate": round(float((hits > 0).mean()), 6),
            "precision": round(float((hits / n).mean()), 6),
            "recall": round(float((hits / size).mean()), 6),
            "coverage": round(offers["product_id"].nunique() / sold, 6)}


def sales_frame(tx: pd.DataFrame) -> pd.DataFrame:
    """Sales rows with normalised product ids, day numbers and invoice keys (the evaluation's view of ``tx``)."""
    sale = ~tx["is_return"].to_numpy(dtype=bool) if "is_return" in tx.columns else np.ones(len(tx), bool)
    t = tx.loc[sale]
    day = _days(t["invoice_date"])
    inv = t["invoice_id"].astype("string") if "invoice_id" in t.columns else pd.Series(pd.NA, index=t.index,
                                                                                          dtype="string")
    return pd.DataFrame({"customer_id": t["customer_id"].astype("string").str.strip(),
                         "product_id": t["product_id"].astype("string").str.strip().str.upper(),
                         "invoice_id": inv.fillna("day:" + pd.Series(day, index=t.index).astype(str)),
                         "day": day}, index=t.index)


def _holdings_frame(holdings: pd.DataFrame) -> pd.DataFrame:
    """Holdings with normalised ids and the opening day (-inf when unknown: held from the start)."""
    opened = _days(holdings["opened_at"]) if "opened_at" in holdings.columns else np.full(len(holdings), -10**6)
    return pd.DataFrame({"customer_id": holdings["customer_id"].astype("string").str.strip(),
                         "product_id": holdings["product_id"].astype("string").str.strip().str.upper(),
                         "day": opened}).dropna(subset=["customer_id", "product_id"])


def _days(values: pd.Series) -> np.ndarray:
    """Day numbers; unknown dates count as long ago."""
    d = pd.to_datetime(values, errors="coerce").to_numpy(dtype="datetime64[ns]")
    return np.where(pd.isna(d), -10**6, d.astype("datetime64[D]").astype(np.int64))


def _anti_join(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``left`` whose (customer_id, product_id) is not in ``right``."""
    m = left.merge(right.assign(_in=True), on=["customer_id", "product_id"], how="left")
    return left[m["_in"].isna().to_numpy()]


def _cross(customers: pd.Index, products: np.ndarray) -> pd.DataFrame:
    """Every customer paired with every product of a list."""
    return pd.DataFrame({"customer_id": np.repeat(customers.to_numpy(), len(products)),
                         "product_id": np.tile(products, len(customers))})


def _popular_unbought(customers: pd.Index, ranking: np.ndarray, before: pd.DataFrame, n: int) -> pd.DataFrame:
    """Per customer, the N best-ranked products they never bought."""
    depth = n
    while True:
        depth = min(len(ranking), depth * 4)
        pairs = _cross(customers, ranking[:depth]).assign(order=np.tile(np.arange(depth), len(customers)))
        pairs = _anti_join(pairs, before)
        counts = pairs.groupby("customer_id").size().reindex(customers).fillna(0)
        if depth >= len(ranking) or (counts >= n).all():
            break
    pairs = pairs.sort_values(["customer_id", "order"], kind="mergesort")
    return pairs.groupby("customer_id", sort=False).head(n)[["customer_id", "product_id"]]


def _repeat(train: pd.DataFrame, customers: pd.Index, ranking: np.ndarray, n: int) -> pd.DataFrame:
    """The repeat baseline: most distinct invoices, then most recent, then product id; popularity fills."""
    own = train[train["customer_id"].isin(customers) & train["product_id"].notna()]
    g = own.groupby(["customer_id", "product_id"]).agg(k=("invoice_id", "nunique"), last=("day", "max")).reset_index()
    g = g.sort_values(["customer_id", "k", "last", "product_id"], ascending=[True, False, False, True],
                      kind="mergesort")
    top = g.groupby("customer_id", sort=False).head(n)[["customer_id", "product_id"]]
    fill = _cross(customers, ranking[:n]).assign(order=np.tile(np.arange(min(n, len(ranking))), len(customers)))
    fill = _anti_join(fill, top)
    combined = pd.concat([top.assign(order=-1), fill]).sort_values(["customer_id", "order"], kind="mergesort")
    return combined.groupby("customer_id", sort=False).head(n)[["customer_id", "product_id"]]
