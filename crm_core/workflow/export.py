"""Exporting a campaign (a manager's step): consent checked again, the holdout drawn, the files written.

One unit of work does it all. The campaign's row is locked (``SELECT ... FOR
UPDATE`` on PostgreSQL; SQLite's unit of work holds the writer lock), every
offer's state and gate are read again (an offer rejected or blocked since it
was added is left out and taken off the campaign), customers who have opted
out of email or are do-not-contact on the export day are excluded, the
holdout is drawn among the rest (:mod:`crm_core.outcomes.holdout`), the
files are written, and only then is everything committed: the members and
their groups, the exported offers (state ``exported``, version + 1), each
contacted customer's ``last_contacted_at`` (so the gate's silence window
sees it next time), the campaign's state and the audit events. If a file
cannot be written nothing is committed; if the commit fails the files are
removed. What does not change (names, products, explanations) is read just
before the lock, so the writer lock is held for the decision, the writes
and the files only: about four fifths of the export's time, of which the
audit events (one per exported offer) are some 40 %. Measured on the 2-core
machine: 25,650 offers, 4 s in all when quiet; 256,500 offers, about 60 s
under load, during which other writers on SQLite wait and give up after
their 30 s busy timeout.

The export day is the later of today in UTC and today in the workspace's
time zone, so that a consent change stamped at any moment up to now counts.

A campaign is exported once. Exporting it again writes the file again from
the stored groups (the offers exported then, the pitches as they stood then,
the customers' current contact details), changes nothing and records a
``campaign.downloaded`` event; customers who have opted out or become
do-not-contact since are left out of that file too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import select

from crm_core.auth import Action, Actor, require
from crm_core.errors import NotFound, ValidationError
from crm_core.store.audit_log import record_event
from crm_core.store.frames import read_customers
from crm_core.store.models import Campaign, CampaignOffer, Offer, Workspace
from crm_core.views.campaigns import EXPORTED, campaign_members, campaign_offers, evidence_rows, newest_pitches
from crm_core.workflow.export_files import StagedFiles, file_bytes, file_kind, mailing_rows
from crm_core.workflow.export_plan import EXCLUSION_LABELS, ExportPlan, plan_export, record_export


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote and decided.

    Attributes:
        campaign_id: the campaign.
        files: the files written.
        offers: offers in the files; customers: customers in them (the treatment group).
        held_out: customers in the holdout group.
        excluded: excluded customers by reason code (OPTED_OUT, DO_NOT_CONTACT, NO_APPROVED_OFFER).
        withdrawn: offers taken off the campaign at export, by reason (NOT_APPROVED, BLOCKED).
        first_export: False when the campaign had been exported before (the file was written again).
        left_out_since: treatment customers left out of a repeated export because their consent changed.
    """

    campaign_id: int
    files: tuple[Path, ...]
    offers: int
    customers: int
    held_out: int
    excluded: dict = field(default_factory=dict)
    withdrawn: dict = field(default_factory=dict)
    first_export: bool = True
    left_out_since: int = 0

    @property
    def summary(self) -> str:
        """One line: ``Exported N offers to M customers (K held out, E excluded: ...)``."""
        total = sum(self.excluded.values())
        reasons = ", ".join(f"{n} {EXCLUSION_LABELS.get(code, code)}" for code, n in sorted(self.excluded.items()))
        text = (f"Exported {self.offers} offers to {self.customers} customers ({self.held_out} held out, "
                f"{total} excluded{': ' + reasons if total else ''})")
        if self.withdrawn:
            text += f"; {sum(self.withdrawn.values())} offers no longer approved or now blocked were left out"
        if not self.first_export:
            text += "; written again from the groups of the first export, nothing changed"
            if self.left_out_since:
                text += f" ({self.left_out_since} customers who withdrew consent since were left out)"
        return text + "."


def export_campaign(db, actor: Actor, campaign_id: int, path: str | Path) -> ExportResult:
    """Export a campaign to one file: CSV (the mailing list) or Excel (the mailing list and the evidence pack).

    Args:
        db: the Database.
        actor: who exports (needs Action.EXPORT_CAMPAIGN: manager and up).
        campaign_id: the campaign.
        path: where to write; the suffix (``.csv`` or ``.xlsx``) chooses the format.
    Returns:
        The :class:`ExportResult`.
    Raises:
        PermissionDenied, NotFound, ValidationError (a bad suffix, a file that cannot be written,
        nothing left to export).
    """
    return export_campaign_files(db, actor, campaign_id, [path])


def export_campaign_files(db, actor: Actor, campaign_id: int, paths: Sequence[str | Path]) -> ExportResult:
    """:func:`export_campaign` writing several files (e.g. a CSV and a workbook) in one unit of work."""
    require(actor, Action.EXPORT_CAMPAIGN)
    targets = [(Path(p), file_kind(p)) for p in paths]
    if not targets:
        raise ValidationError("Give at least one file to export the campaign to (.csv or .xlsx).")
    # Read before the lock, to hold the writer lock shorter (a third of a 300k-offer export): names, products
    # and explanations do not change; states and gates are read again under the lock.
    offers = campaign_offers(db, campaign_id)
    files = StagedFiles()
    try:
        with db.unit_of_work() as s:
            campaign = s.scalar(select(Campaign).where(Campaign.id == int(campaign_id)).with_for_update())
            if campaign is None:
                raise NotFound(f"There is no campaign #{campaign_id}: see the Campaigns page for the workspace's "
                               "campaigns.")
            now = dt.datetime.now(dt.timezone.utc)
            day = _export_day(s.get(Workspace, campaign.workspace_id), now)
            kinds = [kind for _, kind in targets]
            if campaign.state == EXPORTED:
                result, mailing, evidence = _again(db, s, actor, campaign, day, kinds, offers)
            else:
                plan = plan_export(db, s, campaign, day, offers)
                record_export(s, actor, campaign, plan, now, kinds)
                mailing, evidence = _frames(db, campaign.id, plan.treatment_offers, plan.customers, None)
                result = _result(campaign.id, plan)
            for target, kind in targets:
                files.stage(target, file_bytes(kind, mailing, evidence))
            files.publish()
    except BaseException:
        files.discard()
        raise
    return dataclasses.replace(result, files=tuple(t for t, _ in targets))


def _export_day(workspace: Workspace | None, now: dt.datetime) -> dt.date:
    """The later of today in UTC and today in the workspace's time zone."""
    try:
        local = now.astimezone(ZoneInfo(workspace.timezone)).date() if workspace else now.date()
    except (KeyError, ValueError):
        local = now.date()
    return max(now.date(), local)


def _frames(db, campaign_id: int, offers: pd.DataFrame, customers: pd.DataFrame,
            pitches_by: dt.datetime | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The mailing list and the evidence pack of the exported offers."""
    pitches = newest_pitches(db, campaign_id, created_by_time=pitches_by)
    return (mailing_rows(offers, customers, pitches, campaign_id),
            evidence_rows(offers.sort_values(["customer_id", "rank"], kind="mergesort"), pitches, campaign_id))


def _result(campaign_id: int, plan: ExportPlan) -> ExportResult:
    members = plan.members
    excluded = members.loc[members["group"] == "excluded", "excluded_reason"].value_counts()
    return ExportResult(campaign_id=campaign_id, files=(), offers=len(plan.treatment_offers),
                        customers=int((members["group"] == "treatment").sum()),
                        held_out=int((members["group"] == "holdout").sum()),
                        excluded={str(k): int(v) for k, v in excluded.items()}, withdrawn=dict(plan.withdrawn_counts))


def _again(db, s, actor: Actor, campaign: Campaign, day: dt.date, kinds: list[str], offers: pd.DataFrame):
    """The files of an exported campaign again, from its stored groups (no change; one audit event)."""
    members = campaign_members(db, campaign.id)
    treatment = set(members.loc[members["group"] == "treatment", "customer_id"])
    in_campaign = select(CampaignOffer.offer_id).where(CampaignOffer.campaign_id == campaign.id)
    exported = set(s.scalars(select(Offer.id).where(Offer.id.in_(in_campaign), Offer.state == EXPORTED)))
    offers = offers[offers["offer_id"].isin(exported).to_numpy(dtype=bool)
                    & offers["customer_id"].isin(treatment).to_numpy(dtype=bool)]
    customers = read_customers(db, campaign.workspace_id, as_of=day)
    customers = customers[customers["customer_id"].isin(treatment).to_numpy(dtype=bool)]
    withdrew = customers["do_not_contact"].eq(True).fillna(False) | customers["email_opt_in"].eq(False).fillna(False)
    gone = set(customers.loc[withdrew.to_numpy(dtype=bool), "customer_id"])
    offers = offers[~offers["customer_id"].isin(gone).to_numpy(dtype=bool)]
    exported_at = campaign.exported_at
    mailing, evidence = _frames(db, campaign.id, offers, customers, exported_at)
    excluded = members.loc[members["group"] == "excluded", "excluded_reason"].value_counts()
    result = ExportResult(campaign_id=campaign.id, files=(), offers=len(offers),
                          customers=len(treatment) - len(gone),
                          held_out=int((members["group"] == "holdout").sum()),
                          excluded={str(k): int(v) for k, v in excluded.items()}, first_export=False,
                          left_out_since=len(gone))
    record_event(s, actor=actor, action="campaign.downloaded", entity="campaign", entity_id=campaign.id,
                 after={"files": kinds, "offers": result.offers, "customers": result.customers,
                        "left_out_since_export": len(gone)},
                 workspace_id=campaign.workspace_id)
    return result, mailing, evidence
