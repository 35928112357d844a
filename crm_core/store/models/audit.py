"""The audit log: append-only, hash-chained events of every change."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.store.models.base import Base, utc_now

__all__ = ["AuditEvent"]


class AuditEvent(Base):
    """One change: who (and their role), when (UTC), what, on which object, before, after, why.

    Append-only: triggers refuse UPDATE and DELETE (revision 0006), and no
    foreign key points out of it, so no cascade from another table can touch
    it. ``prev_hash`` is unique: two writers can never fork the chain.
    """

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int | None] = mapped_column(Integer, index=True)  # kept as a plain number, no FK
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)  # UTC
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(100))
    before_json: Mapped[dict | None] = mapped_column(JSON)
    after_json: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    actor_role: Mapped[str | None] = mapped_column(String(20))  # revision 0006
