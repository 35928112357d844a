"""Model-health checks: an offline evaluation of the offer engine, kept so every user sees the last one."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.store.models.base import Base, utc_now
from crm_core.store.models.base import ws_fk as _ws_fk

__all__ = ["ModelHealthCheck"]


class ModelHealthCheck(Base):
    """One offline evaluation of a workspace's data (revision 0006); the newest is what the Offers page shows.

    ``batch_id`` is the workspace's newest import batch when it was checked: a later
    import makes the check out of date (the page says so).
    """

    __tablename__ = "model_health_checks"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    batch_id: Mapped[int | None] = mapped_column(Integer)
    cutoff: Mapped[dt.date] = mapped_column(Date)
    horizon_days: Mapped[int] = mapped_column(Integer)
    top_n: Mapped[int] = mapped_column(Integer)
    evaluation_json: Mapped[dict] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
