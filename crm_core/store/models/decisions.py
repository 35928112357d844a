"""The decisions table: a manager's decision on an offer (four-eyes), never edited afterwards."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.store.models.base import Base, utc_now
from crm_core.store.models.base import ws_fk as _ws_fk

__all__ = ["Decision"]


class Decision(Base):
    """A manager's decision on an offer or a campaign; undo is a new decision, never an edit."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    decision: Mapped[str] = mapped_column(String(12))  # approved | rejected | flagged | pending (resubmitted)
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    # revision 0006
    state_before: Mapped[str | None] = mapped_column(String(12))
    version_before: Mapped[int | None] = mapped_column(Integer)
