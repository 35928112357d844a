"""Model health: the offline evaluation of the offer engine on a workspace's own data, with a grade.

:func:`evaluate_workspace` reads the workspace's canonical frames, runs
:func:`crm_core.recommend.evaluate.evaluate` (issue 5's exact definitions:
train on or before the cutoff, truth in the H days after it, two tracks) and
grades the engine against the best baseline of each track:

- **A**: at least 1.10 x the best baseline's hit-rate on both tracks;
- **B**: at least level (1.0 x) on both;
- **C**: below on at least one.

The evaluation changes nothing, but it is a heavy computation over all the
data, so running it needs the role that may run the pipeline.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import pandas as pd

from crm_core.auth import Action, Actor, require
from crm_core.errors import ConfigError, NextBestError
from crm_core.recommend.evaluate import evaluate
from crm_core.recommend.settings import RecommendConfig
from crm_core.store import frames

GRADE_A_RATIO = 1.10
GRADE_B_RATIO = 1.0
TRACK_LABELS = {"all": "All products", "new": "Products new to the customer"}
METHOD_LABELS = {"engine": "NextBest engine", "popularity": "Bestsellers (popularity)",
                 "repeat": "Their own favourites (repeat)"}
GRADE_MEANINGS = {
    "A": "The engine finds at least 10 % more buyers than the best simple rule on both tracks: "
         "send its offers.",
    "B": "The engine is at least level with the best simple rule on both tracks: its offers are as good, "
         "and they come with reasons.",
    "C": "On at least one track a simple rule finds more buyers than the engine: use the offers with care "
         "and check the data (length of history, catalog, margins).",
}
FEW_CUSTOMERS = 30


class TooLittleDataToEvaluate(NextBestError):
    """The workspace's data cannot support an offline evaluation (no history before the cutoff or no buyers after)."""


@dataclass(frozen=True)
class ModelHealth:
    """The result of :func:`evaluate_workspace` (treat the dicts as read-only).

    Attributes:
        workspace_id, cutoff, horizon_days, top_n: what was evaluated.
        evaluation: the :func:`crm_core.recommend.evaluate.evaluate` dict,
            ``{"all": {"engine", "popularity", "repeat"}, "new": {"engine", "popularity"}}``.
        best_baseline: track -> name of the baseline with the highest hit-rate.
        ratios: track -> engine hit-rate / best baseline hit-rate (None when the
            track has no eligible customers or the baseline hit nobody).
        grade: "A", "B" or "C".
        meaning: what the grade means, in a sentence.
        notes: caveats (e.g. a track without eligible customers, few customers).
    """

    workspace_id: int
    cutoff: dt.date
    horizon_days: int
    top_n: int
    evaluation: dict
    best_baseline: dict
    ratios: dict
    grade: str
    meaning: str
    notes: tuple[str, ...] = ()

    def comparison(self) -> pd.DataFrame:
        """One row per track and method: hit-rate, precision, recall, coverage and the ratio to the best baseline.

        Columns ``track, method`` (codes), ``track_label, method_label``, ``customers`` (int64),
        ``hit_rate, precision, recall, coverage, vs_best_baseline`` (float64; the ratio of the
        method's hit-rate to the track's best baseline), ``is_best_baseline`` (bool).
        """
        rows = []
        for track, block in self.evaluation.items():
            best = self.best_baseline.get(track)
            best_hit = block[best]["hit_rate"] if best else 0.0
            for method, m in block.items():
                rows.append({"track": track, "method": method, "track_label": TRACK_LABELS.get(track, track),
                             "method_label": METHOD_LABELS.get(method, method), "customers": m["customers"],
                             "hit_rate": m["hit_rate"], "precision": m["precision"], "recall": m["recall"],
                             "coverage": m["coverage"],
                             "vs_best_baseline": m["hit_rate"] / best_hit if best_hit > 0 else float("nan"),
                             "is_best_baseline": method == best})
        frame = pd.DataFrame(rows)
        for col in ("track", "method", "track_label", "method_label"):
            frame[col] = frame[col].astype("string")
        frame["customers"] = frame["customers"].astype("int64")
        return frame


    def tracks(self) -> pd.DataFrame:
        """One row per track: the engine's hit-rate next to the best baseline's, and their ratio.

        Columns ``track, track_label, baseline, baseline_label`` (string), ``customers``
        (int64), ``engine_hit_rate, baseline_hit_rate`` (float64) and ``ratio`` (float64,
        NaN when the track had no eligible customers).
        """
        rows = [{"track": track, "track_label": TRACK_LABELS.get(track, track), "baseline": best,
                 "baseline_label": METHOD_LABELS.get(best, best),
                 "customers": self.evaluation[track]["engine"]["customers"],
                 "engine_hit_rate": self.evaluation[track]["engine"]["hit_rate"],
                 "baseline_hit_rate": self.evaluation[track][best]["hit_rate"],
                 "ratio": float("nan") if self.ratios.get(track) is None else self.ratios[track]}
                for track, best in self.best_baseline.items()]
        frame = pd.DataFrame(rows)
        return frame.astype({"track": "string", "track_label": "string", "baseline": "string",
                             "baseline_label": "string", "customers": "int64"})


def default_cutoff(last_date: dt.date, horizon_days: int) -> dt.date:
    """The cutoff that leaves exactly ``horizon_days`` of truth after it: the last date minus the horizon."""
    return last_date - dt.timedelta(days=int(horizon_days))


def grade_from_ratios(ratios) -> str:
    """The grade of engine / best-baseline hit-rate ratios (one per track; None entries are skipped).

    A: every ratio >= 1.10; B: every ratio >= 1.0; C otherwise. Ratios are
    compared rounded to 6 decimals, so 0.462 / 0.42 counts as 1.10.
    """
    values = [round(float(r), 6) for r in ratios if r is not None]
    if not values:
        raise TooLittleDataToEvaluate("No track had customers to evaluate, so there is no grade.")
    worst = min(values)
    return "A" if worst >= GRADE_A_RATIO else "B" if worst >= GRADE_B_RATIO else "C"


def health_from_evaluation(evaluation: dict, *, workspace_id: int, cutoff: dt.date, horizon_days: int,
                           top_n: int) -> ModelHealth:
    """Best baselines, ratios and grade of an :func:`~crm_core.recommend.evaluate.evaluate` result.

    Raises:
        TooLittleDataToEvaluate: when no customer of the all-products track bought in the window.
    """
    window = (f"{cutoff + dt.timedelta(days=1):%d %b %Y} to {cutoff + dt.timedelta(days=horizon_days):%d %b %Y}")
    if evaluation["all"]["engine"]["customers"] == 0:
        raise TooLittleDataToEvaluate(
            f"No customer who bought before {cutoff:%d %b %Y} bought again from {window}, so there is nothing to "
            "check the offers against. Choose an earlier cutoff or a shorter horizon, or load more history.")
    best, ratios, notes = {}, {}, []
    for track, block in evaluation.items():
        baselines = {k: v for k, v in block.items() if k != "engine"}
        best[track] = max(sorted(baselines), key=lambda k: baselines[k]["hit_rate"])
        customers = block["engine"]["customers"]
        best_hit = baselines[best[track]]["hit_rate"]
        if customers == 0:
            ratios[track] = None
            notes.append(f"No customer bought a product new to them from {window}: the grade rests on the "
                         f"{TRACK_LABELS['all'].lower()} track alone.")
        elif best_hit <= 0:
            ratios[track] = float("inf") if block["engine"]["hit_rate"] > 0 else 1.0
        else:
            ratios[track] = block["engine"]["hit_rate"] / best_hit
        if 0 < customers < FEW_CUSTOMERS:
            notes.append(f"Only {customers} customers on the {TRACK_LABELS[track].lower()} track: "
                         "the figures move a lot with one customer more or less.")
    grade = grade_from_ratios(ratios.values())
    return ModelHealth(workspace_id=int(workspace_id), cutoff=cutoff, horizon_days=int(horizon_days),
                       top_n=int(top_n), evaluation=evaluation, best_baseline=best, ratios=ratios, grade=grade,
                       meaning=GRADE_MEANINGS[grade], notes=tuple(notes))


def evaluate_workspace(db, workspace_id: int, *, actor: Actor | None, config, cutoff: dt.date | None = None,
                       horizon_days: int = 90, top_n: int = 3) -> ModelHealth:
    """Evaluate the offer engine on a workspace's data and grade it against the baselines.

    Args:
        db: the Database.
        workspace_id: the workspace whose transactions (and products, holdings) are used.
        actor: who asks; needs Action.RUN_PIPELINE (analyst and up).
        config: the composed ``crm_core.config.Config`` (its ``recommend`` section is
            used) or a ``RecommendConfig``.
        cutoff: last day of the training data; default the last transaction date
            minus ``horizon_days``.
        horizon_days: length of the truth window H (days after the cutoff).
        top_n: offers per customer N.
    Returns:
        A :class:`ModelHealth`.
    Raises:
        PermissionDenied: the actor may not run the pipeline.
        ConfigError: ``horizon_days`` or ``top_n`` below 1.
        TooLittleDataToEvaluate: no transactions, no sales on or before the
            cutoff, or no customer buying in the window.
    """
    require(actor, Action.RUN_PIPELINE)
    for name, value in (("horizon_days", horizon_days), ("top_n", top_n)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a whole number of at least 1, not {value!r}.")
    recommend_config = _recommend_config(config)
    tx = frames.load_transactions(db, workspace_id)
    if tx.empty:
        raise TooLittleDataToEvaluate("This workspace has no transactions yet: import a sales file, then "
                                      "evaluate the offers.")
    sales = tx.loc[~tx["is_return"].to_numpy(dtype=bool) & tx["customer_id"].notna().to_numpy(dtype=bool),
                   "invoice_date"]
    first, last = tx["invoice_date"].min().date(), tx["invoice_date"].max().date()
    cutoff = cutoff or default_cutoff(last, horizon_days)
    if not bool((sales < pd.Timestamp(cutoff + dt.timedelta(days=1))).any()):
        raise TooLittleDataToEvaluate(
            f"There are no customer sales on or before the cutoff {cutoff:%d %b %Y} (the data runs from "
            f"{first:%d %b %Y} to {last:%d %b %Y}). The evaluation needs history before the cutoff and "
            f"{horizon_days} days after it: choose a later cutoff or a shorter horizon, or load more history.")
    products = frames.load_products(db, workspace_id)
    holdings = frames.load_holdings(db, workspace_id)
    evaluation = evaluate(tx, cutoff=cutoff, horizon_days=horizon_days, top_n=top_n,
                          products=products if len(products) else None,
                          holdings=holdings if len(holdings) else None, config=recommend_config)
    return health_from_evaluation(evaluation, workspace_id=workspace_id, cutoff=cutoff,
                                  horizon_days=horizon_days, top_n=top_n)


def _recommend_config(config) -> RecommendConfig:
    """The engine settings from a Config, a RecommendConfig or None (defaults)."""
    if config is None:
        return RecommendConfig()
    if isinstance(config, RecommendConfig):
        return config
    section = getattr(config, "recommend", None)
    if isinstance(section, RecommendConfig):
        return section
    raise ConfigError(f"config must be a crm_core.config.Config or a RecommendConfig, not {type(config).__name__}.")
