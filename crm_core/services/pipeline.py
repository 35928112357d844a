"""One pipeline run: load -> features -> segments -> offers -> audit gate -> persist.

``run_pipeline`` is what the Run page and ``python -m crm_core run`` call. It
reports progress per stage through a callback, times every stage, and stores
the run all-or-nothing: the run's rows are written in one unit of work, so a
failure leaves earlier runs untouched and marks this one failed with the
reason (its lifecycle, one run at a time per workspace and runs never left
``running``, is :mod:`crm_core.services.run_lifecycle`).

Two dates: the **as-of date** cuts the sales data (lines on or before it
count); the **contact date** is the day the offers will be used (today in
the workspace's time zone unless pinned), and the gate's contact rules —
consent, do-not-contact, the silence window, recent exports — judge each
customer as they stand on it.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import update

from crm_core.auth import Action, Actor, require
from crm_core.config import Config
from crm_core.errors import NextBestError, PipelineFailed, ValidationError
from crm_core.gate import Policy
from crm_core.memory import release_freed
from crm_core.progress import Progress, no_progress
from crm_core.services.run_compute import compute_run
from crm_core.services.run_lifecycle import finish_failed, finish_stopped, start_run
from crm_core.store import frames
from crm_core.store.audit_log import record_event
from crm_core.store.contact_history import read_exported_offers
from crm_core.store.models import PipelineRun, utc_now
from crm_core.store.run_store import persist_run_results
from crm_core.views.workspaces import WorkspaceInfo, today_in
from crm_core.workflow.policies import active_policy

STAGES = ("load", "features", "segments", "offers", "audit", "persist")


class AsOfOutOfRange(ValidationError):
    """The as-of date lies before the first sale or too long after the last one."""


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


def check_as_of(tx: pd.DataFrame, as_of: dt.date, margin_days: int) -> None:
    """Refuse an as-of date before the first sale, or more than ``margin_days`` after the last line.

    Raises:
        AsOfOutOfRange: naming the data's date range and what to choose.
    """
    sales = tx.loc[~tx["is_return"].to_numpy(dtype=bool) & tx["customer_id"].notna().to_numpy(dtype=bool),
                   "invoice_date"]
    if sales.empty:
        raise PipelineFailed("There is no customer sale in this workspace yet: import a transactions file with "
                             "customer ids first.")
    first, last = sales.min().date(), tx["invoice_date"].max().date()
    latest = last + dt.timedelta(days=margin_days)
    if as_of < first or as_of > latest:
        raise AsOfOutOfRange(
            f"The as-of date {as_of:%d %b %Y} is outside the data: sales run from {first:%d %b %Y} to "
            f"{last:%d %b %Y}. Choose a date from {first:%d %b %Y} to {latest:%d %b %Y} "
            f"(at most {margin_days} days after the last sale; [pipeline] as_of_margin_days).")


def run_pipeline(db, workspace: WorkspaceInfo, actor: Actor, config: Config, *, as_of: dt.date | None = None,
                 contact_date: dt.date | None = None, policy: Policy | None = None,
                 settings_version: int | None = None, progress: Progress | None = None) -> RunResult:
    """Run every stage over ``workspace`` and store the result.

    Args:
        db: the Database.
        workspace: the workspace to run over.
        actor: who runs it (needs Action.RUN_PIPELINE); recorded on the run and as submitter of its offers.
        config: the composed Config.
        as_of: calendar date; transactions after it are ignored (default: last transaction date).
        contact_date: the day the offers will be used (default: today in the workspace's time zone).
        policy: the gating policy (default: the workspace's active policy).
        settings_version: the saved settings version ``config`` is (None: the defaults or a file);
            recorded on the run.
        progress: a :data:`crm_core.progress.Progress` (fraction done, message naming the stage).
    Returns:
        RunResult with the run's customers, gated offers and metadata.
    Raises:
        PermissionDenied, AsOfOutOfRange, RunInProgress, PipelineFailed.
    """
    require(actor, Action.RUN_PIPELINE)
    progress = progress or no_progress
    policy = policy or active_policy(db, workspace.id, config)
    timings: dict[str, float] = {}

    def stage(name: str, message: str):
        step = STAGES.index(name)
        progress(step / len(STAGES), f"{step + 1}/{len(STAGES)} {name}: {message}")
        return time.perf_counter()

    t0 = stage("load", "Reading transactions, customers, products and holdings")
    # SQLite builds the lines' text in C and Arrow parses it: most of a core stays free meanwhile, so a
    # second thread reads the customers, then hashes the lines while the rest is read.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="load") as worker:
        customer_table = worker.submit(frames.read_customer_table, db, workspace.id)
        tx = frames.read_transactions(db, workspace.id)
        hashed = worker.submit(frames.data_hash, tx)
        as_of = as_of or default_as_of(tx)
        check_as_of(tx, as_of, config.pipeline.as_of_margin_days)
        contact_date = contact_date or today_in(workspace)
        master, at_contact = frames.customers_as_of(customer_table.result(), [as_of, contact_date])
        inputs = {"tx": tx, "customers_master": master, "customers_at_contact": at_contact,
                  "products": frames.read_products(db, workspace.id),
                  "holdings": frames.read_holdings(db, workspace.id),
                  "previous_exports": read_exported_offers(db, workspace.id)}
        data_hash = hashed.result()
        del customer_table
    release_freed()  # what reading the lines needed and no longer does
    timings["load"] = time.perf_counter() - t0

    run_uuid = str(uuid.uuid4())
    run_id = start_run(db, PipelineRun(
        workspace_id=workspace.id, run_uuid=run_uuid, as_of=as_of, contact_date=contact_date,
        policy_name=policy.name, policy_version=policy.version, config_json=config.to_dict(),
        config_hash=config.hash, data_hash=data_hash, created_by=actor.username, settings_version=settings_version))
    lines = int(len(tx))
    del tx, master, at_contact  # compute_run takes the lines out of `inputs` and lets them go once coded
    try:
        result = compute_run(inputs, as_of=as_of, contact_date=contact_date, config=config, policy=policy,
                             stage=stage, timings=timings)
        del inputs
        release_freed()
        t0 = stage("persist", "Storing the run")
        counts = {"transactions": lines, "customers": int(len(result["customers"])),
                  "offers": int(len(result["offers"])), "clusters": int(len(result["clusters"]))}
        with db.unit_of_work(bulk=True) as s:  # the log's copy into the file is left to a thread
            families = persist_run_results(s, workspace.id, run_id, result["customers"], result["offers"],
                                           result["clusters"], submitted_by=actor.username)
            timings["persist"] = time.perf_counter() - t0
            s.execute(update(PipelineRun).where(PipelineRun.id == run_id).values(
                status="succeeded", finished_at=utc_now(), counts_json=counts,
                stage_timings_json={k: round(v, 4) for k, v in timings.items()},
                params_json=result["params"], quality_json=result["quality"], families_json=families))
            record_event(s, actor=actor, action="pipeline.run", entity="pipeline_run", entity_id=run_id,
                         after={"as_of": as_of.isoformat(), "contact_date": contact_date.isoformat(),
                                "policy": {"name": policy.name, "version": policy.version}, "counts": counts,
                                "config_hash": config.hash, "data_hash": data_hash},
                         workspace_id=workspace.id)
    except Exception as exc:
        finish_failed(db, run_id, exc, _current_stage(timings))
        if isinstance(exc, NextBestError):
            raise
        raise PipelineFailed(f"The run failed in its {_current_stage(timings)} stage: {exc}. The details are in "
                             "the log (Admin page).") from exc
    except BaseException as exc:  # the page was left, Ctrl-C, shutdown: not an error, but the run did not finish
        finish_stopped(db, run_id, exc, _current_stage(timings))
        raise
    release_freed()  # the stored rows' Python values and the database's caches, before the caller writes files
    progress(1.0, "Done")
    meta = {"run_id": run_id, "run_uuid": run_uuid, "as_of": as_of.isoformat(),
            "contact_date": contact_date.isoformat(), "policy": {"name": policy.name, "version": policy.version},
            "counts": counts, "stage_timings": {k: round(v, 4) for k, v in timings.items()},
            "params": result["params"], "quality": result["quality"], "config_hash": config.hash,
            "settings_version": settings_version, "data_hash": data_hash}
    return RunResult(run_id, run_uuid, as_of, result["customers"], result["offers"], result["clusters"], meta)


def _current_stage(timings: dict) -> str:
    done = [s for s in STAGES if s in timings]
    return STAGES[min(len(done), len(STAGES) - 1)]
