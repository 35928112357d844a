"""Models of what runs produce and people decide: runs, offers, decisions, campaigns, outcomes, audit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.store.models.base import Base, utc_now, ws_fk as _ws_fk

__all__ = ['PipelineRun', 'RunCustomer', 'RunCluster', 'Offer', 'Decision', 'Campaign', 'CampaignMember', 'Outcome', 'Pitch', 'AuditEvent']


# --------------------------------------------------------------------------- pipeline runs


class PipelineRun(Base):
    """One pipeline run over a workspace as of a date: stored all-or-nothing."""

    __tablename__ = "pipeline_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    run_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(20))  # running | succeeded | failed
    as_of: Mapped[dt.date] = mapped_column(Date)
    config_json: Mapped[dict] = mapped_column(JSON)
    config_hash: Mapped[str] = mapped_column(String(64))
    data_hash: Mapped[str] = mapped_column(String(64))
    counts_json: Mapped[dict | None] = mapped_column(JSON)
    stage_timings_json: Mapped[dict | None] = mapped_column(JSON)
    params_json: Mapped[dict | None] = mapped_column(JSON)  # fitted model parameters
    quality_json: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class RunCustomer(Base):
    """Features, RFM segment, cluster and predicted value of a customer in one run."""

    __tablename__ = "run_customers"
    __table_args__ = (UniqueConstraint("run_id", "customer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="CASCADE"))  # the unique (run_id, customer_id) index serves lookups
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    first_purchase: Mapped[dt.date] = mapped_column(Date)
    last_purchase: Mapped[dt.date] = mapped_column(Date)
    recency_days: Mapped[int] = mapped_column(Integer)
    frequency: Mapped[int] = mapped_column(Integer)
    monetary_minor: Mapped[int] = mapped_column(BigInteger)
    r_score: Mapped[int | None] = mapped_column(Integer)
    f_score: Mapped[int | None] = mapped_column(Integer)
    m_score: Mapped[int | None] = mapped_column(Integer)
    rfm_segment: Mapped[str | None] = mapped_column(String(40))  # stable code, e.g. CHAMPIONS
    cluster: Mapped[int | None] = mapped_column(Integer)
    expected_purchases: Mapped[float | None] = mapped_column(Float)
    clv: Mapped[float | None] = mapped_column(Float)
    p_alive: Mapped[float | None] = mapped_column(Float)
    churn_risk: Mapped[str | None] = mapped_column(String(10))  # low | medium | high
    features_json: Mapped[dict | None] = mapped_column(JSON)  # further behaviour features


class RunCluster(Base):
    """Profile and persona of one cluster of a run."""

    __tablename__ = "run_clusters"
    __table_args__ = (UniqueConstraint("run_id", "cluster"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="CASCADE"), index=True)
    cluster: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    persona_code: Mapped[str] = mapped_column(String(60))
    persona_name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    profile_json: Mapped[dict] = mapped_column(JSON)


# --------------------------------------------------------------------------- offers and workflow


class Offer(Base):
    """A next best offer for one customer in one run, with its audit verdict and state.

    ``version`` guards against two managers deciding at once (optimistic lock).
    """

    __tablename__ = "offers"
    __table_args__ = (
        UniqueConstraint("run_id", "customer_id", "rank"),
        Index("ix_offers_ws_state", "workspace_id", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))  # ix_offers_ws_state
    run_id: Mapped[int] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="CASCADE"))  # the unique (run_id, customer_id, rank) index serves lookups
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer)
    scenario: Mapped[str] = mapped_column(String(20))  # REBUY | CROSS_SELL | UPSELL | WINBACK | NURTURE
    score: Mapped[float] = mapped_column(Float)
    components_json: Mapped[dict] = mapped_column(JSON)  # affinity, popularity, profit, scenario_fit
    explanation_code: Mapped[str] = mapped_column(String(60))
    explanation_params_json: Mapped[dict] = mapped_column(JSON)
    expected_revenue: Mapped[float | None] = mapped_column(Float)
    audit_score: Mapped[int | None] = mapped_column(Integer)
    gate: Mapped[str] = mapped_column(String(10), default="UNGATED")  # PASS | REVIEW | BLOCK | UNGATED
    flags: Mapped[str | None] = mapped_column(Text)  # flag codes joined by ';'
    state: Mapped[str] = mapped_column(String(12), default="pending")
    submitted_by: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)

    __mapper_args__ = {"version_id_col": version}


class Decision(Base):
    """A manager's decision on an offer or a campaign (four-eyes)."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    decision: Mapped[str] = mapped_column(String(12))  # approved | rejected | flagged
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class Campaign(Base):
    """A set of approved offers sent together, with a seeded holdout group."""

    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    run_id: Mapped[int | None] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default="draft")  # draft | submitted | approved | exported
    holdout_share: Mapped[float] = mapped_column(Float, default=0.1)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    exported_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)

    members: Mapped[list[CampaignMember]] = relationship(back_populates="campaign", cascade="all, delete-orphan")
    __mapper_args__ = {"version_id_col": version}


class CampaignMember(Base):
    """One customer of a campaign, in the treatment or the holdout group."""

    __tablename__ = "campaign_members"
    __table_args__ = (UniqueConstraint("campaign_id", "customer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id", ondelete="SET NULL"))
    group: Mapped[str] = mapped_column(String(10))  # treatment | holdout

    campaign: Mapped[Campaign] = relationship(back_populates="members")


class Outcome(Base):
    """What a customer did after a campaign: responded, converted, revenue."""

    __tablename__ = "outcomes"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id", ondelete="SET NULL"))
    reference: Mapped[str | None] = mapped_column(String(200))
    responded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    converted: Mapped[bool] = mapped_column(Boolean, default=False)
    revenue_minor: Mapped[int | None] = mapped_column(BigInteger)


class Pitch(Base):
    """A drafted pitch for an offer: from the LLM or the template fallback."""

    __tablename__ = "pitches"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))  # llm | template
    model: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class AuditEvent(Base):
    """Append-only, hash-chained log of every change: who, when, what, before, after, why."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int | None] = mapped_column(ForeignKey("workspaces.id", ondelete="SET NULL"), index=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)  # UTC
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(100))
    before_json: Mapped[dict | None] = mapped_column(JSON)
    after_json: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


