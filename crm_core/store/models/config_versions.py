"""Saved settings and gate policies: every save is a new version, never an edit in place."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.store.models.base import Base, utc_now

__all__ = ["ConfigVersion"]


class ConfigVersion(Base):
    """One saved version of the pipeline settings (``kind="settings"``) or of a gate policy (``kind="policy"``)."""

    __tablename__ = "config_versions"
    __table_args__ = (UniqueConstraint("kind", "name", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    body_json: Mapped[dict] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
