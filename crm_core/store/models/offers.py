"""The offers table: a next best offer, its audit verdict and where it stands in the review."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.store.models.base import Base, utc_now

__all__ = ["Offer"]


class Offer(Base):
    """A next best offer for one customer in one run, with its audit verdict and state.

    ``version`` grows with every change; a decision is a conditional update on it
    (two managers deciding at once: exactly one wins). ``origin`` says whether the
    engine made the offer or an analyst edited or added it; an edited offer keeps
    the engine's original (``original_offer_id``), which is then ``superseded``.
    """

    __tablename__ = "offers"
    __table_args__ = (
        UniqueConstraint("run_id", "customer_id", "rank"),
        Index("ix_offers_ws_state", "workspace_id", "state"),
        # revision 0007: the review queue's page (a run's pending offers, best first) and its counters
        Index("ix_offers_run_state_score", "run_id", "state", "score"),
        Index("ix_offers_run_state_gate", "run_id", "state", "gate"),
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
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending | approved | rejected | flagged | exported | superseded
    submitted_by: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    # revision 0006: the gate's verdict in full, and the review
    policy_name: Mapped[str | None] = mapped_column(String(60))
    policy_version: Mapped[int | None] = mapped_column(Integer)
    facts_json: Mapped[dict | None] = mapped_column(JSON)  # the facts the offer was judged on
    origin: Mapped[str] = mapped_column(String(10), default="engine")  # engine | edited | added
    original_offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id", ondelete="SET NULL"))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
