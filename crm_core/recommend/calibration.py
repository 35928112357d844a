"""Offers calibrated per shop: a quick backtest on the shop's own last window chooses the blend.

Why: the default weights and thresholds were set on one cut of one shop;
on another retailer's year they reached 1.05 x the repeat baseline instead
of the 1.13 x measured here. So before a run scores its offers, each blend
of a small fixed set (:data:`BLENDS`: the configured settings, then the
score weights and the scenario thresholds moved towards the purchase model,
towards bestsellers, towards rebuying and towards discovery) ranks a sample
of customers as of the start of the purchase model's learning window
(``as_of - L``, L = ``horizon_days``, shorter on short histories, see
:mod:`crm_core.recommend.learning`), and their offers are checked against what
those customers bought from then to the as-of date, with the definitions of
:mod:`crm_core.recommend.evaluate`: hit-rate at N on the all-products and the
new-products tracks, against the repeat and popularity baselines.

The choice: on each track, a blend's figure is its hit-rate over the track's
best baseline's (the ratio the model-health grade uses,
:mod:`crm_core.recommend.health`). Another blend replaces the configured one
only when it does clearly better on a track (by two standard errors of the
paired difference, customers hit by one blend and not the other, and at
least MIN_GAIN) without doing worse on the other (by more than one standard
error); among those, the largest mean gain wins. On a few hundred customers
a backtest moves by a few points by chance, so the configured blend stays
unless the evidence is clear.

How it stays cheap: the backtest fits nothing. Preparing the engine already
built the history, the item-item model and the cluster adoption of the
window's start (the purchase model learns there), so they are reused;
candidates and their purchase probabilities do not depend on the blend and
are computed once for the sample (at most ``calibration_customers``); each
blend only re-weighs and re-ranks them. Measured at 100k customers: 0.6 to
0.7 s of an offers stage of 8.6 to 12.2 s (5 to 9 %).

What it cannot see: the purchase model used in the backtest is the engine's
own, which learned from this same window (fitting another, one window
earlier, took 2.3 s at 100k customers: more than the whole budget). Its ~25
weights over thousands of customers leave little room to overfit, but if
anything the choice leans towards the purchase model (``affinity_led``).

Budget: :func:`calibration_budget`. Before each blend the calibration
checks that the time spent plus the slowest blend so far stays within it,
and stops otherwise (the report says ``complete: false``). Deterministic:
the sample is drawn with ``config.seed``, blends run in a fixed order, and
the figures are rounded to 6 decimals; only a machine far slower than the
plan (the budget stopping the tries) changes the choice, and the report says so.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from crm_core.recommend.backtest import Backtest, BlendHits, backtest_of, blend_hits
from crm_core.recommend.engine import PreparedEngine
from crm_core.recommend.settings import COMPONENTS, RecommendConfig

MIN_GAIN = 0.01  # in units of the best baseline's hit-rate
FLOOR_SECONDS = 1.0  # a fifth of a small shop's stage is a fraction of a second: too little to decide anything


@dataclass(frozen=True)
class Blend:
    """One candidate blend of the score weights and scenario thresholds.

    Attributes:
        code: stable name (``configured``, ``affinity_led``...).
        label: what it does, in a few words.
        shares: affinity, popularity and scenario-fit shares of the non-profit weight
            (the profit weight is the shop's business choice and stays as configured);
            None keeps the configured weights.
        thresholds: other RecommendConfig settings, as ``(name, value)`` pairs.
    """

    code: str
    label: str
    shares: tuple[float, float, float] | None = None
    thresholds: tuple[tuple[str, float], ...] = ()

    def config(self, base: RecommendConfig) -> RecommendConfig:
        """``base`` with this blend's weights and thresholds."""
        changes = dict(self.thresholds)
        if self.shares is not None:
            rest = sum(base.weights.values()) - base.weight_profit
            for name, share in zip(("affinity", "popularity", "scenario_fit"), self.shares, strict=True):
                changes[f"weight_{name}"] = round(rest * share, 6)
        return dataclasses.replace(base, **changes)

    def changes(self, base: RecommendConfig) -> dict:
        """The settings this blend changes in ``base``, name -> new value."""
        chosen = self.config(base)
        return {f.name: getattr(chosen, f.name) for f in dataclasses.fields(base)
                if getattr(chosen, f.name) != getattr(base, f.name)}


BLENDS = (
    Blend("configured", "the settings as configured"),
    Blend("affinity_led", "led by the purchase model learned on this shop", (0.75, 0.125, 0.125)),
    Blend("popularity_led", "bestsellers weigh more", (0.3, 0.6, 0.1)),
    Blend("rebuy_first", "rebuying before discovery: due sooner, any past product may come back",
          (0.5, 0.2, 0.3), (("due_factor", 0.75), ("replenish_min_repeat_rate", 0.0))),
    Blend("discovery_first", "discovery before rebuying: only clearly replenishable products come back",
          (0.45, 0.45, 0.1), (("due_factor", 1.5), ("replenish_min_repeat_rate", 0.25), ("fill_fit", 0.25))),
)


@dataclass(frozen=True)
class Calibration:
    """The outcome of :func:`calibrate`.

    Attributes:
        engine: the prepared engine scoring with the chosen blend (its learning data released).
        blend: the chosen blend.
        report: JSON-safe: what was chosen and why, the figures of every blend tried and of the
            baselines, the window, the customers, the budget (see :func:`calibrate`).
    """

    engine: PreparedEngine
    blend: Blend
    report: dict


def calibration_budget(prepare_seconds: float, config: RecommendConfig) -> float:
    """Seconds the calibration may take: ``calibration_budget_share`` of the offers stage.

    The stage is estimated before it ends as twice its measured preparation: scoring takes about
    as long as preparing (3.2 s and 4.7 s at 100k customers, about 10 s and 11 s at 1M). At least
    FLOOR_SECONDS, at most ``calibration_max_seconds``.
    """
    wanted = max(FLOOR_SECONDS, config.calibration_budget_share * 2.0 * float(prepare_seconds))
    return round(min(float(config.calibration_max_seconds), wanted), 3)


def calibrate(engine: PreparedEngine, *, budget_seconds: float, blends: tuple[Blend, ...] = BLENDS,
              clock: Callable[[], float] = time.perf_counter) -> Calibration:
    """Choose the blend that ranks best on the shop's own last window (module docstring).

    Args:
        engine: from :func:`crm_core.recommend.engine.prepare` (with its learning data).
        budget_seconds: the time the calibration may take (:func:`calibration_budget`).
        blends: the candidates, the configured one first.
        clock: seconds, for the budget (tests pass a fake clock).
    Returns:
        A :class:`Calibration`. The report holds ``status`` (``calibrated``: another blend
        was chosen; ``kept``: the configured blend stays, ``reason`` says why; ``off``), ``chosen``,
        ``label``, ``settings`` (what the chosen blend changes), ``weights`` (the chosen weights;
        scoring renormalises them over the components with data),
        ``reason``, ``window`` (``start, end, days``), ``customers`` (``bought_in_window,
        sampled, new_track``), ``baselines`` (hit-rates: ``all.repeat, all.popularity,
        new.popularity``), ``blends`` (per blend: ``code, label, settings``, ``hit_rate`` and
        ``vs_best_baseline`` per track; the others also ``gain`` and ``margin`` per track and
        ``clearly_better``), ``complete``, ``tried`` and ``seconds, budget_seconds``.
    """
    started = clock()
    base = engine.config
    report = {"status": "kept", "chosen": blends[0].code, "label": blends[0].label, "settings": {},
              "weights": _weights(base), "reason": "", "window": None, "customers": None, "baselines": None,
              "blends": [], "complete": True, "tried": 0}

    def finish(blend: Blend, reason: str, status: str = "kept") -> Calibration:
        config = blend.config(base)
        report.update(status=status, chosen=blend.code, label=blend.label, settings=_json(blend.changes(base)),
                      weights=_weights(config), reason=reason,
                      seconds=round(clock() - started, 3), budget_seconds=round(float(budget_seconds), 3))
        return Calibration(engine.with_config(config), blend, report)

    if not base.calibrate:
        return finish(blends[0], "Calibration is switched off ([recommend] calibrate = false).", "off")
    if engine.learning is None:
        return finish(blends[0], "Nobody had bought before the learning window: there is nothing to backtest.")
    bt = backtest_of(engine)
    report["window"] = {"start": _date(bt.start), "end": _date(bt.day), "days": int(bt.day - bt.start)}
    report["customers"] = {"bought_in_window": bt.eligible, "sampled": int(len(bt.rows)),
                           "new_track": int(bt.new_customers.sum())}
    report["baselines"] = bt.baselines
    if bt.eligible < base.calibration_min_customers:
        return finish(blends[0], f"Only {bt.eligible} customers bought in the backtest window "
                                 f"({report['window']['start']} to {report['window']['end']}); at least "
                                 f"{base.calibration_min_customers} are needed to tell blends apart.")
    tried: list[tuple[Blend, BlendHits]] = []
    slowest = 0.0
    for blend in blends:
        if clock() - started + slowest > budget_seconds:
            report["complete"] = False
            break
        t0 = clock()
        tried.append((blend, blend_hits(bt, blend.config(base))))
        slowest = max(slowest, clock() - t0)
    report["tried"] = len(tried)
    if not tried:
        return finish(blends[0], f"Preparing the backtest alone took the whole budget of {budget_seconds:.1f} s.")
    rows = [_figures(b, hits, bt, base) for b, hits in tried]
    report["blends"] = rows
    chosen, reason = _choose(tried, rows, bt)
    if not report["complete"]:
        reason += (f" The budget of {budget_seconds:.1f} s stopped the backtest after {len(tried)} of "
                   f"{len(blends)} blends.")
    return finish(chosen, reason, "calibrated" if chosen is not blends[0] else "kept")


def _choose(tried: list, rows: list[dict], bt: Backtest) -> tuple[Blend, str]:
    """The chosen blend and why: the largest mean gain among blends clearly better than the configured one."""
    first, first_hits = tried[0]
    if len(tried) == 1:
        return first, "Only the configured blend could be tried."
    best, best_gain, best_row = None, 0.0, None
    for (blend, hits), row in zip(tried[1:], rows[1:], strict=True):
        gains, margins, better, worse = {}, {}, False, False
        for track in ("all", "new"):
            mine, theirs = row["vs_best_baseline"][track], rows[0]["vs_best_baseline"][track]
            if mine is None or theirs is None:
                continue
            se = _paired_se(getattr(hits, track), getattr(first_hits, track), bt.best_baseline(track))
            gains[track], margins[track] = round(mine - theirs, 6), round(max(MIN_GAIN, 2 * se), 6)
            better |= gains[track] > margins[track]
            worse |= gains[track] < -max(MIN_GAIN, se)
        row.update(gain=gains, margin=margins, clearly_better=bool(better and not worse))
        mean_gain = sum(gains.values()) / len(gains) if gains else 0.0
        if row["clearly_better"] and mean_gain > best_gain:
            best, best_gain, best_row = blend, mean_gain, row
    if best is None:
        return first, "No blend did clearly better than the configured one on the backtest (by two standard errors " \
                      "on a track without being worse on the other)."
    said = ", ".join(f"{t} {g:+.3f} (needed {best_row['margin'][t]:.3f})" for t, g in best_row["gain"].items())
    return best, (f"{best.code} ({best.label}) did better than the configured blend on the backtest, in times the "
                  f"best baseline's hit-rate: {said}.")


def _paired_se(a: np.ndarray, b: np.ndarray, base: float) -> float:
    """Standard error of the difference of two blends' hit-rate ratios on one track (paired by customer)."""
    if not len(a) or base <= 0:
        return 0.0
    return math.sqrt(float(np.sum(a != b))) / (len(a) * base)


def _figures(blend: Blend, hits: BlendHits, bt: Backtest, base: RecommendConfig) -> dict:
    """One blend's row of the report."""
    rates = {"all": _rate(hits.all), "new": _rate(hits.new)}
    ratios = {}
    for track, rate in rates.items():
        best = bt.best_baseline(track)
        ratios[track] = None if rate is None or best <= 0 else round(rate / best, 6)
    return {"code": blend.code, "label": blend.label, "settings": _json(blend.changes(base)),
            "hit_rate": rates, "vs_best_baseline": ratios}


def _rate(hit: np.ndarray) -> float | None:
    """Share of customers hit (None without customers)."""
    return round(float(hit.mean()), 6) if len(hit) else None


def _weights(config: RecommendConfig) -> dict:
    """The configured weights of a config (JSON-safe)."""
    return {name: round(float(getattr(config, f"weight_{name}")), 6) for name in COMPONENTS}


def _json(values: dict) -> dict:
    """Setting values as JSON-safe numbers."""
    return {k: (round(float(v), 6) if isinstance(v, float) else v) for k, v in sorted(values.items())}


def _date(day: int) -> str:
    """ISO date of a day number."""
    return (dt.date(1970, 1, 1) + dt.timedelta(days=int(day))).isoformat()
