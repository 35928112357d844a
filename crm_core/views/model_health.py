"""The read side of model health: the newest kept check of a workspace, graded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from crm_core.recommend.health import ModelHealth, health_from_evaluation
from crm_core.store.models import ImportBatch, ModelHealthCheck


@dataclass(frozen=True)
class HealthCheck:
    """A kept model-health check: the graded result, who ran it and when, and whether data came in since."""

    health: ModelHealth
    checked_by: str
    checked_at: dt.datetime
    out_of_date: bool  # a file was imported into the workspace after the check


def latest_health_check(db, workspace_id: int) -> HealthCheck | None:
    """The workspace's newest model-health check (None when nobody ran one yet)."""
    with db.read() as s:
        row = s.scalar(select(ModelHealthCheck).where(ModelHealthCheck.workspace_id == workspace_id)
                       .order_by(ModelHealthCheck.id.desc()).limit(1))
        if row is None:
            return None
        newest_batch = s.scalar(select(func.max(ImportBatch.id)).where(ImportBatch.workspace_id == workspace_id))
        health = health_from_evaluation(dict(row.evaluation_json), workspace_id=workspace_id, cutoff=row.cutoff,
                                        horizon_days=row.horizon_days, top_n=row.top_n)
        return HealthCheck(health, row.created_by, row.created_at, (newest_batch or 0) > (row.batch_id or 0))
