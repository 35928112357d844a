"""Models of pipeline runs and what they compute per customer and per cluster."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Date, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.store.models.base import Base, utc_now
from crm_core.store.models.base import ws_fk as _ws_fk

__all__ = ['PipelineRun', 'RunCustomer', 'RunCluster']


# --------------------------------------------------------------------------- pipeline runs


class PipelineRun(Base):
    """One pipeline run over a workspace as of a date: stored all-or-nothing."""

    __tablename__ = "pipeline_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    run_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(20))  # running | succeeded | failed | stopped | interrupted
    as_of: Mapped[dt.date] = mapped_column(Date)
    contact_date: Mapped[dt.date | None] = mapped_column(Date)  # contact rules judged as of this day (revision 0006)
    policy_name: Mapped[str | None] = mapped_column(String(60))  # the gate policy of the run (revision 0006)
    policy_version: Mapped[int | None] = mapped_column(Integer)
    settings_version: Mapped[int | None] = mapped_column(Integer)  # saved settings version used, None: defaults/file
    stale_reason: Mapped[str | None] = mapped_column(Text)  # set when an import it was built on is taken back
    runner: Mapped[str | None] = mapped_column(String(200))  # host:pid of the process running it (0006)
    config_json: Mapped[dict] = mapped_column(JSON)
    config_hash: Mapped[str] = mapped_column(String(64))
    data_hash: Mapped[str] = mapped_column(String(64))
    counts_json: Mapped[dict | None] = mapped_column(JSON)
    stage_timings_json: Mapped[dict | None] = mapped_column(JSON)
    params_json: Mapped[dict | None] = mapped_column(JSON)  # fitted model parameters
    quality_json: Mapped[dict | None] = mapped_column(JSON)
    families_json: Mapped[dict | None] = mapped_column(JSON)  # product key -> family the run used (revision 0009)
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
