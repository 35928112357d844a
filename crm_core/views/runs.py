"""The read side of stored pipeline runs: history, per-customer results, clusters, comparisons.

Everything comes back as DataFrames or frozen dataclasses (never live ORM
objects), read with set-based SQL. Money is in major units (float). The
write side is :mod:`crm_core.services.pipeline` / :mod:`crm_core.store.run_store`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from crm_core.errors import NotFound
from crm_core.segment.cluster import project_2d
from crm_core.segment.rfm import segment_labels
from crm_core.segment.value import value_notes
from crm_core.store.frames import minor_factor
from crm_core.store.models import Customer, PipelineRun, RunCluster, RunCustomer, Transaction

SUCCEEDED = "succeeded"
RUN_CUSTOMER_COLUMNS = (
    "name", "first_name", "last_name", "region", "city", "first_purchase", "last_purchase", "recency_days",
    "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_segment", "segment", "cluster",
    "persona_name", "expected_purchases", "clv", "p_alive", "churn_score", "churn_risk",
)


class RunNotFound(NotFound):
    """A pipeline run that was asked for does not exist (in this workspace)."""


@dataclass(frozen=True)
class RunInfo:
    """One stored pipeline run, as pages and scripts see it."""

    id: int
    workspace_id: int
    run_uuid: str
    status: str
    as_of: dt.date
    created_by: str
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    config_hash: str
    data_hash: str
    counts: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    error: str | None = None
    contact_date: dt.date | None = None
    policy_name: str | None = None
    policy_version: int | None = None
    quality: dict = field(default_factory=dict)  # the audit gate's run quality (crm_core.gate.run_quality)
    settings_version: int | None = None
    stale_reason: str | None = None

    @property
    def policy_label(self) -> str | None:
        """``standard v1``: the gating policy the run's offers were judged by (None before the gate existed)."""
        return None if self.policy_name is None else f"{self.policy_name} v{self.policy_version}"

    @property
    def quality_level(self) -> str | None:
        """EXCELLENT, GOOD, ACCEPTABLE or POOR (None for a run without the gate)."""
        return self.quality.get("level")

    @property
    def succeeded(self) -> bool:
        """Whether the run finished and stored its results."""
        return self.status == SUCCEEDED

    @property
    def notes(self) -> tuple[str, ...]:
        """Why a model was not fitted or a step was simplified (from the segment stage)."""
        return tuple(self.params.get("notes") or ())

    @property
    def value_model_note(self) -> str | None:
        """Why CLV / P(alive) are missing in this run, or None when the value models were fitted."""
        notes = value_notes(self.notes)
        return "; ".join(notes) if notes else None

    @property
    def label(self) -> str:
        """A short name for pickers: ``#12 · as of 2024-03-28 · by ann``."""
        text = f"#{self.id} · as of {self.as_of:%Y-%m-%d} · by {self.created_by}"
        if not self.succeeded:
            return f"{text} ({self.status})"
        return f"{text} (stale: an import it used was taken back)" if self.stale_reason else text


def _info(run: PipelineRun) -> RunInfo:
    return RunInfo(run.id, run.workspace_id, run.run_uuid, run.status, run.as_of, run.created_by, run.started_at,
                   run.finished_at, run.config_hash, run.data_hash, dict(run.counts_json or {}),
                   dict(run.stage_timings_json or {}), dict(run.params_json or {}), run.error, run.contact_date,
                   run.policy_name, run.policy_version, dict(run.quality_json or {}), run.settings_version,
                   run.stale_reason)


def get_run(db, run_id: int, *, workspace_id: int | None = None) -> RunInfo:
    """The run ``run_id`` (RunNotFound when it does not exist, or belongs to another workspace)."""
    with db.read() as s:
        run = s.get(PipelineRun, int(run_id))
        if run is None or (workspace_id is not None and run.workspace_id != workspace_id):
            raise RunNotFound(f"There is no pipeline run #{run_id} in this workspace; pick one from the run list.")
        return _info(run)


def latest_run(db, workspace_id: int, *, any_status: bool = False) -> RunInfo | None:
    """The workspace's newest succeeded run (with ``any_status``: its newest run, whatever became of it).

    The one place that decides which run is "the latest"; None when there is none.
    """
    with db.read() as s:
        stmt = select(PipelineRun).where(PipelineRun.workspace_id == workspace_id)
        if not any_status:
            stmt = stmt.where(PipelineRun.status == SUCCEEDED)
        run = s.scalar(stmt.order_by(PipelineRun.id.desc()).limit(1))
        return None if run is None else _info(run)


def latest_run_id(db, workspace_id: int) -> int | None:
    """Id of the workspace's newest succeeded run (None when there is none)."""
    run = latest_run(db, workspace_id)
    return None if run is None else run.id


def succeeded_runs(db, workspace_id: int) -> list[RunInfo]:
    """The workspace's succeeded runs, newest first (what the run pickers offer)."""
    with db.read() as s:
        runs = s.scalars(select(PipelineRun).where(PipelineRun.workspace_id == workspace_id,
                                                   PipelineRun.status == SUCCEEDED)
                         .order_by(PipelineRun.id.desc()))
        return [_info(r) for r in runs]


def list_runs(db, workspace_id: int) -> pd.DataFrame:
    """The run history of a workspace, newest first.

    Returns:
        One row per run: ``id, as_of, status, created_by, started_at,
        finished_at, seconds`` (wall time), ``customers, offers, clusters,
        transactions`` (Int64 counts, <NA> for a run that did not finish),
        ``method, k`` (clustering), ``timings`` (seconds per stage as text),
        ``contact_date``, ``policy`` (``standard v1``), ``quality`` (the gate's level),
        ``coverage, high_score_share, error_rate`` (Float64 shares), ``stale`` (why the run is
        out of date, <NA> when it is not), ``config_hash, data_hash, error``.
    """
    with db.read() as s:
        runs = [_info(r) for r in s.scalars(select(PipelineRun).where(PipelineRun.workspace_id == workspace_id)
                                            .order_by(PipelineRun.id.desc()))]
    counts = pd.DataFrame([r.counts for r in runs], columns=["customers", "offers", "clusters", "transactions"])
    started = pd.to_datetime(pd.Series([r.started_at for r in runs], dtype=object), utc=True)
    finished = pd.to_datetime(pd.Series([r.finished_at for r in runs], dtype=object), utc=True)
    frame = pd.DataFrame({
        "id": pd.array([r.id for r in runs], dtype="int64"),
        "as_of": pd.to_datetime(pd.Series([r.as_of for r in runs], dtype=object)),
        "status": pd.array([r.status for r in runs], dtype="string"),
        "created_by": pd.array([r.created_by for r in runs], dtype="string"),
        "started_at": started,
        "finished_at": finished,
        "seconds": (finished - started).dt.total_seconds().round(2),
    })
    for col in counts.columns:
        frame[col] = counts[col].astype("Int64").to_numpy()
    clustering = [r.params.get("clustering") or {} for r in runs]
    frame["method"] = pd.array([c.get("method") for c in clustering], dtype="string")
    frame["k"] = pd.array([c.get("k") for c in clustering], dtype="Int64")
    frame["timings"] = pd.array([_timings_text(r.timings) for r in runs], dtype="string")
    frame["contact_date"] = pd.to_datetime(pd.Series([r.contact_date for r in runs], dtype=object))
    frame["policy"] = pd.array([r.policy_label for r in runs], dtype="string")
    frame["quality"] = pd.array([r.quality_level for r in runs], dtype="string")
    frame["stale"] = pd.array([r.stale_reason for r in runs], dtype="string")
    for col in ("coverage", "high_score_share", "error_rate"):
        frame[col] = pd.array([r.quality.get(col) for r in runs], dtype="Float64")
    for col in ("config_hash", "data_hash", "error"):
        frame[col] = pd.array([getattr(r, col) for r in runs], dtype="string")
    return frame


def _timings_text(timings: dict) -> str:
    return " · ".join(f"{stage} {seconds:.2f}s" for stage, seconds in timings.items())


def run_customers(db, run_id: int) -> pd.DataFrame:
    """Every customer of a run with its scores, segment, cluster, persona and value.

    Returns:
        A frame indexed by ``customer_id`` (the customer's code, sorted) with
        the columns of ``RUN_CUSTOMER_COLUMNS``: master data (``name`` is first
        and last name), RFM values (``monetary`` in major units) and scores,
        ``rfm_segment`` (code) and ``segment`` (label), ``cluster`` (Int64)
        and ``persona_name``, ``expected_purchases, clv, p_alive,
        churn_score`` (Float64, <NA> when the model was not fitted) and
        ``churn_risk``.
    Raises:
        RunNotFound.
    """
    run = get_run(db, run_id)
    rc, c, cl = RunCustomer, Customer, RunCluster
    stmt = (
        select(c.customer_code.label("customer_id"), c.first_name, c.last_name, c.region, c.city,
               rc.first_purchase, rc.last_purchase, rc.recency_days, rc.frequency, rc.monetary_minor, rc.r_score,
               rc.f_score, rc.m_score, rc.rfm_segment, rc.cluster, cl.persona_name, rc.expected_purchases, rc.clv,
               rc.p_alive, rc.features_json["churn_score"].as_float().label("churn_score"), rc.churn_risk)
        .join(c, c.id == rc.customer_id)
        .outerjoin(cl, (cl.run_id == rc.run_id) & (cl.cluster == rc.cluster))
        .where(rc.run_id == run.id)
        .order_by(c.customer_code)
    )
    with db.read() as s:
        factor = minor_factor(s, run.workspace_id)
        frame = pd.DataFrame(s.execute(stmt).all(), columns=list(stmt.selected_columns.keys()))
    return _typed(frame, factor)


def _typed(frame: pd.DataFrame, factor: int) -> pd.DataFrame:
    """Give the raw query result the dtypes of docs/contracts.md."""
    for col in ("customer_id", "first_name", "last_name", "region", "city", "rfm_segment", "persona_name",
                "churn_risk"):
        frame[col] = frame[col].astype("string")
    for col in ("first_purchase", "last_purchase"):
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
    for col in ("recency_days", "frequency"):
        frame[col] = frame[col].astype("int64")
    frame["monetary"] = frame.pop("monetary_minor").astype("float64") / factor
    for col in ("r_score", "f_score", "m_score", "cluster"):
        frame[col] = frame[col].astype("Int64")
    for col in ("expected_purchases", "clv", "p_alive", "churn_score"):
        frame[col] = pd.to_numeric(frame[col]).astype("Float64")
    frame["segment"] = segment_labels(frame["rfm_segment"]).where(frame["rfm_segment"].notna())
    name = frame["first_name"].fillna("").str.cat(frame["last_name"].fillna(""), sep=" ").str.strip()
    frame["name"] = name.mask(name == "")
    return frame.set_index("customer_id")[list(RUN_CUSTOMER_COLUMNS)]


def run_clusters(db, run_id: int) -> pd.DataFrame:
    """The clusters of a run with their personas.

    Returns:
        A frame indexed by ``cluster`` with ``size, share, persona_code,
        persona_name, description`` and the stored profile (``median_*`` and
        ``z_*`` columns, float64).
    Raises:
        RunNotFound.
    """
    run = get_run(db, run_id)
    with db.read() as s:
        rows = s.execute(select(RunCluster).where(RunCluster.run_id == run.id).order_by(RunCluster.cluster)).scalars()
        rows = [(r.cluster, r.size, r.persona_code, r.persona_name, r.description, dict(r.profile_json or {}))
                for r in rows]
    frame = pd.DataFrame({
        "cluster": pd.array([r[0] for r in rows], dtype="int64"),
        "size": pd.array([r[1] for r in rows], dtype="int64"),
        "persona_code": pd.array([r[2] for r in rows], dtype="string"),
        "persona_name": pd.array([r[3] for r in rows], dtype="string"),
        "description": pd.array([r[4] for r in rows], dtype="string"),
    })
    total = frame["size"].sum()
    frame["share"] = frame["size"] / total if total else 0.0
    profile = pd.DataFrame([r[5] for r in rows]).drop(columns=["share", "size"], errors="ignore")
    frame = pd.concat([frame, profile.astype("float64")], axis=1) if len(profile.columns) else frame
    return frame.set_index("cluster")


def cluster_points(db, run_id: int, *, sample: int = 5_000, seed: int = 42) -> pd.DataFrame:
    """A seeded sample of a run's customers on a 2-D projection of their behaviour features.

    Reads only the sampled customers' stored features, so it stays quick on
    big runs. The projection is a PCA of the clustering features as stored
    with the run (demographic and holdings columns of a bank are not stored
    per customer, so they are not part of the picture).

    Returns:
        ``crm_core.segment.cluster.project_2d`` output: indexed by customer_id
        with ``x, y, cluster``.
    """
    run = get_run(db, run_id)
    rc = RunCustomer
    with db.read() as s:
        keys = s.execute(select(rc.id).where(rc.run_id == run.id).order_by(rc.customer_id)).scalars().all()
        keys = np.asarray(keys, dtype="int64")
        if len(keys) > sample:
            keys = np.sort(np.random.default_rng(seed).choice(keys, size=sample, replace=False))
        rows = []
        for start in range(0, len(keys), 5_000):
            chunk = [int(k) for k in keys[start:start + 5_000]]
            rows += s.execute(select(Customer.customer_code, rc.recency_days, rc.frequency, rc.monetary_minor,
                                     rc.cluster, rc.features_json).join(Customer, Customer.id == rc.customer_id)
                              .where(rc.id.in_(chunk))).all()
    if not rows:
        return pd.DataFrame({"x": [], "y": [], "cluster": pd.array([], dtype="Int64")},
                            index=pd.Index([], dtype="string", name="customer_id"))
    extra = pd.DataFrame([r[5] or {} for r in rows]).drop(columns=["churn_score"], errors="ignore")
    features = pd.concat([
        pd.DataFrame({"recency_days": [r[1] for r in rows], "frequency": [r[2] for r in rows],
                      "monetary": [r[3] for r in rows]}, dtype="float64"),
        extra.astype("float64")], axis=1)
    features.index = pd.Index([r[0] for r in rows], dtype="string", name="customer_id")
    features = features.sort_index()
    labels = pd.Series(pd.array([r[4] for r in rows], dtype="Int64"),
                       index=pd.Index([r[0] for r in rows], dtype="string")).reindex(features.index)
    return project_2d(features, labels, sample=len(features), seed=seed)


def run_count(db, workspace_id: int) -> int:
    """How many runs (of any status) the workspace has: a cheap cache key for pages."""
    with db.read() as s:
        return int(s.scalar(select(func.count(PipelineRun.id)).where(PipelineRun.workspace_id == workspace_id)))


def as_of_bounds(db, workspace_id: int) -> tuple[dt.date | None, dt.date | None]:
    """Calendar dates of the workspace's first and last transaction (the sensible as-of range)."""
    with db.read() as s:
        first, last = s.execute(select(func.min(Transaction.invoice_date), func.max(Transaction.invoice_date))
                                .where(Transaction.workspace_id == workspace_id)).one()
    return tuple(None if v is None else pd.Timestamp(v).date() for v in (first, last))
