"""Building a campaign from approved offers (an analyst's step; a manager exports it, :mod:`.export`).

A campaign holds offers of one run that are approved, let through by the
audit gate (PASS or REVIEW, never BLOCK) and in no other campaign
(:func:`crm_core.views.campaigns.eligible_condition`). The offers asked for
are read and locked inside the unit of work (``SELECT ... FOR UPDATE`` on
PostgreSQL; on SQLite the unit of work holds the writer lock), so two
analysts building campaigns from the same offers at once cannot both take
one. Offers that cannot go in are left out and the campaign records how many
and why (``selection_json``); when none can, nothing is created.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Row, select

from crm_core.auth import Action, Actor, require
from crm_core.errors import ValidationError
from crm_core.free_text import checked_text
from crm_core.outcomes.holdout import MAX_SEED, default_seed
from crm_core.store.audit_log import record_event
from crm_core.store.models import Campaign, CampaignOffer, Offer
from crm_core.views.campaigns import APPROVED, CAMPAIGN_GATES, DRAFT, EXPORTED

MAX_HOLDOUT_SHARE = 0.5
MAX_NAME_CHARS = 200
IDS_PER_QUERY = 10_000  # bound parameters per IN list (SQLite allows 32,766)
IDS_KEPT_PER_REASON = 50  # offer ids recorded per refusal reason in selection_json
REFUSALS = {  # code -> plain English, in the order the checks run
    "NOT_FOUND": "do not exist",
    "ALREADY_EXPORTED": "were already exported",
    "IN_ANOTHER_CAMPAIGN": "are already in a campaign",
    "BLOCKED": "were blocked by the audit gate",
    "NOT_APPROVED": "are not approved",
    "NOT_GATED": "have not been through the audit gate",
}


def create_campaign(db, actor: Actor, name: str, offer_ids, *, holdout_share: float = 0.0,
                    seed: int | None = None, built_from: dict | None = None) -> int:
    """Create a draft campaign from the eligible ones of ``offer_ids``.

    Args:
        db: the Database.
        actor: who builds it (needs Action.SUBMIT_OFFERS: analyst and up); recorded as its creator.
        name: the campaign's name (1 to 200 characters).
        offer_ids: the offers wanted (ids); all that go in must come from one pipeline run.
        holdout_share: the share of eligible customers kept aside as a control group at export (0 to 0.5).
        seed: the holdout draw's seed (0 to 2**31 - 1); default: a fixed function of the campaign's id.
        built_from: how the offers were chosen (e.g. the page's filters), kept in ``selection_json``.
    Returns:
        The new campaign's id.
    Raises:
        PermissionDenied: the actor may not submit offers.
        ValidationError: a bad name, share or seed; no offer given; none of them eligible (the
            message says why each group was refused); eligible offers from more than one run.
    """
    require(actor, Action.SUBMIT_OFFERS)
    name = _checked_name(name)
    share = _checked_share(holdout_share)
    if seed is not None and not (isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed <= MAX_SEED):
        raise ValidationError(f"A campaign's seed is a whole number from 0 to {MAX_SEED}; got {seed!r}.")
    wanted = _checked_ids(offer_ids)
    with db.unit_of_work() as s:
        offers = _locked_offers(s, wanted)
        in_campaign = _campaigns_of(s, list(offers))
        refused = {i: _refusal(offers.get(i), in_campaign.get(i)) for i in wanted}
        kept = [i for i in wanted if refused[i] is None]
        if not kept:
            raise ValidationError(f"None of the {len(wanted)} offer(s) can go into a campaign: "
                                  f"{_refusal_text(refused, offers)}. A campaign takes approved offers that "
                                  f"passed the audit gate ({' or '.join(CAMPAIGN_GATES)}) and are in no other "
                                  "campaign.")
        runs = sorted({offers[i].run_id for i in kept})
        if len(runs) > 1:
            raise ValidationError(f"The offers come from {len(runs)} pipeline runs (#"
                                  + ", #".join(map(str, runs)) + "); a campaign holds the offers of one run.")
        left_out = _left_out(refused)
        campaign = Campaign(workspace_id=offers[kept[0]].workspace_id, run_id=runs[0], name=name, state=DRAFT,
                            holdout_share=share, seed=0, created_by=actor.username, version=1,
                            selection_json={"requested": len(wanted), "kept": len(kept),
                                            "left_out_total": len(wanted) - len(kept), "left_out": left_out,
                                            "built_from": built_from})
        s.add(campaign)
        s.flush()
        campaign.seed = default_seed(campaign.id) if seed is None else seed
        for start in range(0, len(kept), IDS_PER_QUERY):
            s.execute(CampaignOffer.__table__.insert(), [{"campaign_id": campaign.id, "offer_id": i}
                                              for i in kept[start:start + IDS_PER_QUERY]])
        record_event(s, actor=actor, action="campaign.created", entity="campaign", entity_id=campaign.id,
                     after={"state": DRAFT, "version": 1, "run_id": runs[0], "offers": len(kept),
                            "customers": len({offers[i].customer_id for i in kept}), "holdout_share": share,
                            "seed": campaign.seed,
                            "left_out": {code: v["count"] for code, v in left_out.items()}},
                     workspace_id=campaign.workspace_id)
        return campaign.id


def _checked_name(name) -> str:
    return checked_text(name, label="A campaign name", max_chars=MAX_NAME_CHARS,
                        missing="Give the campaign a name (e.g. 'Spring winback').")


def _checked_share(share) -> float:
    try:
        value = float(share)
    except (TypeError, ValueError):
        raise ValidationError(f"The holdout share is a number from 0 to {MAX_HOLDOUT_SHARE}; got {share!r}.") \
            from None
    if not 0.0 <= value <= MAX_HOLDOUT_SHARE:
        raise ValidationError(f"The holdout share is from 0 to {MAX_HOLDOUT_SHARE} (0 % to "
                              f"{MAX_HOLDOUT_SHARE:.0%}); got {value:g}.")
    return value


def _checked_ids(offer_ids) -> list[int]:
    """The offer ids as distinct ints, in the order given."""
    if offer_ids is None or isinstance(offer_ids, (str, bytes)):
        raise ValidationError("Give the offers of the campaign as a list of offer ids.")
    wanted: dict[int, None] = {}
    for value in offer_ids:
        try:
            wanted[int(value)] = None
        except (TypeError, ValueError):
            raise ValidationError(f"{value!r} is not an offer id (a whole number).") from None
    if not wanted:
        raise ValidationError("A campaign needs at least one offer: choose approved offers first.")
    return list(wanted)


def _locked_offers(s, ids: list[int]) -> dict[int, Row]:
    """What decides about the offers asked for (id, workspace, run, customer, state, gate), their rows held until
    the transaction ends (locked in id order, so two builders never deadlock)."""
    found: dict[int, Row] = {}
    ordered = sorted(ids)
    columns = (Offer.id, Offer.workspace_id, Offer.run_id, Offer.customer_id, Offer.state, Offer.gate)
    for start in range(0, len(ordered), IDS_PER_QUERY):
        chunk = ordered[start:start + IDS_PER_QUERY]
        for row in s.execute(select(*columns).where(Offer.id.in_(chunk)).order_by(Offer.id).with_for_update()):
            found[row.id] = row
    return found


def _campaigns_of(s, ids: list[int]) -> dict[int, int]:
    """Offer id -> the campaign already holding it."""
    held: dict[int, int] = {}
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start:start + IDS_PER_QUERY]
        held.update(s.execute(select(CampaignOffer.offer_id, CampaignOffer.campaign_id)
                              .where(CampaignOffer.offer_id.in_(chunk))).all())
    return held


def _refusal(offer: Row | None, campaign_id: int | None) -> str | None:
    """Why an offer cannot go into a new campaign (a REFUSALS code), or None when it can."""
    if offer is None:
        return "NOT_FOUND"
    if offer.state == EXPORTED:
        return "ALREADY_EXPORTED"
    if campaign_id is not None:
        return "IN_ANOTHER_CAMPAIGN"
    if offer.gate == "BLOCK":
        return "BLOCKED"
    if offer.state != APPROVED:
        return "NOT_APPROVED"
    if offer.gate not in CAMPAIGN_GATES:
        return "NOT_GATED"
    return None


def _left_out(refused: dict[int, str | None]) -> dict[str, dict]:
    """Refusal code -> count and the first offer ids, for selection_json."""
    by_code: dict[str, list[int]] = {}
    for offer_id, code in refused.items():
        if code is not None:
            by_code.setdefault(code, []).append(offer_id)
    return {code: {"count": len(ids), "offer_ids": ids[:IDS_KEPT_PER_REASON]}
            for code, ids in sorted(by_code.items(), key=lambda kv: list(REFUSALS).index(kv[0]))}


def _refusal_text(refused: dict[int, str | None], offers: dict[int, Row]) -> str:
    """``3 are not approved (pending: 2, rejected: 1), 1 was blocked by the audit gate`` and so on."""
    parts = []
    for code, entry in _left_out(refused).items():
        text = f"{entry['count']} {REFUSALS[code]}"
        if code == "NOT_APPROVED":
            states = Counter(offers[i].state for i, c in refused.items() if c == code)
            text += " (" + ", ".join(f"{state}: {n}" for state, n in sorted(states.items())) + ")"
        if code == "NOT_FOUND":
            text += " (ids " + ", ".join(map(str, entry["offer_ids"][:5])) + ("…" if entry["count"] > 5 else "") + ")"
        parts.append(text)
    return "; ".join(parts)
