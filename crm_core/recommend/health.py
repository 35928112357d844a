"""The model-health grade: how the engine's hit-rate compares with the best simple rule, per track.

The one home of the grade rule (the Offers page, the CLI and reports use it):

- **A**: at least 1.10 x the best baseline's hit-rate on every track with customers;
- **B**: at least level (1.0 x) on every such track;
- **C**: below on at least one.

Ratios are compared rounded to 6 decimals, so 0.3344 / 0.304 (1.0999999999999999 in floats) counts as 1.10.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from crm_core.recommend.evaluate import EvaluationImpossible

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


class TooLittleDataToEvaluate(EvaluationImpossible):
    """The workspace's data cannot support an offline evaluation (no history before the cutoff or no buyers after)."""


def grade_from_ratios(ratios) -> str:
    """The grade of engine / best-baseline hit-rate ratios (one per track; None entries are skipped).

    A: every ratio >= 1.10; B: every ratio >= 1.0; C otherwise. Ratios are
    compared rounded to 6 decimals, so 0.3344 / 0.304 (1.0999999999999999 in floats) counts as 1.10.
    """
    values = [round(float(r), 6) for r in ratios if r is not None]
    if not values:
        raise TooLittleDataToEvaluate("No track had customers to evaluate, so there is no grade.")
    worst = min(values)
    return "A" if worst >= GRADE_A_RATIO else "B" if worst >= GRADE_B_RATIO else "C"


def compare_with_baselines(evaluation: dict, window: str = "the window") -> tuple[dict, dict, list[str]]:
    """Best baseline, engine/best ratio and caveats per track of an evaluation result.

    Args:
        evaluation: :func:`crm_core.recommend.evaluate.evaluate` output.
        window: the truth window in words, for the caveats.
    Returns:
        ``(best, ratios, notes)``: track -> best baseline name; track -> ratio (None when the
        track had no eligible customer; inf when the baseline hit nobody and the engine did);
        English caveats.
    """
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
    return best, ratios, notes


def grade(evaluation: dict) -> str:
    """The grade of an evaluation result (see the module docstring)."""
    return grade_from_ratios(compare_with_baselines(evaluation)[1].values())


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
    best, ratios, notes = compare_with_baselines(evaluation, window)
    grade = grade_from_ratios(ratios.values())
    return ModelHealth(workspace_id=int(workspace_id), cutoff=cutoff, horizon_days=int(horizon_days),
                       top_n=int(top_n), evaluation=evaluation, best_baseline=best, ratios=ratios, grade=grade,
                       meaning=GRADE_MEANINGS[grade], notes=tuple(notes))
