"""Merges of duplicate customers: who was folded into whom, on what evidence, and what moved (revision 0008)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.store.models.base import Base, utc_now
from crm_core.store.models.base import ws_fk as _ws_fk

__all__ = ["CustomerMerge"]


class CustomerMerge(Base):
    """A manager's verdict on two customer records: merged (and maybe undone later) or dismissed.

    ``state`` is ``merged`` (the merged customer's rows now belong to the survivor), ``undone``
    (they were given back) or ``dismissed`` (a proposal judged to be two different people; nothing
    moved). ``moved_json`` holds the ids of every row the merge moved, per table (offers with the
    rank they had), and ``added_json`` the ids of rows it added (the most restrictive consent), so
    that an undo restores exactly what was there. The merged customer's own row is kept.
    """

    __tablename__ = "customer_merges"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    survivor_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(10))  # merged | undone | dismissed
    evidence_json: Mapped[dict] = mapped_column(JSON)  # the rules that matched and the values they matched on
    moved_json: Mapped[dict | None] = mapped_column(JSON)  # table -> row ids moved (offers: [id, rank before])
    added_json: Mapped[dict | None] = mapped_column(JSON)  # table -> row ids added by the merge
    counts_json: Mapped[dict | None] = mapped_column(JSON)  # table -> rows moved, and rows kept where they were
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    version: Mapped[int] = mapped_column(Integer, default=1)
    undone_by: Mapped[str | None] = mapped_column(String(64))
    undone_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    undo_reason: Mapped[str | None] = mapped_column(Text)
