"""SQLAlchemy 2 typed models: the whole data model of NextBest.

Conventions every table follows:

* every business row belongs to a ``Workspace`` (one database can hold a
  shop and a bank side by side);
* surrogate integer keys; ids as the source gives them (normalised text)
  live in ``*_code`` columns, unique per workspace;
* money is stored exactly as integer minor units (``*_minor``); the
  workspace says which currency and how many decimals;
* business times (transactions, purchases) are naive local date-times in
  the workspace's time zone; audit and system times are UTC;
* consent, do-not-contact and last-contacted values are kept with the date
  they took effect (``CustomerAttribute``), so a run as of a past date is
  reproducible;
* segments, scenarios, flags and explanations are stable codes plus
  parameters; labels are rendered from templates.
"""

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
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utc_now() -> dt.datetime:
    """Current UTC time, timezone-aware."""
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    """Declarative base of every NextBest table."""


def _ws_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)


# --------------------------------------------------------------------------- tenancy, users


class Workspace(Base):
    """One data world (a shop, a bank); every business table carries it."""

    __tablename__ = "workspaces"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3), default="GBP")
    currency_decimals: Mapped[int] = mapped_column(Integer, default=2)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    kind: Mapped[str] = mapped_column(String(20), default="retail")  # retail | bank
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class User(Base):
    """A login; the role decides what the user may do (see crm_core.auth)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


# --------------------------------------------------------------------------- imports


class ImportBatch(Base):
    """One imported file: what it was, how it was read, what came of it."""

    __tablename__ = "import_batches"
    __table_args__ = (Index("ix_import_batches_hash", "workspace_id", "kind", "content_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    kind: Mapped[str] = mapped_column(String(20))  # transactions | customers | products | holdings | outcomes
    source_name: Mapped[str] = mapped_column(String(500))
    content_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))  # loaded | duplicate
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_loaded: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    rows_warned: Mapped[int] = mapped_column(Integer, default=0)
    rows_skipped: Mapped[int] = mapped_column(Integer, default=0)
    format_json: Mapped[dict | None] = mapped_column(JSON)  # encoding, delimiter, decimal, date order
    mapping_json: Mapped[dict | None] = mapped_column(JSON)
    summary_json: Mapped[dict | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class ImportIssue(Base):
    """A rejected row or a warning of one import, with line, column and reason code."""

    __tablename__ = "import_issues"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id", ondelete="CASCADE"), index=True)
    line: Mapped[int | None] = mapped_column(Integer)
    column: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(10))  # rejected | warning
    code: Mapped[str] = mapped_column(String(50))
    value: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)


# --------------------------------------------------------------------------- master data


class Customer(Base):
    """A customer of one workspace, by the id the source gives."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("workspace_id", "customer_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    customer_code: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(50))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    region: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[str | None] = mapped_column(Text)
    extra_json: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class CustomerAttribute(Base):
    """A dated value of a changing attribute (email_opt_in, do_not_contact, last_contacted_at).

    The value valid at date D is the one with the latest ``effective_from`` <= D.
    """

    __tablename__ = "customer_attributes"
    __table_args__ = (Index("ix_customer_attributes_lookup", "customer_id", "attribute", "effective_from"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    attribute: Mapped[str] = mapped_column(String(40))
    value: Mapped[str | None] = mapped_column(String(200))
    effective_from: Mapped[dt.datetime] = mapped_column(DateTime)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id", ondelete="SET NULL"))


class Product(Base):
    """A product or banking product; merchandise lines only are ever offered."""

    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("workspace_id", "product_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    product_code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(500))
    family: Mapped[str | None] = mapped_column(String(200))
    price_minor: Mapped[int | None] = mapped_column(BigInteger)
    unit_cost_minor: Mapped[int | None] = mapped_column(BigInteger)
    margin_rate: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_merchandise: Mapped[bool] = mapped_column(Boolean, default=True)
    in_catalog: Mapped[bool] = mapped_column(Boolean, default=False)  # False: only seen in transactions


class ProductAlias(Base):
    """Another code or name under which a product appears in exports."""

    __tablename__ = "product_aliases"
    __table_args__ = (UniqueConstraint("workspace_id", "alias_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    alias_code: Mapped[str] = mapped_column(String(200))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))


class Transaction(Base):
    """One sales line (negative amount for a return or cancellation).

    ``customer_id`` is empty for an anonymous sale: it counts for product
    popularity, never for a customer.
    """

    __tablename__ = "transactions"
    __table_args__ = (
        Index("ix_transactions_ws_date", "workspace_id", "invoice_date"),
        Index("ix_transactions_ws_invoice", "workspace_id", "invoice_code"),
        Index("ix_transactions_customer", "customer_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)  # line in the source file
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    invoice_code: Mapped[str | None] = mapped_column(String(100))
    invoice_date: Mapped[dt.datetime] = mapped_column(DateTime)  # local business time
    quantity: Mapped[float] = mapped_column(Float, default=1.0)
    unit_price_minor: Mapped[int | None] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    is_return: Mapped[bool] = mapped_column(Boolean, default=False)  # cancellation or return
    category: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(100))


class Holding(Base):
    """Banking-style product ownership."""

    __tablename__ = "holdings"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    opened_at: Mapped[dt.date | None] = mapped_column(Date)
    closed_at: Mapped[dt.date | None] = mapped_column(Date)
    balance_minor: Mapped[int | None] = mapped_column(BigInteger)


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
    run_id: Mapped[int] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="CASCADE"), index=True)
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
    workspace_id: Mapped[int] = _ws_fk()
    run_id: Mapped[int] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="CASCADE"), index=True)
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


# --------------------------------------------------------------------------- added in revision 0002


class SavedMapping(Base):
    """A confirmed column mapping, remembered for files with the same headers."""

    __tablename__ = "saved_mappings"
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "header_signature"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    kind: Mapped[str] = mapped_column(String(20))
    header_signature: Mapped[str] = mapped_column(String(64))
    mapping_json: Mapped[dict] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
