"""The read side of campaigns: the list with counts, one campaign's offers and members, its evidence rows,
and the approved offers a new campaign can take.

An offer can go into a campaign when it is approved, the audit gate let it
through (PASS or REVIEW, never BLOCK) and it is in no campaign yet
(:func:`eligible_condition`, the one home of that rule; the use cases in
:mod:`crm_core.workflow.campaigns` and :mod:`crm_core.workflow.export` apply
it). Times come back as naive UTC; money in major units.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import and_, exists, func, select

from crm_core.errors import NotFound
from crm_core.store.frames import minor_factor
from crm_core.views.pitches import TEXT_COLUMNS, newest_pitch_texts
from crm_core.store.models import Campaign, CampaignMember, CampaignOffer, Customer, Offer, Product
from crm_core.views.offers import OFFER_VIEW_COLUMNS, Choice, offers_matching

APPROVED, EXPORTED = "approved", "exported"
DRAFT = "draft"
CAMPAIGN_GATES = ("PASS", "REVIEW")  # a BLOCK offer never goes into a campaign
GROUPS = ("treatment", "holdout", "excluded")
NO_PITCH = "none yet"
CAMPAIGN_LIST_COLUMNS = ["campaign_id", "name", "state", "run_id", "offers", "customers", "holdout_share",
                         "treatment", "holdout", "excluded", "left_out", "created_by", "created_at",
                         "exported_by", "exported_at"]
OFFER_EXTRA_COLUMNS = ["customer_pk", "version", "submitted_by", "decided_by", "decided_at", "policy_name",
                       "policy_version", "price"]
MEMBER_COLUMNS = ["customer_id", "segment", "group", "excluded_reason", "offer_id"]
PITCH_COLUMNS = TEXT_COLUMNS
EVIDENCE_COLUMNS = ["campaign_id", "offer_id", "customer_id", "product_id", "product_name", "scenario", "gate",
                    "audit_score", "flags", "policy_name", "policy_version", "submitted_by", "approved_by",
                    "approved_at_utc", "pitch_source", "pitch_version", "pitch_subject", "pitch_text"]


@dataclass(frozen=True)
class CampaignInfo:
    """One campaign as pages and scripts see it."""

    id: int
    workspace_id: int
    run_id: int | None
    name: str
    state: str  # draft | exported
    holdout_share: float
    seed: int
    version: int
    created_by: str
    created_at: dt.datetime | None
    exported_by: str | None
    exported_at: dt.datetime | None
    selection: dict = field(default_factory=dict)  # how it was built, what was left out and why

    @property
    def exported(self) -> bool:
        """Whether the campaign has been exported (its groups are then fixed)."""
        return self.state == EXPORTED

    @property
    def label(self) -> str:
        """A short name for pickers (the name is file text: pass it through ``shown`` before Markdown)."""
        return f"#{self.id} · {self.name} · {self.state}"


def eligible_condition():
    """The SQL condition on :class:`Offer` of an offer that may go into a new campaign."""
    in_a_campaign = exists().where(CampaignOffer.offer_id == Offer.id)
    return and_(Offer.state == APPROVED, Offer.gate.in_(CAMPAIGN_GATES), ~in_a_campaign)


def eligible_offers(db, run_id: int, *, segment: Choice = None, scenario: Choice = None,
                    family: Choice = None) -> pd.DataFrame:
    """The run's offers a new campaign can take, optionally filtered, by customer and rank.

    Args:
        db: the Database.
        run_id: the pipeline run.
        segment, scenario, family: keep offers of this RFM segment code / scenario / product family
            (or one of these values); None keeps all.
    Returns:
        Columns of :data:`crm_core.views.offers.OFFER_VIEW_COLUMNS`.
    """
    frame = offers_matching(db, run_id, eligible_condition())
    for column, choice in (("segment", segment), ("scenario", scenario), ("family", family)):
        if choice is not None:
            wanted = [choice] if isinstance(choice, str) else [str(c) for c in choice]
            frame = frame[frame[column].isin(wanted).fillna(False).to_numpy(dtype=bool)]
    return frame.reset_index(drop=True)


def campaign_info(db, campaign_id: int) -> CampaignInfo:
    """The campaign ``campaign_id``.

    Raises:
        NotFound: when there is no such campaign.
    """
    with db.read() as s:
        c = s.get(Campaign, int(campaign_id))
        if c is None:
            raise NotFound(f"There is no campaign #{campaign_id}: see the Campaigns page for the workspace's "
                           "campaigns.")
        return CampaignInfo(c.id, c.workspace_id, c.run_id, c.name, c.state, float(c.holdout_share), int(c.seed),
                            int(c.version), c.created_by, _naive_utc(c.created_at), c.exported_by,
                            _naive_utc(c.exported_at), dict(c.selection_json or {}))


def list_campaigns(db, workspace_id: int) -> pd.DataFrame:
    """The workspace's campaigns, newest first, with their counts.

    Returns:
        Columns :data:`CAMPAIGN_LIST_COLUMNS`: ``offers`` and ``customers`` in the campaign,
        customers per group (``treatment, holdout, excluded``: 0 until it is exported),
        ``left_out`` the offers refused when it was built; times naive UTC.
    """
    mine = select(Campaign.id).where(Campaign.workspace_id == workspace_id)
    offers = (select(CampaignOffer.campaign_id, func.count().label("offers"),
                     func.count(func.distinct(Offer.customer_id)).label("customers"))
              .join(Offer, Offer.id == CampaignOffer.offer_id).where(CampaignOffer.campaign_id.in_(mine))
              .group_by(CampaignOffer.campaign_id))
    members = (select(CampaignMember.campaign_id, CampaignMember.group, func.count().label("n"))
               .where(CampaignMember.campaign_id.in_(mine)).group_by(CampaignMember.campaign_id, CampaignMember.group))
    with db.read() as s:
        counts = {r.campaign_id: (r.offers, r.customers) for r in s.execute(offers)}
        groups = {(r.campaign_id, r.group): r.n for r in s.execute(members)}
        records = [_list_record(c, counts.get(c.id, (0, 0)), groups) for c in s.scalars(
            select(Campaign).where(Campaign.workspace_id == workspace_id).order_by(Campaign.id.desc()))]
    frame = pd.DataFrame(records, columns=CAMPAIGN_LIST_COLUMNS)
    for col in ("campaign_id", "offers", "customers", "treatment", "holdout", "excluded", "left_out"):
        frame[col] = frame[col].astype("int64")
    frame["run_id"] = frame["run_id"].astype("Int64")
    for col in ("created_at", "exported_at"):
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
    return frame


def _list_record(c: Campaign, counts: tuple[int, int], groups: dict) -> dict:
    """One row of :func:`list_campaigns`."""
    return {"campaign_id": c.id, "name": c.name, "state": c.state, "run_id": c.run_id, "offers": counts[0],
            "customers": counts[1], "holdout_share": float(c.holdout_share),
            **{g: groups.get((c.id, g), 0) for g in GROUPS},
            "left_out": int((c.selection_json or {}).get("left_out_total", 0)), "created_by": c.created_by,
            "created_at": _naive_utc(c.created_at), "exported_by": c.exported_by,
            "exported_at": _naive_utc(c.exported_at)}


def campaign_offers(db, campaign_id: int) -> pd.DataFrame:
    """Every offer of the campaign (whatever its state now), by customer and rank.

    Returns:
        The columns of :data:`crm_core.views.offers.OFFER_VIEW_COLUMNS`, then
        :data:`OFFER_EXTRA_COLUMNS`: the customer's key, the offer's version, who submitted
        and who decided it and when (naive UTC), the gate's policy and version, and the
        price in major units (catalogue price, else the price the gate judged it at; NaN
        when neither is known).
    """
    info = campaign_info(db, campaign_id)
    ids = select(CampaignOffer.offer_id).where(CampaignOffer.campaign_id == info.id)
    if info.run_id is None:  # its run (and so its offers) was deleted
        return pd.DataFrame(columns=[*OFFER_VIEW_COLUMNS, *OFFER_EXTRA_COLUMNS])
    offers = offers_matching(db, info.run_id, Offer.id.in_(ids))
    stmt = (select(Offer.id.label("offer_id"), Offer.customer_id.label("customer_pk"), Offer.version,
                   Offer.submitted_by, Offer.decided_by, Offer.decided_at, Offer.policy_name, Offer.policy_version,
                   Offer.facts_json["price"].as_float().label("judged_price"), Product.price_minor)
            .join(Product, Product.id == Offer.product_id).where(Offer.id.in_(ids)))
    with db.read() as s:
        extra = pd.DataFrame(s.execute(stmt).all(), columns=["offer_id", "customer_pk", "version", "submitted_by",
                                                             "decided_by", "decided_at", "policy_name",
                                                             "policy_version", "judged_price", "price_minor"])
        factor = minor_factor(s, info.workspace_id)
    catalogue = pd.to_numeric(extra.pop("price_minor"), errors="coerce").astype("float64") / factor
    extra["price"] = catalogue.fillna(pd.to_numeric(extra.pop("judged_price"), errors="coerce").astype("float64"))
    extra["decided_at"] = _naive_utc_series(extra["decided_at"])
    extra = extra.astype({"offer_id": "int64", "customer_pk": "int64", "version": "int64",
                          "submitted_by": "string", "decided_by": "string", "policy_name": "string",
                          "policy_version": "Int64"})
    return offers.merge(extra, on="offer_id", how="left", validate="one_to_one")


def campaign_members(db, campaign_id: int) -> pd.DataFrame:
    """The campaign's customers and their groups (empty until it is exported), by customer code.

    Returns:
        Columns :data:`MEMBER_COLUMNS`: ``group`` is treatment, holdout or excluded;
        ``excluded_reason`` a code (OPTED_OUT, DO_NOT_CONTACT, NO_APPROVED_OFFER) for
        excluded customers; ``offer_id`` the customer's first offer in the campaign.
    """
    stmt = (select(Customer.customer_code, CampaignMember.segment, CampaignMember.group,
                   CampaignMember.excluded_reason, CampaignMember.offer_id)
            .join(Customer, Customer.id == CampaignMember.customer_id)
            .where(CampaignMember.campaign_id == int(campaign_id)))
    with db.read() as s:
        frame = pd.DataFrame(s.execute(stmt).all(), columns=MEMBER_COLUMNS)
    frame = frame.astype({"customer_id": "string", "segment": "string", "group": "string",
                          "excluded_reason": "string", "offer_id": "Int64"})
    order = np.argsort(frame["customer_id"].to_numpy(dtype=object).astype(str), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def newest_pitches(db, campaign_id: int, *, created_by_time: dt.datetime | None = None) -> pd.DataFrame:
    """The newest pitch (highest version) of each offer of the campaign that has one.

    Args:
        db: the Database.
        campaign_id: the campaign.
        created_by_time: only pitches saved at or before this time (naive or aware UTC); None: all.
    Returns:
        Columns :data:`PITCH_COLUMNS`, one row per offer with a pitch.
    """
    with db.read() as s:
        offers = select(CampaignOffer.offer_id).where(CampaignOffer.campaign_id == int(campaign_id))
        return newest_pitch_texts(s, offers, created_by_time=created_by_time)


def evidence_rows(offers: pd.DataFrame, pitches: pd.DataFrame, campaign_id: int) -> pd.DataFrame:
    """The evidence pack: per offer, who submitted it, who approved it and when, the policy and flags, the pitch.

    Args:
        offers: rows of :func:`campaign_offers` (the offers to document).
        pitches: :func:`newest_pitches` of the campaign.
        campaign_id: the campaign.
    Returns:
        Columns :data:`EVIDENCE_COLUMNS`, in the order of ``offers``; ``pitch_source`` is
        ``none yet`` (and the pitch columns empty) for an offer without a pitch.
    """
    merged = offers.merge(pitches, on="offer_id", how="left")
    out = pd.DataFrame({
        "campaign_id": np.full(len(merged), int(campaign_id), dtype="int64"),
        "offer_id": merged["offer_id"].astype("int64"), "customer_id": merged["customer_id"],
        "product_id": merged["product_id"], "product_name": merged["product_name"], "scenario": merged["scenario"],
        "gate": merged["gate"], "audit_score": merged["audit_score"].astype("Int64"),
        "flags": merged["flags"].astype("string").fillna(""), "policy_name": merged["policy_name"],
        "policy_version": merged["policy_version"].astype("Int64"), "submitted_by": merged["submitted_by"],
        "approved_by": merged["decided_by"], "approved_at_utc": merged["decided_at"],
        "pitch_source": merged["pitch_source"].astype("string").fillna(NO_PITCH),
        "pitch_version": merged["pitch_version"].astype("Int64"),
        "pitch_subject": merged["pitch_subject"].astype("string"), "pitch_text": merged["pitch_text"].astype("string"),
    })
    return out[EVIDENCE_COLUMNS].reset_index(drop=True)


def campaign_evidence(db, campaign_id: int) -> pd.DataFrame:
    """:func:`evidence_rows` of every offer of the campaign that was exported (all of them before export)."""
    offers = campaign_offers(db, campaign_id)
    if (offers["state"] == EXPORTED).any():
        offers = offers[(offers["state"] == EXPORTED).to_numpy(dtype=bool)]
    return evidence_rows(offers, newest_pitches(db, campaign_id), campaign_id)


def _naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A stored time as naive UTC (SQLite gives naive values back; they were stored as UTC)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _naive_utc_series(values: pd.Series) -> pd.Series:
    """Stored times (naive or aware) as datetime64[ns] naive UTC."""
    return pd.to_datetime(values, utc=True).dt.tz_localize(None).astype("datetime64[ns]")
