"""The read side of model health: the newest kept check of a workspace, graded; how a run chose its blend."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, select

from crm_core.recommend.health import METHOD_LABELS, ModelHealth, health_from_evaluation
from crm_core.store.models import ImportBatch, ModelHealthCheck, PipelineRun


@dataclass(frozen=True)
class HealthCheck:
    """A kept model-health check: the graded result, who ran it and when, and whether data came in since."""

    health: ModelHealth
    checked_by: str
    checked_at: dt.datetime
    out_of_date: bool  # a file was imported into the workspace after the check (not a duplicate, not taken back)


def latest_health_check(db, workspace_id: int) -> HealthCheck | None:
    """The workspace's newest model-health check (None when nobody ran one yet)."""
    with db.read() as s:
        row = s.scalar(select(ModelHealthCheck).where(ModelHealthCheck.workspace_id == workspace_id)
                       .order_by(ModelHealthCheck.id.desc()).limit(1))
        if row is None:
            return None
        newest_batch = s.scalar(select(func.max(ImportBatch.id)).where(ImportBatch.workspace_id == workspace_id,
                                                                      ImportBatch.status == "loaded"))
        health = health_from_evaluation(dict(row.evaluation_json), workspace_id=workspace_id, cutoff=row.cutoff,
                                        horizon_days=row.horizon_days, top_n=row.top_n)
        return HealthCheck(health, row.created_by, row.created_at, (newest_batch or 0) > (row.batch_id or 0))


@dataclass(frozen=True)
class RunCalibration:
    """How a run chose the blend it scored with (``params.offers_model.calibration`` of its run.json).

    Attributes:
        run_id: the run.
        status: ``calibrated`` (another blend than the configured one), ``kept`` or ``off``.
        chosen, label: the chosen blend's code and what it does.
        reason: why, in a sentence.
        settings: what the chosen blend changes in the configured settings.
        weights: the score weights the run used.
        window_start, window_end: the backtest window (None when there was no backtest).
        customers: customers in the backtest sample (0 without backtest).
        baselines: the baselines' hit-rates on the sample, ``{"all": {"repeat", "popularity"},
            "new": {"popularity"}}`` (empty without backtest).
        blends: per blend tried, its report row (``code, label, hit_rate, vs_best_baseline, measure``).
        complete: every blend was tried (False: the time budget stopped the backtest).
        seconds, budget_seconds: what the calibration took and was allowed.
    """

    run_id: int
    status: str
    chosen: str
    label: str
    reason: str
    settings: dict
    weights: dict
    window_start: dt.date | None
    window_end: dt.date | None
    customers: int
    baselines: dict
    blends: tuple[dict, ...]
    complete: bool
    seconds: float | None
    budget_seconds: float | None

    def blends_frame(self) -> pd.DataFrame:
        """One row per method on the backtest: the blends tried, then the baselines.

        Columns ``method`` (blend code or ``baseline:<name>``), ``label`` (string),
        ``all_hit_rate, new_hit_rate`` (float64, NaN when not measured), ``all_vs_best,
        new_vs_best`` (ratio to the track's best baseline, float64), ``chosen`` (bool).
        """
        best = {track: max([v for v in self.baselines.get(track, {}).values() if v is not None], default=0.0)
                for track in ("all", "new")}
        rows = [{"method": b["code"], "label": b["label"], "all_hit_rate": b["hit_rate"].get("all"),
                 "new_hit_rate": b["hit_rate"].get("new"), "all_vs_best": b["vs_best_baseline"].get("all"),
                 "new_vs_best": b["vs_best_baseline"].get("new"), "chosen": b["code"] == self.chosen}
                for b in self.blends]
        for name in ("repeat", "popularity"):
            rates = {track: self.baselines.get(track, {}).get(name) for track in ("all", "new")}
            if all(r is None for r in rates.values()):
                continue
            rows.append({"method": f"baseline:{name}", "label": METHOD_LABELS.get(name, name),
                         "all_hit_rate": rates["all"], "new_hit_rate": rates["new"],
                         **{f"{t}_vs_best": (rates[t] / best[t] if rates[t] is not None and best[t] > 0 else None)
                            for t in ("all", "new")}, "chosen": False})
        frame = pd.DataFrame(rows, columns=["method", "label", "all_hit_rate", "new_hit_rate", "all_vs_best",
                                            "new_vs_best", "chosen"])
        frame[["method", "label"]] = frame[["method", "label"]].astype("string")
        for col in ("all_hit_rate", "new_hit_rate", "all_vs_best", "new_vs_best"):
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
        frame["chosen"] = frame["chosen"].astype(bool)
        return frame


def run_calibration(db, run_id: int) -> RunCalibration | None:
    """How run ``run_id`` chose its blend; None for an unknown run or one made before calibration existed."""
    with db.read() as s:
        params = s.scalar(select(PipelineRun.params_json).where(PipelineRun.id == int(run_id)))
    report = ((params or {}).get("offers_model") or {}).get("calibration")
    return calibration_from_report(run_id, report) if isinstance(report, dict) else None


def calibration_from_report(run_id: int, report: dict) -> RunCalibration:
    """A :class:`RunCalibration` from a calibration report (``crm_core.recommend.calibration.calibrate``)."""
    window = report.get("window") or {}
    return RunCalibration(
        run_id=int(run_id), status=str(report.get("status", "")), chosen=str(report.get("chosen", "")),
        label=str(report.get("label", "")), reason=str(report.get("reason", "")),
        settings=dict(report.get("settings") or {}), weights=dict(report.get("weights") or {}),
        window_start=_date(window.get("start")), window_end=_date(window.get("end")),
        customers=int((report.get("customers") or {}).get("sampled", 0)),
        baselines=dict(report.get("baselines") or {}), blends=tuple(report.get("blends") or ()),
        complete=bool(report.get("complete", True)), seconds=report.get("seconds"),
        budget_seconds=report.get("budget_seconds"))


def _date(text) -> dt.date | None:
    """An ISO date, or None."""
    return dt.date.fromisoformat(text) if isinstance(text, str) else None
