"""One pipeline run: load -> features -> segments -> offers -> audit -> persist.

``run_pipeline`` is what the Run page and ``python -m crm_core run`` call. It
reports progress per stage through a callback, times every stage, and stores
the run all-or-nothing: the run's rows are written in one unit of work, so a
failure leaves earlier runs untouched and marks this one failed with the
reason.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd
from sqlalchemy import select, update

from crm_core.auth import Action, Actor, require
from crm_core.config import Config
from crm_core.errors import NextBestError, PipelineFailed
from crm_core.store import frames
from crm_core.store.audit_log import record_event
from crm_core.store.models import PipelineRun, utc_now
from crm_core.store.run_store import persist_run_results
from crm_core.workspaces import WorkspaceInfo

Progress = Callable[[str, float, str], None]
STAGES = ("load", "features", "segments", "offers", "audit", "persist")


@dataclass(frozen=True)
class RunResult:
    """What one run produced: per-customer rows, offers, and the run's metadata."""

    run_id: int
    run_uuid: str
    as_of: dt.date
    customers: pd.DataFrame  # indexed by customer_id, sorted
    offers: pd.DataFrame
    clusters: pd.DataFrame
    meta: dict = field(default_factory=dict)


def default_as_of(tx: pd.DataFrame) -> dt.date:
    """The date of the last transaction (the CLI's default as-of date)."""
    if tx.empty:
        raise PipelineFailed("There are no transactions in this workspace yet: import a transactions file first.")
    return tx["invoice_date"].max().date()


def _noop(stage: str, fraction: float, message: str) -> None:
    return None


def run_pipeline(db, workspace: WorkspaceInfo, actor: Actor, config: Config, *,
                 as_of: dt.date | None = None, progress: Progress | None = None) -> RunResult:
    """Run every stage over ``workspace`` and store the result.

    Args:
        db: the Database.
        workspace: the workspace to run over.
        actor: who runs it (needs Action.RUN_PIPELINE); recorded on the run.
        config: the composed Config.
        as_of: calendar date; transactions after it are ignored (default: last transaction date).
        progress: called as progress(stage, fraction_done, message).
    Returns:
        RunResult with the run's customers, offers and metadata.
    Raises:
        PermissionDenied, PipelineFailed.
    """
    require(actor, Action.RUN_PIPELINE)
    progress = progress or _noop
    timings: dict[str, float] = {}

    def stage(name: str, message: str):
        progress(name, STAGES.index(name) / len(STAGES), message)
        return time.perf_counter()

    t0 = stage("load", "Reading transactions, customers, products and holdings")
    tx = frames.load_transactions(db, workspace.id)
    as_of = as_of or default_as_of(tx)
    customers_master = frames.load_customers(db, workspace.id, as_of)
    products = frames.load_products(db, workspace.id)
    holdings = frames.load_holdings(db, workspace.id)
    data_hash = frames.data_hash(tx)
    timings["load"] = time.perf_counter() - t0

    run_uuid = str(uuid.uuid4())
    with db.unit_of_work() as s:
        run = PipelineRun(workspace_id=workspace.id, run_uuid=run_uuid, status="running", as_of=as_of,
                          config_json=config.to_dict(), config_hash=config.hash, data_hash=data_hash,
                          created_by=actor.username)
        s.add(run)
        s.flush()
        run_id = run.id
    try:
        result = _compute(tx, customers_master, products, holdings, as_of, config, stage, timings)
        t0 = stage("persist", "Storing the run")
        counts = {"transactions": int(len(tx)), "customers": int(len(result["customers"])),
                  "offers": int(len(result["offers"])), "clusters": int(len(result["clusters"]))}
        with db.unit_of_work() as s:
            persist_run_results(s, workspace.id, run_id, result["customers"], result["offers"],
                                result["clusters"], submitted_by=actor.username)
            timings["persist"] = time.perf_counter() - t0
            s.execute(update(PipelineRun).where(PipelineRun.id == run_id).values(
                status="succeeded", finished_at=utc_now(), counts_json=counts,
                stage_timings_json={k: round(v, 4) for k, v in timings.items()},
                params_json=result["params"], quality_json=result["quality"]))
            record_event(s, actor=actor.username, action="pipeline.run", entity="pipeline_run",
                         entity_id=run_id, after={"as_of": as_of.isoformat(), "counts": counts,
                                                  "config_hash": config.hash, "data_hash": data_hash},
                         workspace_id=workspace.id)
    except Exception as exc:
        _mark_failed(db, run_id, exc)
        if isinstance(exc, NextBestError):
            raise
        raise PipelineFailed(f"The run failed in its {_last_stage(timings)} stage: {exc}") from exc
    progress("persist", 1.0, "Done")
    meta = {"run_id": run_id, "run_uuid": run_uuid, "as_of": as_of.isoformat(), "counts": counts,
            "stage_timings": {k: round(v, 4) for k, v in timings.items()}, "params": result["params"],
            "quality": result["quality"], "config_hash": config.hash, "data_hash": data_hash}
    return RunResult(run_id, run_uuid, as_of, result["customers"], result["offers"], result["clusters"], meta)


def _last_stage(timings: dict) -> str:
    done = [s for s in STAGES if s in timings]
    return STAGES[min(len(done), len(STAGES) - 1)]


def _mark_failed(db, run_id: int, exc: Exception) -> None:
    with db.unit_of_work() as s:
        s.execute(update(PipelineRun).where(PipelineRun.id == run_id).values(
            status="failed", finished_at=utc_now(), error=str(exc)[:2000]))


def _compute(tx, customers_master, products, holdings, as_of, config: Config, stage, timings) -> dict:
    """The pure part of a run: frames in, frames out (no database)."""
    from crm_core.features import customer_features
    from crm_core.recommend.engine import prepare
    from crm_core.segment import segment_customers

    t0 = stage("features", "Computing recency, frequency, monetary and behaviour features")
    features = customer_features(tx, as_of)
    timings["features"] = time.perf_counter() - t0

    t0 = stage("segments", "Scoring RFM segments, clustering, fitting value models")
    seg = segment_customers(features, config.segment, extra=_extra_features(customers_master, holdings, as_of))
    customers = features.join(seg.customers, how="left")
    timings["segments"] = time.perf_counter() - t0

    t0 = stage("offers", "Choosing scenarios and scoring next best offers")
    engine = prepare(tx, customers, products, holdings, as_of=as_of, config=config.recommend)
    offers = engine.offers()
    offers_model = engine.info()
    timings["offers"] = time.perf_counter() - t0

    t0 = stage("audit", "Audit gate")
    offers = offers.assign(audit_score=pd.NA, gate="UNGATED", flags="")
    timings["audit"] = time.perf_counter() - t0
    quality = {"customers_with_offers": int(offers["customer_id"].nunique()) if len(offers) else 0,
               "coverage": round(offers["customer_id"].nunique() / max(len(customers), 1), 6) if len(offers) else 0.0,
               "distinct_products_offered": int(offers["product_id"].nunique()) if len(offers) else 0}
    params = {**seg.params, "offers_model": offers_model, "notes": list(seg.reasons) + offers_model["notes"]}
    return {"customers": customers, "offers": offers, "clusters": _cluster_rows(seg.clusters),
            "params": params, "quality": quality}


def _cluster_rows(clusters: pd.DataFrame) -> pd.DataFrame:
    """Cluster profiles as rows to store: number, size, persona code/name, description, numeric profile."""
    if clusters is None or clusters.empty:
        return pd.DataFrame(columns=["cluster", "size", "persona_code", "persona_name", "description", "profile"])
    numeric = clusters.select_dtypes("number").drop(columns=["size"], errors="ignore").round(6)
    profile = [{k: (None if pd.isna(v) else float(v)) for k, v in row.items()} for row in numeric.to_dict("records")]
    return pd.DataFrame({"cluster": clusters.index.astype(int), "size": clusters["size"].astype(int).to_numpy(),
                         "persona_code": clusters["persona"].astype(str).to_numpy(),
                         "persona_name": clusters["persona_name"].astype(str).to_numpy(),
                         "description": clusters["description"].astype(str).to_numpy(), "profile": profile})


def _extra_features(customers_master: pd.DataFrame, holdings: pd.DataFrame, as_of: dt.date) -> pd.DataFrame | None:
    """Demographics and holdings per customer, for clustering when they are loaded."""
    parts = []
    if customers_master["birth_date"].notna().any():
        age = (pd.Timestamp(as_of) - customers_master["birth_date"]).dt.days / 365.25
        parts.append(pd.DataFrame({"age": age.to_numpy()}, index=customers_master["customer_id"].to_numpy()))
    if len(holdings):
        end = pd.Timestamp(as_of)
        held = holdings[(holdings["opened_at"].isna() | (holdings["opened_at"] <= end))
                        & (holdings["closed_at"].isna() | (holdings["closed_at"] > end))]
        g = held.groupby("customer_id")
        parts.append(pd.DataFrame({"n_holdings": g["product_id"].nunique(), "balance": g["balance"].sum()}))
    if not parts:
        return None
    extra = pd.concat(parts, axis=1)
    extra.index = extra.index.astype("string")
    extra.index.name = "customer_id"
    return extra


def latest_run(db, workspace_id: int) -> dict | None:
    """The newest succeeded run of a workspace as a plain dict, or None."""
    with db.read() as s:
        run = s.scalar(select(PipelineRun).where(PipelineRun.workspace_id == workspace_id,
                                                 PipelineRun.status == "succeeded")
                       .order_by(PipelineRun.id.desc()).limit(1))
        if run is None:
            return None
        return {"id": run.id, "run_uuid": run.run_uuid, "as_of": run.as_of, "created_by": run.created_by,
                "finished_at": run.finished_at, "counts": run.counts_json, "timings": run.stage_timings_json,
                "params": run.params_json, "quality": run.quality_json, "config_hash": run.config_hash}
