"""Models of the data a workspace holds: tenancy, users, imports, master data, transactions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.store.models.base import Base, utc_now
from crm_core.store.models.base import ws_fk as _ws_fk

__all__ = ['Workspace', 'User', 'ImportBatch', 'ImportIssue', 'Customer', 'CustomerAttribute', 'Product', 'ProductAlias', 'Transaction', 'Holding', 'SavedMapping', 'OverviewSummary']


# --------------------------------------------------------------------------- tenancy, users


class Workspace(Base):
    """One data world (a shop, a bank); every business table carries it."""

    __tablename__ = "workspaces"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3), default="XXX")  # ISO 4217 "no currency" until one is set
    currency_decimals: Mapped[int] = mapped_column(Integer, default=2)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    kind: Mapped[str] = mapped_column(String(20), default="retail")  # retail | bank
    policy_name: Mapped[str] = mapped_column(String(60), default="standard")  # active gate policy (0006)
    language: Mapped[str] = mapped_column(String(20), default="en")  # language of pitches (0006)
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
    # revision 0006: a login cookie carries this number; a logout, password reset, role change or
    # deactivation advances it, so every cookie issued before is refused.
    token_version: Mapped[int] = mapped_column(Integer, default=0)


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
    status: Mapped[str] = mapped_column(String(20))  # loaded | duplicate | reverted
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
    # revision 0006: an import taken back as a whole
    reverted_by: Mapped[str | None] = mapped_column(String(64))
    reverted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revert_reason: Mapped[str | None] = mapped_column(Text)


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
        Index("ix_transactions_product", "product_id"),  # revision 0003: product families, popularity
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


# --------------------------------------------------------------------------- added in revision 0005


class OverviewSummary(Base):
    """A workspace's Overview figures as of its last transaction date, kept until its next sales import.

    On ten million lines the aggregates take about 40 s; kept here, the Overview
    opens at once for every user and after restarts. ``transactions_batch_id``
    is the newest loaded transactions batch the figures include.
    """

    __tablename__ = "overview_summaries"
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    transactions_batch_id: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[dt.date] = mapped_column(Date)
    kpis_json: Mapped[dict] = mapped_column(JSON)
    months_json: Mapped[list] = mapped_column(JSON)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
