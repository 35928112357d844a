"""Campaigns: approved offers sent together, their members and the holdout group."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.store.models.base import Base, utc_now
from crm_core.store.models.base import ws_fk as _ws_fk

__all__ = ["Campaign", "CampaignMember", "CampaignOffer"]


class Campaign(Base):
    """A set of approved offers sent together, with a seeded holdout group."""

    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    run_id: Mapped[int | None] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default="draft")  # draft | exported
    holdout_share: Mapped[float] = mapped_column(Float, default=0.1)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    exported_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # revision 0006
    exported_by: Mapped[str | None] = mapped_column(String(64))
    selection_json: Mapped[dict | None] = mapped_column(JSON)  # how it was built (filters or a selection)

    members: Mapped[list[CampaignMember]] = relationship(back_populates="campaign", cascade="all, delete-orphan")


class CampaignMember(Base):
    """One customer of a campaign: ``treatment`` (exported), ``holdout`` (kept aside) or ``excluded``."""

    __tablename__ = "campaign_members"
    __table_args__ = (UniqueConstraint("campaign_id", "customer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id", ondelete="SET NULL"))
    group: Mapped[str] = mapped_column(String(10))  # candidate | treatment | holdout | excluded
    # revision 0006
    segment: Mapped[str | None] = mapped_column(String(40))  # the stratum of the holdout draw
    excluded_reason: Mapped[str | None] = mapped_column(Text)

    campaign: Mapped[Campaign] = relationship(back_populates="members")


class CampaignOffer(Base):
    """An approved offer that belongs to a campaign (a customer may get several)."""

    __tablename__ = "campaign_offers"
    __table_args__ = (UniqueConstraint("campaign_id", "offer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"), index=True)
    note: Mapped[str | None] = mapped_column(Text)
