"""A campaign's first export, decided then recorded: who is excluded, who is held out, what changes.

:func:`plan_export` reads (and locks) what the export rests on and decides the
groups without writing anything; :func:`record_export` writes the decision in
the same unit of work. :mod:`crm_core.workflow.export` runs both around the
file writing.

Exclusions, per customer of the campaign, first match wins:
``NO_APPROVED_OFFER`` (every offer of theirs was rejected, flagged or blocked
since it was added), ``DO_NOT_CONTACT`` (do-not-contact on the export day),
``OPTED_OUT`` (opted out of email on the export day). A customer whose
consent is unknown is not excluded: the gate already warned about it
(CONSENT_UNKNOWN) and a manager approved the offer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import delete, select, update

from crm_core.auth import Actor
from crm_core.errors import ConflictError, ValidationError
from crm_core.outcomes.holdout import HOLDOUT, TREATMENT, assign_holdout
from crm_core.store.audit_log import record_events
from crm_core.store.frames import read_customers
from crm_core.store.models import Campaign, CampaignMember, CampaignOffer, CustomerAttribute, Offer
from crm_core.views.campaigns import APPROVED, CAMPAIGN_GATES, EXPORTED

EXCLUDED = "excluded"
CONTACT_ATTRIBUTE = "last_contacted_at"
ROWS_PER_STATEMENT = 10_000  # rows per executemany / ids per IN list (SQLite allows 32,766 parameters)
IDS_IN_EVENT = 100  # offer ids named per reason in the campaign's audit event
EXCLUSION_LABELS = {"DO_NOT_CONTACT": "do not contact", "OPTED_OUT": "opted out",
                    "NO_APPROVED_OFFER": "no approved offer left"}


@dataclass(frozen=True)
class ExportPlan:
    """What a first export decided (nothing written yet).

    Attributes:
        members: one row per customer of the campaign: ``customer_pk, customer_id, segment,
            group, excluded_reason, offer_id``.
        treatment_offers: the offers to export (rows of ``campaign_offers``, states as re-read).
        customers: the treatment customers' contact details (``read_customers`` on the export day).
        withdrawn: offer id -> why it leaves the campaign (NOT_APPROVED, BLOCKED, NOT_GATED).
    """

    members: pd.DataFrame
    treatment_offers: pd.DataFrame
    customers: pd.DataFrame
    withdrawn: dict

    @property
    def withdrawn_counts(self) -> dict:
        """Withdrawn offers per reason."""
        counts: dict[str, int] = {}
        for reason in self.withdrawn.values():
            counts[reason] = counts.get(reason, 0) + 1
        return dict(sorted(counts.items()))


def plan_export(db, s, campaign: Campaign, day: dt.date, offers: pd.DataFrame) -> ExportPlan:
    """Decide the groups of ``campaign``'s first export (its offers are locked in ``s`` until it ends).

    Args:
        db: the Database (for the read side's frames).
        s: the export's unit-of-work session, in which the campaign's row is already locked.
        campaign: the campaign (state draft).
        day: the export day: consent and do-not-contact are judged as they stand on it.
        offers: the campaign's offers (:func:`crm_core.views.campaigns.campaign_offers`), read before the
            lock; their states, gates and versions are read again here.
    Returns:
        The :class:`ExportPlan`.
    Raises:
        ValidationError: nobody would receive the campaign (everyone excluded or held out).
        ConflictError: the campaign's offers are not those read before the lock.
    """
    ids = select(CampaignOffer.offer_id).where(CampaignOffer.campaign_id == campaign.id)
    now = pd.DataFrame(s.execute(select(Offer.id, Offer.state, Offer.gate, Offer.version).where(Offer.id.in_(ids))
                                 .order_by(Offer.id).with_for_update()).all(),
                       columns=["offer_id", "state", "gate", "version"]).astype({"offer_id": "int64"})
    if set(now["offer_id"]) != set(offers["offer_id"]):
        raise ConflictError(f"The offers of campaign #{campaign.id} changed while it was being exported; nothing "
                            "was exported. Try again.")
    offers = offers.drop(columns=["state", "gate", "version"]).merge(now, on="offer_id", validate="one_to_one")
    kept = (offers["state"].eq(APPROVED) & offers["gate"].isin(CAMPAIGN_GATES)).to_numpy(dtype=bool)
    withdrawn = {int(o): ("BLOCKED" if g == "BLOCK" else "NOT_APPROVED" if st != APPROVED else "NOT_GATED")
                 for o, st, g in offers.loc[~kept, ["offer_id", "state", "gate"]].itertuples(index=False)}
    customers = read_customers(db, campaign.workspace_id, as_of=day)
    customers = customers[customers["customer_id"].isin(offers["customer_id"]).to_numpy(dtype=bool)]
    members = _members(offers.assign(kept=kept), customers, campaign)
    treatment = set(members.loc[members["group"] == TREATMENT, "customer_id"])
    treatment_offers = offers[kept & offers["customer_id"].isin(treatment).to_numpy(dtype=bool)]
    if treatment_offers.empty:
        counts = members["excluded_reason"].value_counts()
        raise ValidationError(
            f"Nothing to export from campaign #{campaign.id}: of its {len(members)} customers, "
            f"{int((members['group'] == HOLDOUT).sum())} would be held out and {int(counts.sum())} are excluded ("
            + (", ".join(f"{n} {EXCLUSION_LABELS[code]}" for code, n in sorted(counts.items())) or "none")
            + "). Build a campaign from offers that are still approved, for customers who may be contacted.")
    return ExportPlan(members=members, treatment_offers=treatment_offers.reset_index(drop=True),
                      customers=customers[customers["customer_id"].isin(treatment).to_numpy(dtype=bool)],
                      withdrawn=withdrawn)


def _members(offers: pd.DataFrame, customers: pd.DataFrame, campaign: Campaign) -> pd.DataFrame:
    """Every customer of the campaign with their group (excluded ones with the reason)."""
    ranked = offers.sort_values(["kept", "rank", "offer_id"], ascending=[False, True, True], kind="mergesort")
    people = (ranked.groupby("customer_id", sort=False)
              .agg(customer_pk=("customer_pk", "first"), segment=("segment", "first"),
                   offer_id=("offer_id", "first"), kept=("kept", "any"))
              .reset_index())
    consent = customers.set_index("customer_id")[["do_not_contact", "email_opt_in"]]
    dnc = people["customer_id"].map(consent["do_not_contact"]).astype("boolean").eq(True).fillna(False)
    opted_out = people["customer_id"].map(consent["email_opt_in"]).astype("boolean").eq(False).fillna(False)
    reason = np.select([~people["kept"].to_numpy(dtype=bool), dnc.to_numpy(dtype=bool),
                        opted_out.to_numpy(dtype=bool)],
                       ["NO_APPROVED_OFFER", "DO_NOT_CONTACT", "OPTED_OUT"], default="")
    people["excluded_reason"] = pd.array(np.where(reason == "", None, reason), dtype="string")
    eligible = people[people["excluded_reason"].isna().to_numpy(dtype=bool)]
    drawn = assign_holdout(eligible[["customer_id", "segment"]], campaign.holdout_share, campaign.seed)
    people["group"] = (people["customer_id"].map(drawn.set_index("customer_id")["group"]).astype("string")
                       .fillna(EXCLUDED))
    columns = ["customer_pk", "customer_id", "segment", "group", "excluded_reason", "offer_id"]
    return people[columns].sort_values("customer_id", kind="mergesort").reset_index(drop=True)


def record_export(s, actor: Actor, campaign: Campaign, plan: ExportPlan, now: dt.datetime, kinds: list[str]) -> None:
    """Write a planned export: members, withdrawn offers, exported offers, contact dates, campaign, audit events.

    Raises:
        ConflictError: an offer to export was no longer approved when its state was changed
            (cannot happen while the plan's locks are held; checked all the same).
    """
    stamp = now.astimezone(dt.timezone.utc).replace(tzinfo=None)
    members = plan.members
    _insert(s, CampaignMember, [
        {"campaign_id": campaign.id, "customer_id": int(pk), "offer_id": int(offer), "group": group,
         "segment": None if pd.isna(segment) else str(segment), "excluded_reason": None if pd.isna(why) else str(why)}
        for pk, segment, group, why, offer in members[["customer_pk", "segment", "group", "excluded_reason",
                                                       "offer_id"]].itertuples(index=False)])
    gone = sorted(plan.withdrawn)
    for chunk in _chunks(gone):
        s.execute(delete(CampaignOffer).where(CampaignOffer.campaign_id == campaign.id,
                                              CampaignOffer.offer_id.in_(chunk)))
    offers = plan.treatment_offers
    exported_ids = sorted(int(i) for i in offers["offer_id"])
    changed = 0
    for chunk in _chunks(exported_ids):
        changed += s.execute(update(Offer).where(Offer.id.in_(chunk), Offer.state == APPROVED)
                             .values(state=EXPORTED, version=Offer.version + 1)
                             .execution_options(synchronize_session=False)).rowcount
    if changed != len(exported_ids):
        raise ConflictError(f"{len(exported_ids) - changed} offers of campaign #{campaign.id} changed while it was "
                            "being exported; nothing was exported. Try again.")
    contacted = members.loc[members["group"] == TREATMENT, "customer_pk"].astype("int64").tolist()
    value = stamp.strftime("%Y-%m-%d %H:%M:%S")
    _insert(s, CustomerAttribute, [{"workspace_id": campaign.workspace_id, "customer_id": pk,
                                    "attribute": CONTACT_ATTRIBUTE, "value": value, "effective_from": stamp}
                                   for pk in contacted])
    before = {"state": campaign.state, "version": campaign.version}
    campaign.state, campaign.exported_at, campaign.exported_by = EXPORTED, now, actor.username
    campaign.version = campaign.version + 1
    withdrawn_ids = {reason: [i for i in gone if plan.withdrawn[i] == reason][:IDS_IN_EVENT]
                     for reason in plan.withdrawn_counts}
    campaign.selection_json = {**(campaign.selection_json or {}), "withdrawn_at_export": withdrawn_ids}
    groups = members["group"].value_counts()
    excluded = members["excluded_reason"].value_counts()
    events = [{"action": "campaign.exported", "entity": "campaign", "entity_id": campaign.id,
               "workspace_id": campaign.workspace_id, "before": before,
               "after": {"state": EXPORTED, "version": campaign.version, "files": kinds,
                         "offers": len(exported_ids), "contact_dates_recorded": len(contacted),
                         **{g: int(groups.get(g, 0)) for g in (TREATMENT, HOLDOUT, EXCLUDED)},
                         "excluded_reasons": {str(k): int(v) for k, v in sorted(excluded.items())},
                         "holdout_share": campaign.holdout_share, "seed": campaign.seed,
                         "withdrawn_offers": withdrawn_ids}}]
    versions = dict(zip(offers["offer_id"].astype("int64"), offers["version"].astype("int64")))
    events += [{"action": "offer.exported", "entity": "offer", "entity_id": i, "workspace_id": campaign.workspace_id,
                "before": {"state": APPROVED, "version": int(versions[i])},
                "after": {"state": EXPORTED, "version": int(versions[i]) + 1, "campaign_id": campaign.id}}
               for i in exported_ids]
    record_events(s, events, actor=actor)
    s.flush()


def _insert(s, model, rows: list[dict]) -> None:
    """Core executemany in batches (the ORM's bulk insert ran one statement per few rows: 2.5 s for 55k)."""
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        s.execute(model.__table__.insert(), rows[start:start + ROWS_PER_STATEMENT])


def _chunks(ids: list[int]):
    for start in range(0, len(ids), ROWS_PER_STATEMENT):
        yield ids[start:start + ROWS_PER_STATEMENT]
