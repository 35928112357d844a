"""The rules of four-eyes decisions, on a real SQLite file: who may decide what, and what is recorded."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm_core.auth import Actor, Role
from crm_core.errors import PermissionDenied, ValidationError
from crm_core.store.audit_log import check_chain
from crm_core.store.models import Decision, Offer
from crm_core.workflow import DecisionOutcome, decide_offers, offer_transitions, reopen_offers, resubmit_offers
from crm_core.workflow.decisions import BLOCKED, OWN_SUBMISSION
from tests.workflow.review_builders import decisions_per_offer, insert_pending_offers, offer_events, offer_states


def test_a_manager_approves_pending_offers_of_an_analyst(db, manager):
    ids = insert_pending_offers(db, 5)
    outcome = decide_offers(db, manager, ids, "approved")
    assert outcome.decided == tuple(ids) and outcome.skipped == {}
    assert {v[:3] for v in offer_states(db, ids).values()} == {("approved", 2, "max")}
    with db.read() as s:
        rows = s.execute(select(Decision.offer_id, Decision.decision, Decision.decided_by, Decision.state_before,
                                Decision.version_before)).all()
    assert sorted(rows) == [(i, "approved", "max", "pending", 1) for i in ids]


def test_no_self_approval_succeeds_among_1000(db):
    ids = insert_pending_offers(db, 1_000, submitted_by="max")
    outcome = decide_offers(db, Actor("max", Role.MANAGER), ids, "approved")
    assert outcome.decided == ()
    assert outcome.skipped == {i: OWN_SUBMISSION for i in ids}
    assert {v[0] for v in offer_states(db, ids).values()} == {"pending"}
    assert decisions_per_offer(db) == {}


def test_nobody_rejects_or_flags_their_own_submission_either(db):
    ids = insert_pending_offers(db, 2, submitted_by="ada")
    admin = Actor("ada", Role.ADMIN)
    assert decide_offers(db, admin, ids[:1], "rejected", reason="no").decided == ()
    assert decide_offers(db, admin, ids[1:], "flagged", reason="check").decided == ()
    assert decide_offers(db, Actor("max", Role.MANAGER), ids, "rejected", reason="no").decided == tuple(ids)


@pytest.mark.parametrize("who", ["viewer", "analyst"])
def test_below_manager_calling_approve_is_refused_and_changes_nothing(db, request, who):
    ids = insert_pending_offers(db, 3)
    with pytest.raises(PermissionDenied, match="manager"):
        decide_offers(db, request.getfixturevalue(who), ids, "approved")
    assert {v[0] for v in offer_states(db, ids).values()} == {"pending"}


def test_a_decision_on_an_old_version_changes_nothing(db, manager, analyst):
    ids = insert_pending_offers(db, 2, submitted_by="bob")
    decide_offers(db, manager, ids[:1], "flagged", reason="price looks wrong")
    resubmit_offers(db, analyst, ids[:1], note="price checked")  # pending again, now version 3
    outcome = decide_offers(db, Actor("mia", Role.MANAGER), ids, "approved", versions={ids[0]: 1, ids[1]: 1})
    assert outcome.decided == (ids[1],)
    assert outcome.skipped == {ids[0]: "changed since you loaded it (version 3, you saw 1)"}
    assert offer_states(db, ids)[ids[0]][:2] == ("pending", 3)


def test_the_loser_is_told_who_decided_and_when(db, manager):
    ids = insert_pending_offers(db, 1)
    decide_offers(db, manager, ids, "rejected", reason="off-brand")
    outcome = decide_offers(db, Actor("mia", Role.MANAGER), ids, "approved", versions={ids[0]: 1})
    with db.read() as s:
        when = s.scalar(select(Offer.decided_at).where(Offer.id == ids[0]))
    assert outcome.skipped == {ids[0]: f"already rejected by max at {when:%d %b %Y %H:%M} UTC"}


def test_a_blocked_offer_cannot_be_approved_but_can_be_rejected(db, manager):
    ids = insert_pending_offers(db, 4, gates=("BLOCK", "PASS"))
    outcome = decide_offers(db, manager, ids, "approved")
    assert outcome.decided == (ids[1], ids[3])
    assert outcome.skipped == {ids[0]: BLOCKED, ids[2]: BLOCKED}
    assert decide_offers(db, manager, ids, "rejected", reason="blocked").decided == (ids[0], ids[2])


@pytest.mark.parametrize("decision", ["rejected", "flagged"])
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_reject_and_flag_without_a_reason_decide_nothing(db, manager, decision, reason):
    ids = insert_pending_offers(db, 3)
    outcome = decide_offers(db, manager, ids, decision, reason=reason)
    assert outcome.decided == ()
    assert set(outcome.skipped) == set(ids)
    assert all("a reason is needed" in why for why in outcome.skipped.values())
    assert {v[0] for v in offer_states(db, ids).values()} == {"pending"}


def test_unknown_ids_are_skipped_and_duplicates_count_once(db, manager):
    ids = insert_pending_offers(db, 2)
    outcome = decide_offers(db, manager, [ids[0], 999_999, ids[0], ids[1]], "approved")
    assert outcome.decided == tuple(ids)
    assert outcome.skipped == {999_999: "no such offer"}
    assert decisions_per_offer(db) == {ids[0]: 1, ids[1]: 1}


def test_an_unknown_decision_word_is_a_validation_error(db, manager):
    with pytest.raises(ValidationError, match="approved, rejected, flagged"):
        decide_offers(db, manager, [1], "approve")


def test_a_reason_keeps_its_lines_and_an_overlong_one_decides_nothing(db, manager):
    ids = insert_pending_offers(db, 2)
    with pytest.raises(ValidationError, match="at most 2,000 characters; this one has 2,001"):
        decide_offers(db, manager, ids, "rejected", reason="x" * 2_001)
    assert {v[0] for v in offer_states(db, ids).values()} == {"pending"}
    outcome = decide_offers(db, manager, ids, "rejected", reason="  Wrong product.\nCustomer complained.  ")
    assert outcome.decided == tuple(ids)
    with db.read() as s:
        assert set(s.scalars(select(Decision.reason).where(Decision.offer_id.in_(ids)))) == {
            "Wrong product.\nCustomer complained."}


def test_every_decision_is_an_audit_event_with_before_after_and_why(db, manager):
    ids = insert_pending_offers(db, 3)
    decide_offers(db, manager, ids, "flagged", reason="check the price")
    events = offer_events(db)
    assert events == [("offer.flagged", str(i), "max", "manager", "check the price", {"state": "pending", "version": 1},
                       {"state": "flagged", "version": 2}) for i in sorted(ids)]
    with db.read() as s:
        assert check_chain(s).intact


def test_chunks_of_ids_give_the_same_result(db, manager, monkeypatch):
    monkeypatch.setattr(offer_transitions, "ID_CHUNK", 7)
    ids = insert_pending_offers(db, 100, gates=("PASS", "PASS", "BLOCK"))
    outcome = decide_offers(db, manager, ids, "approved")
    passing = tuple(offer for i, offer in enumerate(ids) if i % 3 != 2)
    assert outcome.decided == passing and len(outcome.skipped) == 33
    assert sorted(i for i, v in offer_states(db, ids).items() if v[0] == "approved") == list(passing)


def test_flagged_offers_are_resubmitted_by_the_analyst_who_then_submits_them(db, analyst):
    ids = insert_pending_offers(db, 2, submitted_by="bob")
    decide_offers(db, Actor("max", Role.MANAGER), ids[:1], "flagged", reason="wrong product")
    outcome = resubmit_offers(db, Actor("ann", Role.MANAGER), ids, note="swapped it")
    assert outcome.decided == (ids[0],) and outcome.skipped == {ids[1]: "not flagged: it is pending"}
    with db.read() as s:
        offer = s.get(Offer, ids[0])
        assert (offer.state, offer.submitted_by, offer.decided_by, offer.version) == ("pending", "ann", None, 3)
    # four-eyes again: ann resubmitted it, so ann cannot approve it
    assert decide_offers(db, Actor("ann", Role.MANAGER), ids[:1], "approved").skipped == {ids[0]: OWN_SUBMISSION}


def test_a_viewer_cannot_resubmit(db, viewer):
    with pytest.raises(PermissionDenied):
        resubmit_offers(db, viewer, [1])


def test_reopen_is_a_new_decision_and_keeps_the_old_one(db, manager):
    ids = insert_pending_offers(db, 3)
    decide_offers(db, manager, ids[:2], "approved")
    with db.unit_of_work() as s:  # the export (another use case) moved one on
        s.get(Offer, ids[1]).state = "exported"
    outcome = reopen_offers(db, Actor("mia", Role.MANAGER), ids, reason="approved by mistake")
    assert outcome.decided == (ids[0],)
    assert outcome.skipped == {ids[1]: "already exported to a campaign", ids[2]: "not decided: it is pending"}
    with db.read() as s:
        history = s.execute(select(Decision.decision, Decision.decided_by, Decision.state_before)
                            .where(Decision.offer_id == ids[0]).order_by(Decision.id)).all()
    assert history == [("approved", "max", "pending"), ("reopened", "mia", "approved")]
    assert offer_states(db, ids[:1])[ids[0]] == ("pending", 3, None)
    assert decide_offers(db, manager, ids[:1], "rejected", reason="not now").decided == (ids[0],)


def test_reopen_needs_a_reason_and_a_manager(db, manager, analyst):
    ids = insert_pending_offers(db, 1)
    decide_offers(db, manager, ids, "approved")
    assert reopen_offers(db, manager, ids, reason=" ").decided == ()
    with pytest.raises(PermissionDenied):
        reopen_offers(db, analyst, ids, reason="undo")
    assert offer_states(db, ids)[ids[0]][0] == "approved"


def test_the_summary_groups_skipped_offers_by_reason():
    outcome = DecisionOutcome((1, 2, 3), {4: "b reason", 5: "a reason", 6: "b reason"}, "approved")
    assert outcome.summary() == "Approved 3; skipped 3: b reason (2); a reason (1)"
    assert outcome.skipped_by_reason() == {"b reason": (4, 6), "a reason": (5,)}
    assert DecisionOutcome((1,), {}, "flagged").summary() == "Flagged 1"
    many = DecisionOutcome((), {i: f"reason {i}" for i in range(8)}, "rejected")
    assert many.summary(max_reasons=2).endswith("reason 0 (1); reason 1 (1); 6 more reasons")
