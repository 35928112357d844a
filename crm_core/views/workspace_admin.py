"""The read side of the Admin page's Workspaces, Imports and Runs sections; nothing here writes.

One rule lives here because the page shows it and the use case enforces it:
:func:`run_delete_blockers` says why a run may not be deleted (its offers were
decided, exported, put in a campaign or have outcomes, or it is still running).
``crm_core.services.run_admin.delete_run`` asks the same function inside its
unit of work, so what the page says and what the delete does never differ.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select

from crm_core.store.models import (Campaign, CampaignMember, CampaignOffer, Customer, Decision, ImportBatch, Offer,
                                   Outcome, PipelineRun, Transaction, Workspace)

DECIDED_STATES = ("approved", "rejected", "flagged", "exported")
WORKSPACE_COLUMNS = ["id", "name", "kind", "currency", "currency_decimals", "timezone", "customers", "sales_lines",
                     "runs", "created_at"]
BATCH_COLUMNS = ["id", "kind", "source", "status", "rows_loaded", "created_by", "created_at", "reverted_by",
                 "reverted_at", "revert_reason"]
RUN_COLUMNS = ["id", "status", "as_of", "created_by", "started_at", "offers", "settings_version", "stale_reason",
               "deletable", "why_not"]


def workspace_table(db) -> pd.DataFrame:
    """Every workspace with its settings and how much it holds (``WORKSPACE_COLUMNS``), by name."""
    with db.read() as s:
        rows = s.execute(select(Workspace.id, Workspace.name, Workspace.kind, Workspace.currency,
                                Workspace.currency_decimals, Workspace.timezone, Workspace.created_at)
                         .order_by(Workspace.name)).all()
        customers = dict(s.execute(select(Customer.workspace_id, func.count()).group_by(Customer.workspace_id)).all())
        lines = dict(s.execute(select(Transaction.workspace_id, func.count())
                               .group_by(Transaction.workspace_id)).all())
        runs = dict(s.execute(select(PipelineRun.workspace_id, func.count()).group_by(PipelineRun.workspace_id)).all())
    frame = pd.DataFrame(rows, columns=["id", "name", "kind", "currency", "currency_decimals", "timezone",
                                        "created_at"])
    for col, counts in (("customers", customers), ("sales_lines", lines), ("runs", runs)):
        frame[col] = pd.array([int(counts.get(i, 0)) for i in frame["id"]], dtype="int64")
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame[WORKSPACE_COLUMNS].astype({"id": "int64", "currency_decimals": "int64"})


def import_batch_table(db, workspace_id: int) -> pd.DataFrame:
    """The workspace's imports, newest first (``BATCH_COLUMNS``); duplicates are listed with status ``duplicate``."""
    b = ImportBatch
    with db.read() as s:
        rows = s.execute(select(b.id, b.kind, b.source_name, b.status, b.rows_loaded, b.created_by, b.created_at,
                                b.reverted_by, b.reverted_at, b.revert_reason)
                         .where(b.workspace_id == workspace_id).order_by(b.id.desc())).all()
    frame = pd.DataFrame(rows, columns=BATCH_COLUMNS)
    for col in ("created_at", "reverted_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame.astype({"id": "int64", "rows_loaded": "int64"})


def run_table(db, workspace_id: int) -> pd.DataFrame:
    """The workspace's runs, newest first (``RUN_COLUMNS``), each with whether it may be deleted and why not."""
    r = PipelineRun
    with db.read() as s:
        rows = s.execute(select(r.id, r.status, r.as_of, r.created_by, r.started_at, r.settings_version,
                                r.stale_reason).where(r.workspace_id == workspace_id).order_by(r.id.desc())).all()
        ids = [row.id for row in rows]
        offers = dict(s.execute(select(Offer.run_id, func.count()).where(Offer.run_id.in_(ids))
                                .group_by(Offer.run_id)).all()) if ids else {}
        blockers = run_delete_blockers(s, ids)
    frame = pd.DataFrame({
        "id": pd.array(ids, dtype="int64"),
        "status": pd.array([row.status for row in rows], dtype="string"),
        "as_of": pd.to_datetime(pd.Series([row.as_of for row in rows], dtype=object)),
        "created_by": pd.array([row.created_by for row in rows], dtype="string"),
        "started_at": pd.to_datetime(pd.Series([row.started_at for row in rows], dtype=object), utc=True),
        "offers": pd.array([int(offers.get(i, 0)) for i in ids], dtype="int64"),
        "settings_version": pd.array([row.settings_version for row in rows], dtype="Int64"),
        "stale_reason": pd.array([row.stale_reason for row in rows], dtype="string"),
        "deletable": pd.array([i not in blockers for i in ids], dtype="bool"),
        "why_not": pd.array([blockers.get(i) for i in ids], dtype="string"),
    })
    return frame[RUN_COLUMNS]


def run_delete_blockers(session, run_ids: list[int]) -> dict[int, str]:
    """Why each run of ``run_ids`` may not be deleted (runs missing from the result may be).

    A run stays when it is still running, or when any of its offers was decided (approved,
    rejected, flagged; an undone decision counts too), exported, put in a campaign or linked
    to an outcome: those are the records of what was sent and why.

    Args:
        session: an open session (the use case's own, so the answer holds for its transaction).
    Returns:
        ``{run_id: "12 offers decided or exported; in campaign #3"}``.
    """
    ids = [int(i) for i in run_ids]
    if not ids:
        return {}
    reasons: dict[int, list[str]] = {}

    def add(run_id, text):
        reasons.setdefault(int(run_id), []).append(text)

    for run_id, in session.execute(select(PipelineRun.id).where(PipelineRun.id.in_(ids),
                                                                 PipelineRun.status == "running")):
        add(run_id, "it is still running")
    for run_id, n in session.execute(select(Offer.run_id, func.count()).where(
            Offer.run_id.in_(ids), Offer.state.in_(DECIDED_STATES)).group_by(Offer.run_id)):
        add(run_id, f"{n:,} of its offers were decided or exported")
    for run_id, n in session.execute(select(Offer.run_id, func.count(func.distinct(Decision.offer_id)))
                                     .join(Decision, Decision.offer_id == Offer.id)
                                     .where(Offer.run_id.in_(ids), Offer.state.not_in(DECIDED_STATES))
                                     .group_by(Offer.run_id)):
        add(run_id, f"{n:,} of its offers had a decision that was undone")
    in_campaign = (select(Offer.run_id, CampaignOffer.campaign_id.label("campaign"))
                   .join(CampaignOffer, CampaignOffer.offer_id == Offer.id).where(Offer.run_id.in_(ids))
                   .union(select(Offer.run_id, CampaignMember.campaign_id)
                          .join(CampaignMember, CampaignMember.offer_id == Offer.id).where(Offer.run_id.in_(ids)),
                          select(Campaign.run_id, Campaign.id).where(Campaign.run_id.in_(ids)))).subquery()
    campaigns: dict[int, list[int]] = {}
    for run_id, campaign in session.execute(select(in_campaign.c.run_id, in_campaign.c.campaign).distinct()):
        campaigns.setdefault(int(run_id), []).append(int(campaign))
    for run_id, found in campaigns.items():
        add(run_id, "it is used by campaign " + ", ".join(f"#{c}" for c in sorted(found)))
    for run_id, n in session.execute(select(Offer.run_id, func.count()).join(Outcome, Outcome.offer_id == Offer.id)
                                     .where(Offer.run_id.in_(ids)).group_by(Offer.run_id)):
        add(run_id, f"{n:,} outcomes are linked to its offers")
    return {run_id: "; ".join(texts) for run_id, texts in reasons.items()}
