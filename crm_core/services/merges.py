"""Merging duplicate customers, and taking a merge back: one unit of work each, audited.

A manager (Action.DECIDE_OFFERS) confirms a proposed pair (:func:`propose_merges`, the read side's
:func:`crm_core.views.merges.merge_proposals`). :func:`merge_customers` then moves the merged
record's rows to the survivor, set-based, one UPDATE per table:

- moved: sales lines, holdings, outcomes, dated attributes (consent, do-not-contact, last contact),
  campaign memberships (except in a campaign the survivor is already in: that row stays, counted
  as kept) and offers (ranked after the survivor's own offers of the same run, so a run never has
  two offers at one rank for a customer);
- left as they were: the runs' per-customer results (``run_customers``): a run is a record of what
  was computed then; the next run sees one customer with the whole history;
- the merged customer's own row is kept, marked merged away by the merge row, so nothing is lost.

Consent: the most restrictive value of the two records as they stand at the merge wins from the
merge on: e-mail opt-out over opt-in, do-not-contact over contactable, the later last contact. A
dated attribute row is added for the survivor (effective now, in the workspace's time zone) only
where the combined history would say otherwise; an unknown value never overrides a known one.

Every moved row id (offers with the rank they had) and every added row id is stored in the merge
row, so :func:`undo_merge` gives back exactly those rows and removes the added ones. Files imported
while a merge is in force give the merged-away code's lines, holdings, outcomes and consent to the
survivor (:func:`crm_core.ingest.load.follow_merges_of`); an undo leaves those where they went. Both write
one audit event (ids and counts, never the e-mails or phones the evidence quotes) and drop the
workspace's kept Overview figures (customer counts change). Rows are locked ``FOR UPDATE`` on
PostgreSQL (customers in id order, then the merge row); SQLite serialises writers.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from crm_core.auth import Action, Actor, require
from crm_core.errors import ConflictError, NotFound, ValidationError
from crm_core.free_text import MAX_REASON_CHARS, checked_text
from crm_core.ids import normalise_id
from crm_core.services.workspaces import now_in
from crm_core.store.audit_log import record_event
from crm_core.store.models import (CampaignMember, Customer, CustomerAttribute, CustomerMerge, Holding, Offer, Outcome,
                                   OverviewSummary, Transaction, Workspace, utc_now)
from crm_core.views.merges import ACTIVE, DISMISSED, UNDONE, merge_proposals

CHUNK = 5_000  # ids per IN list (SQLite allows 32,766 bound values)
MOVED_TABLES = {"transactions": Transaction, "holdings": Holding, "outcomes": Outcome,
                "customer_attributes": CustomerAttribute}
RESTRICTIVE = {"email_opt_in": "false", "do_not_contact": "true"}  # the value that wins when the records disagree


def propose_merges(db, workspace_id: int, *, max_group: int = 5) -> pd.DataFrame:
    """Proposed merges with their evidence: :func:`crm_core.views.merges.merge_proposals` (reads only)."""
    return merge_proposals(db, workspace_id, max_group=max_group)


def merge_customers(db, actor: Actor, workspace_id: int, survivor_code: str, merged_code: str, *,
                    evidence: str | dict, reason: str | None = None) -> int:
    """Merge customer ``merged_code`` into ``survivor_code`` (module docstring: what moves, consent).

    Args:
        db: the Database.
        actor: a manager or admin.
        workspace_id: the workspace of both customers.
        survivor_code, merged_code: customer ids as the source gives them.
        evidence: why they are one person: the proposal's evidence text, or a dict with ``rules`` and
            ``text``; stored with the merge (not in the audit log: it quotes contact details).
        reason: an optional note.
    Returns:
        The merge's id (for :func:`undo_merge`).
    Raises:
        PermissionDenied; ValidationError (same customer twice, no evidence); NotFound (no such
        customer); ConflictError (either customer is already merged into another one).
    """
    require(actor, Action.DECIDE_OFFERS)
    survivor_code, merged_code = _code(survivor_code), _code(merged_code)
    if survivor_code == merged_code:
        raise ValidationError(f"Customer {survivor_code} cannot be merged into itself: pick two different records.")
    evidence = _evidence(evidence)
    reason = _reason(reason)
    with db.unit_of_work() as s:
        survivor, merged = _locked_pair(s, workspace_id, survivor_code, merged_code)
        _refuse_merged_away(s, survivor, merged)
        zone = s.scalar(select(Workspace.timezone).where(Workspace.id == workspace_id)) or "UTC"
        now = now_in(zone)
        before = _consent(s, [survivor.id, merged.id], now)
        moved = {name: _move(s, model, merged.id, survivor.id) for name, model in MOVED_TABLES.items()}
        moved["campaign_members"] = _move_memberships(s, merged.id, survivor.id)
        moved["offers"] = _move_offers(s, merged.id, survivor.id)
        added = _restrict_consent(s, workspace_id, survivor.id, before, now)
        kept = {"campaign_members": int(s.scalar(select(func.count()).select_from(CampaignMember)
                                                 .where(CampaignMember.customer_id == merged.id)) or 0)}
        counts = {"moved": {name: len(ids) for name, ids in moved.items()}, "kept": kept,
                  "added": {"customer_attributes": len(added)}}
        merge = CustomerMerge(workspace_id=workspace_id, survivor_id=survivor.id, merged_id=merged.id, state=ACTIVE,
                              evidence_json=evidence, moved_json=moved, added_json={"customer_attributes": added},
                              counts_json=counts, reason=reason, created_by=actor.username)
        s.add(merge)
        s.flush()
        _forget_overview(s, workspace_id)
        record_event(s, actor=actor, action="customer.merged", entity="customer_merge", entity_id=merge.id,
                     before={"survivor": survivor_code, "merged": merged_code},
                     after={"rules": evidence["rules"], **counts}, reason=reason, workspace_id=workspace_id)
        return merge.id


def undo_merge(db, actor: Actor, merge_id: int, *, reason: str | None = None) -> None:
    """Give the merged customer back exactly the rows the merge moved, and remove the rows it added.

    Rows that arrived for the survivor after the merge stay with the survivor; rows removed since
    (an import taken back) are simply not restored.

    Raises:
        PermissionDenied; NotFound (no such merge); ConflictError (not in force: undone before or a
        dismissal; or a later merge involves either customer: undo that one first).
    """
    require(actor, Action.DECIDE_OFFERS)
    reason = _reason(reason)
    with db.unit_of_work() as s:
        merge = s.scalar(select(CustomerMerge).where(CustomerMerge.id == int(merge_id)).with_for_update())
        if merge is None:
            raise NotFound(f"There is no customer merge #{merge_id}; pick one from the list of merges.")
        if merge.state != ACTIVE:
            by = f" by {merge.undone_by} on {merge.undone_at:%d %b %Y %H:%M}" if merge.undone_at else ""
            raise ConflictError(f"Merge #{merge.id} is {merge.state}{by}: there is nothing to undo.")
        later = s.scalar(select(func.min(CustomerMerge.id)).where(
            CustomerMerge.id > merge.id, CustomerMerge.state == ACTIVE,
            CustomerMerge.survivor_id.in_((merge.survivor_id, merge.merged_id))
            | CustomerMerge.merged_id.in_((merge.survivor_id, merge.merged_id))))
        if later is not None:
            raise ConflictError(f"Merge #{later} came later and involves the same customers: undo merge #{later} "
                                f"first, then #{merge.id}.")
        s.execute(select(Customer.id).where(Customer.id.in_(sorted((merge.survivor_id, merge.merged_id))))
                  .order_by(Customer.id).with_for_update())
        moved = dict(merge.moved_json or {})
        restored = {}
        for name, model in {**MOVED_TABLES, "campaign_members": CampaignMember}.items():
            restored[name] = _move_back(s, model, moved.get(name) or [], merge.survivor_id, merge.merged_id)
        restored["offers"] = _move_offers_back(s, moved.get("offers") or [], merge.survivor_id, merge.merged_id)
        added = list((merge.added_json or {}).get("customer_attributes") or [])
        for start in range(0, len(added), CHUNK):
            s.execute(delete(CustomerAttribute).where(CustomerAttribute.id.in_(added[start:start + CHUNK])))
        merge.state, merge.undone_by, merge.undone_at = UNDONE, actor.username, utc_now()
        merge.undo_reason, merge.version = reason, merge.version + 1
        _forget_overview(s, merge.workspace_id)
        record_event(s, actor=actor, action="customer.merge_undone", entity="customer_merge", entity_id=merge.id,
                     before={"state": ACTIVE}, after={"state": UNDONE, "restored": restored,
                                                      "removed": {"customer_attributes": len(added)}},
                     reason=reason, workspace_id=merge.workspace_id)


def dismiss_proposal(db, actor: Actor, workspace_id: int, code_a: str, code_b: str, *, evidence: str | dict,
                     reason: str | None = None) -> int:
    """Record that two proposed records are different people: the pair is not proposed again.

    Returns:
        The id of the dismissal (a merge row in state ``dismissed``; nothing moves).
    Raises:
        PermissionDenied; ValidationError; NotFound.
    """
    require(actor, Action.DECIDE_OFFERS)
    code_a, code_b = _code(code_a), _code(code_b)
    if code_a == code_b:
        raise ValidationError("Pick two different customers.")
    evidence, reason = _evidence(evidence), _reason(reason)
    with db.unit_of_work() as s:
        a, b = _locked_pair(s, workspace_id, code_a, code_b)
        row = CustomerMerge(workspace_id=workspace_id, survivor_id=a.id, merged_id=b.id, state=DISMISSED,
                            evidence_json=evidence, reason=reason, created_by=actor.username)
        s.add(row)
        s.flush()
        record_event(s, actor=actor, action="customer.merge_dismissed", entity="customer_merge", entity_id=row.id,
                     after={"customers": [code_a, code_b], "rules": evidence["rules"]}, reason=reason,
                     workspace_id=workspace_id)
        return row.id


# --------------------------------------------------------------------------- internals


def _code(value) -> str:
    code = normalise_id(value)
    if code is None:
        raise ValidationError("A customer id is empty: give the customer's id as the source writes it.")
    return code


def _evidence(evidence) -> dict:
    if isinstance(evidence, dict):
        text = str(evidence.get("text") or evidence.get("evidence") or "").strip()
        rules = evidence.get("rules") or []
        rules = [r.strip() for r in rules.split(",")] if isinstance(rules, str) else [str(r) for r in rules]
    else:
        text, rules = str(evidence or "").strip(), []
    if not text:
        raise ValidationError("Say why these records are one person (the evidence: the same e-mail, phone, or name "
                              "and postcode).")
    return {"rules": [r for r in rules if r], "text": text[:MAX_REASON_CHARS]}


def _reason(reason: str | None) -> str | None:
    return checked_text(reason, label="A reason", max_chars=MAX_REASON_CHARS, one_line=False)


def _locked_pair(s: Session, workspace_id: int, first: str, second: str) -> tuple[Customer, Customer]:
    """Both customers, rows held until the transaction ends (in id order: no deadlock between two merges)."""
    rows = s.scalars(select(Customer).where(Customer.workspace_id == workspace_id,
                                            Customer.customer_code.in_((first, second)))
                     .order_by(Customer.id).with_for_update()).all()
    found = {c.customer_code: c for c in rows}
    missing = [c for c in (first, second) if c not in found]
    if missing:
        raise NotFound(f"No customer {', '.join(missing)} in this workspace: check the id, or refresh the proposals.")
    return found[first], found[second]


def _refuse_merged_away(s: Session, survivor: Customer, merged: Customer) -> None:
    for customer in (survivor, merged):
        earlier = s.execute(select(CustomerMerge.id, Customer.customer_code, CustomerMerge.created_by)
                            .join(Customer, Customer.id == CustomerMerge.survivor_id)
                            .where(CustomerMerge.merged_id == customer.id, CustomerMerge.state == ACTIVE)).first()
        if earlier is not None:
            raise ConflictError(f"Customer {customer.customer_code} was merged into {earlier[1]} by {earlier[2]} "
                                f"(merge #{earlier[0]}): merge into {earlier[1]} instead, or undo that merge first.")


def _move(s: Session, model, old: int, new: int) -> list[int]:
    """Point every row of ``model`` from customer ``old`` to ``new``; the ids moved, sorted."""
    table = model.__table__
    ids = s.execute(update(table).where(table.c.customer_id == old).values(customer_id=new)
                    .returning(table.c.id)).scalars().all()
    return sorted(int(i) for i in ids)


def _move_memberships(s: Session, old: int, new: int) -> list[int]:
    """Campaign memberships, except in campaigns the survivor is already in (one member per campaign)."""
    table = CampaignMember.__table__
    taken = select(table.c.campaign_id).where(table.c.customer_id == new).scalar_subquery()
    ids = s.execute(update(table).where(table.c.customer_id == old, table.c.campaign_id.not_in(taken))
                    .values(customer_id=new).returning(table.c.id)).scalars().all()
    return sorted(int(i) for i in ids)


def _move_offers(s: Session, old: int, new: int) -> list[list[int]]:
    """Offers to the survivor, ranked after its own in each run; ``[id, rank before]`` of each."""
    table = Offer.__table__
    offers = s.execute(select(table.c.id, table.c.run_id, table.c.rank).where(table.c.customer_id == old)
                       .order_by(table.c.id).with_for_update()).all()
    if not offers:
        return []
    top = dict(s.execute(select(table.c.run_id, func.max(table.c.rank)).where(table.c.customer_id == new)
                         .group_by(table.c.run_id)).all())
    s.execute(update(table).where(table.c.id == bindparam("oid")).values(customer_id=new, rank=bindparam("new_rank")),
              [{"oid": i, "new_rank": rank + int(top.get(run, 0) or 0)} for i, run, rank in offers])
    return [[int(i), int(rank)] for i, _, rank in offers]


def _move_back(s: Session, model, ids: list[int], survivor: int, merged: int) -> int:
    """Rows ``ids`` that still belong to the survivor go back to the merged customer; how many did."""
    table, done = model.__table__, 0
    for start in range(0, len(ids), CHUNK):
        result = s.execute(update(table).where(table.c.id.in_(ids[start:start + CHUNK]),
                                               table.c.customer_id == survivor).values(customer_id=merged))
        done += result.rowcount or 0
    return done


def _move_offers_back(s: Session, moved: list, survivor: int, merged: int) -> int:
    """Offers ``[id, rank before]`` still with the survivor go back, at their old rank; how many did."""
    table, done = Offer.__table__, 0
    for offer_id, rank in moved:
        result = s.execute(update(table).where(table.c.id == int(offer_id), table.c.customer_id == survivor)
                           .values(customer_id=merged, rank=int(rank)))
        done += result.rowcount or 0
    return done


def _consent(s: Session, customer_ids: list[int], now: dt.datetime) -> dict[str, list]:
    """Each dated attribute's value in force at ``now`` for each customer: attribute -> values found."""
    a = CustomerAttribute
    rows = s.execute(select(a.customer_id, a.attribute, a.value, a.effective_from)
                     .where(a.customer_id.in_(customer_ids), a.effective_from <= now)
                     .order_by(a.customer_id, a.attribute, a.effective_from, a.id)).all()
    latest = {(c, attr): value for c, attr, value, _ in rows}  # ordered: the last one wins
    values: dict[str, list] = {}
    for (_, attr), value in latest.items():
        if value not in (None, ""):
            values.setdefault(attr, []).append(value)
    return values


def _restrict_consent(s: Session, workspace_id: int, survivor: int, before: dict, now: dt.datetime) -> list[int]:
    """Add the most restrictive value of both records where the survivor's merged history says otherwise."""
    wanted = {}
    for attr, strict in RESTRICTIVE.items():
        found = [str(v).strip().lower() for v in before.get(attr, [])]
        if found:
            wanted[attr] = strict if strict in found else found[0]
    contacts = [str(v) for v in before.get("last_contacted_at", [])]
    if contacts:
        wanted["last_contacted_at"] = max(contacts)  # ISO text: the latest contact sorts last
    now_values = _consent(s, [survivor], now)
    added = []
    for attr, value in wanted.items():
        current = [str(v).strip().lower() if attr != "last_contacted_at" else str(v) for v in now_values.get(attr, [])]
        if current != [value]:
            row = CustomerAttribute(workspace_id=workspace_id, customer_id=survivor, attribute=attr, value=value,
                                    effective_from=now, batch_id=None)
            s.add(row)
            s.flush()
            added.append(int(row.id))
    return added


def _forget_overview(s: Session, workspace_id: int) -> None:
    """The kept Overview figures count customers: computed again on the next visit."""
    s.execute(delete(OverviewSummary).where(OverviewSummary.workspace_id == workspace_id))


__all__ = ["dismiss_proposal", "merge_customers", "propose_merges", "undo_merge"]
