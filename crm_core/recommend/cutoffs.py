"""The offline evaluation at many cutoffs: each cutoff's figures, then their mean and spread.

One cut of one shop says little: the engine that reached 1.13 x the repeat
baseline at one cutoff may sit at 1.0 x two months earlier. So the evaluation
can run at several cutoffs (each exactly as :func:`crm_core.recommend.evaluate.evaluate`,
calibration included) and summarise every track, method and figure by its
mean, its standard deviation across cutoffs (``sd``, n - 1 in the
denominator; 0 for one cutoff) and its range (``min``, ``max``).
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from crm_core.errors import ConfigError
from crm_core.recommend.evaluate import EvaluationImpossible, evaluate_calibrated, sales_frame
from crm_core.recommend.settings import RecommendConfig

FIGURES = ("customers", "hit_rate", "precision", "recall", "coverage")
BASELINES = {"all": ("repeat", "popularity"), "new": ("popularity",)}
CALIBRATION_KEYS = ("status", "chosen", "label", "settings", "reason", "window", "customers", "baselines", "blends",
                    "complete", "tried")


def cutoff_schedule(first: dt.date, last: dt.date, *, every_days: int, horizon_days: int) -> list[dt.date]:
    """Cutoffs ``every_days`` apart, ending at the last one with a full truth window (``last - horizon_days``).

    Earlier cutoffs are added while at least ``horizon_days`` of history precede them.
    Returned oldest first.

    Raises:
        ConfigError: ``every_days`` below 1.
        EvaluationImpossible: the data is shorter than two horizons (not one cutoff fits).
    """
    if isinstance(every_days, bool) or not isinstance(every_days, int) or every_days < 1:
        raise ConfigError(f"The step between cutoffs must be a whole number of days of at least 1, not {every_days!r}.")
    latest = last - dt.timedelta(days=int(horizon_days))
    earliest = first + dt.timedelta(days=int(horizon_days))
    if latest < earliest:
        raise EvaluationImpossible(
            f"The data runs from {first:%d %b %Y} to {last:%d %b %Y}: a cutoff needs {horizon_days} days of history "
            f"before it and {horizon_days} days of truth after it. Load a longer history or shorten --horizon-days.")
    cutoffs, cut = [], latest
    while cut >= earliest:
        cutoffs.append(cut)
        cut -= dt.timedelta(days=int(every_days))
    return sorted(cutoffs)


def check_cutoffs(cutoffs, last: dt.date, horizon_days: int) -> list[dt.date]:
    """Distinct cutoffs, oldest first, each leaving a full truth window before ``last``.

    Raises:
        ConfigError: no cutoff, or one whose window runs past the data (its hit-rates would count a partial window).
    """
    chosen = sorted(set(cutoffs))
    if not chosen:
        raise ConfigError("Give at least one cutoff date (YYYY-MM-DD).")
    latest = last - dt.timedelta(days=int(horizon_days))
    late = [c for c in chosen if c > latest]
    if late:
        raise ConfigError(f"Cutoff {late[0]:%Y-%m-%d} leaves less than {horizon_days} days of data after it (the data "
                          f"ends {last:%Y-%m-%d}): the latest cutoff with a full window is {latest:%Y-%m-%d}.")
    return chosen


def evaluate_cutoffs(tx: pd.DataFrame, cutoffs, *, horizon_days: int = 90, top_n: int = 3,
                     products: pd.DataFrame | None = None, holdings: pd.DataFrame | None = None,
                     features: pd.DataFrame | None = None, config: RecommendConfig | None = None) -> dict:
    """The evaluation at every cutoff and its summary.

    Args:
        tx: canonical transactions.
        cutoffs: dates (distinct, any order; see :func:`check_cutoffs`).
        horizon_days, top_n, products, holdings, features, config: as for
            :func:`crm_core.recommend.evaluate.evaluate`.
    Returns:
        ``{"cutoffs": [ISO dates], "horizon_days", "top_n", "results": [per cutoff: {"cutoff",
        "all", "new"`` (as ``evaluate``), ``"ratios"`` (engine hit-rate / baseline hit-rate per
        track and baseline), ``"calibration"`` (the blend chosen before that cutoff: the calibration
        report without its timings)``}], "summary": {track: {method: {figure: {"mean", "sd", "min",
        "max"}}}}, "ratio_summary": {track: {baseline: {"mean", "sd", "min", "max"}}}}``.
    """
    sales = sales_frame(tx)
    results = []
    for cutoff in sorted(set(cutoffs)):
        evaluation, calibration = evaluate_calibrated(tx, cutoff=cutoff, horizon_days=horizon_days, top_n=top_n,
                                                      products=products, holdings=holdings, features=features,
                                                      config=config, sales=sales)
        results.append({"cutoff": cutoff.isoformat(), **evaluation, "ratios": ratios(evaluation),
                        "calibration": {k: calibration.get(k) for k in CALIBRATION_KEYS}})
    return {"cutoffs": [r["cutoff"] for r in results], "horizon_days": int(horizon_days), "top_n": int(top_n),
            "results": results, "summary": summarise(results), "ratio_summary": summarise_ratios(results)}


def ratios(evaluation: dict) -> dict:
    """Engine hit-rate over each baseline's, per track (None when the baseline hit nobody)."""
    out = {}
    for track, baselines in BASELINES.items():
        engine = evaluation[track]["engine"]["hit_rate"]
        out[track] = {b: (round(engine / evaluation[track][b]["hit_rate"], 6) if evaluation[track][b]["hit_rate"] > 0
                          else None) for b in baselines}
    return out


def summarise(results: list[dict]) -> dict:
    """Mean and spread of every figure per track and method over the cutoffs' results."""
    return {track: {method: {figure: spread([r[track][method][figure] for r in results]) for figure in FIGURES}
                    for method in results[0][track]}
            for track in ("all", "new")} if results else {}


def summarise_ratios(results: list[dict]) -> dict:
    """Mean and spread of the engine's ratio to each baseline over the cutoffs."""
    return {track: {b: spread([r["ratios"][track][b] for r in results]) for b in baselines}
            for track, baselines in BASELINES.items()} if results else {}


def spread(values) -> dict:
    """``{"mean", "sd", "min", "max"}`` of the known values (None ignored), rounded to 6 decimals."""
    known = [float(v) for v in values if v is not None]
    if not known:
        return {"mean": None, "sd": None, "min": None, "max": None}
    mean = math.fsum(known) / len(known)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in known) / (len(known) - 1)) if len(known) > 1 else 0.0
    return {"mean": round(mean, 6), "sd": round(sd, 6), "min": round(min(known), 6), "max": round(max(known), 6)}
