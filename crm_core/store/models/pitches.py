"""The pitches table: drafted messages for an offer, one row per saved version."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.store.models.base import Base, utc_now
from crm_core.store.models.base import ws_fk as _ws_fk

__all__ = ["Pitch"]


class Pitch(Base):
    """A drafted pitch for an offer: from the LLM, the template fallback, or edited by hand.

    Regenerating or editing saves a new row with the next ``version``; the newest is the offer's pitch.
    """

    __tablename__ = "pitches"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))  # llm | template | edited
    model: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    # revision 0006
    version: Mapped[int] = mapped_column(Integer, default=1)
    subject: Mapped[str | None] = mapped_column(Text)
    tone: Mapped[str | None] = mapped_column(String(20))
    channel: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(20))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)  # why this source (e.g. why the template was used)
    failures_json: Mapped[list | None] = mapped_column(JSON)  # failed checks: [{code, message}]
