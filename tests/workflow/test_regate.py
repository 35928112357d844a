"""Re-gating offers nobody has decided yet, on the real pipeline's gated offers (SQLite file, and PostgreSQL)."""

from __future__ import annotations

import pytest

from crm_core.errors import ValidationError
from crm_core.gate import STRICT
from crm_core.store.audit_log import check_chain
from crm_core.workflow import regate
from crm_core.workflow.policies import set_active_policy
from crm_core.workflow.regate import regate_offers
from tests.workflow.gated_sample import (OPTED_OUT, UNKNOWN_CONSENT, events, gated, offers_by_id,  # noqa: F401
                                         offers_of, set_state)

PITCH_FAILED = {"has_pitch": True, "pitch_failures": "PITCH_URL;PITCH_PRICE"}


def _gates(offers: dict) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in offers.values():
        counts[o["gate"]] = counts.get(o["gate"], 0) + 1
    return dict(sorted(counts.items()))


def _flags(o: dict) -> set[str]:
    return set((o["flags"] or "").split(";")) - {""}


def test_activating_strict_blocks_unknown_consent_and_leaves_an_approved_offer_exactly_as_it_was(gated, admin):
    db, ws, _ = gated
    unknown = offers_of(db, UNKNOWN_CONSENT)
    set_state(db, unknown[0], "approved")
    before = offers_by_id(db)
    assert {before[i]["gate"] for i in unknown} == {"PASS"}  # a warning only under standard

    result = set_active_policy(db, admin, ws, "strict")

    after = offers_by_id(db)
    assert after[unknown[0]] == before[unknown[0]]  # decided: not one column touched
    undecided = {i: o for i, o in after.items() if i != unknown[0]}
    assert {undecided[i]["gate"] for i in unknown[1:]} == {"BLOCK"}  # strict escalates CONSENT_UNKNOWN
    for i, o in undecided.items():
        errors = _flags(o) & {"OPTED_OUT", "CONSENT_UNKNOWN"}
        assert o["gate"] == ("BLOCK" if errors else before[i]["gate"]), (i, o["flags"])
        assert (o["policy_name"], o["policy_version"], o["version"]) == ("strict", 1, before[i]["version"] + 1)
    assert result.considered == result.changed == len(undecided)
    assert result.gates_before == _gates({i: before[i] for i in undecided})
    assert result.gates_after == _gates(undecided)
    assert result.gates_after["BLOCK"] > result.gates_before["BLOCK"]


def test_activating_the_same_policy_again_writes_nothing(gated, admin):
    db, ws, _ = gated
    set_active_policy(db, admin, ws, "strict")
    before = offers_by_id(db)
    again = set_active_policy(db, admin, ws, "strict")
    assert again.changed == 0 and again.considered == len(before)
    assert offers_by_id(db) == before
    assert len(events(db, "offers.regate")) == 1  # the first re-gate only: nothing changed the second time


def test_pitch_failures_move_a_pass_offer_to_review_under_standard(gated):
    db, ws, _ = gated
    before = offers_by_id(db)
    target = next(i for i, o in before.items() if o["gate"] == "PASS" and _flags(o) == {"NO_PITCH"})
    with db.unit_of_work() as s:
        assert regate_offers(s, [target], fact_updates={target: PITCH_FAILED}) == 1
    o = offers_by_id(db)[target]
    assert (o["gate"], o["flags"], o["policy_name"]) == ("REVIEW", "PITCH_CHECK_FAILED", "standard")
    assert o["audit_score"] < before[target]["audit_score"]
    assert o["version"] == before[target]["version"] + 1
    assert {k: o["facts_json"][k] for k in PITCH_FAILED} == PITCH_FAILED
    assert {k: v for k, v in o["facts_json"].items() if k not in PITCH_FAILED} == \
        {k: v for k, v in before[target]["facts_json"].items() if k not in PITCH_FAILED}
    (event,) = events(db, "offers.regate")
    assert event["actor"] == "system" and event["after_json"]["offer_ids"] == [target]
    assert event["after_json"]["gates_after"] == {"REVIEW": 1}
    with db.read() as s:
        assert check_chain(s).intact


def test_a_passing_pitch_clears_no_pitch_and_only_that_offer_changes(gated):
    db, _, _ = gated
    before = offers_by_id(db)
    target = next(i for i, o in before.items() if _flags(o) == {"NO_PITCH"})
    with db.unit_of_work() as s:
        assert regate_offers(s, [target], fact_updates={target: {"has_pitch": True, "pitch_failures": ""}}) == 1
    after = offers_by_id(db)
    assert (after[target]["gate"], after[target]["flags"], after[target]["audit_score"]) == ("PASS", None, 100)
    assert {i: o for i, o in after.items() if i != target} == {i: o for i, o in before.items() if i != target}


def test_decided_and_superseded_offers_are_never_regated(gated):
    db, _, _ = gated
    ids = offers_of(db, UNKNOWN_CONSENT)
    for offer_id, state in zip(ids, ("approved", "rejected", "superseded")):
        set_state(db, offer_id, state)
    before = offers_by_id(db)
    with db.unit_of_work() as s:
        assert regate_offers(s, ids, policy=STRICT, fact_updates={i: PITCH_FAILED for i in ids}) == 0
    assert offers_by_id(db) == before
    assert events(db, "offers.regate") == []


def test_a_flagged_offer_is_still_undecided_and_is_regated(gated):
    db, _, _ = gated
    offer_id = offers_of(db, UNKNOWN_CONSENT)[0]
    set_state(db, offer_id, "flagged")
    with db.unit_of_work() as s:
        assert regate_offers(s, [offer_id], policy=STRICT) == 1
    assert offers_by_id(db)[offer_id]["gate"] == "BLOCK"
    assert offers_by_id(db)[offer_id]["state"] == "flagged"


def test_an_explicit_policy_judges_without_changing_the_workspace_policy(gated):
    db, ws, _ = gated
    ids = offers_of(db, UNKNOWN_CONSENT) + offers_of(db, OPTED_OUT)
    with db.unit_of_work() as s:
        assert regate_offers(s, ids, policy=STRICT) == len(ids)
    after = offers_by_id(db)
    assert {after[i]["gate"] for i in ids} == {"BLOCK"}
    with db.unit_of_work() as s:  # without a policy: the workspace's own (standard) again
        assert regate_offers(s, ids) == len(ids)
    assert [offers_by_id(db)[i]["gate"] for i in ids[:3]] == ["PASS"] * 3


@pytest.mark.parametrize("updates, message", [
    ({"has_pich": True}, "unknown fact 'has_pich'"),
    ({"has_pitch": "yes"}, "has_pitch must be True or False"),
    ({"days_since_bought": 2.5}, "days_since_bought must be a whole number"),
])
def test_bad_fact_updates_are_refused_before_anything_is_written(gated, updates, message):
    db, _, _ = gated
    offer_id = offers_of(db, OPTED_OUT)[0]
    before = offers_by_id(db)
    with pytest.raises(ValidationError, match=message), db.unit_of_work() as s:
        regate_offers(s, [offer_id], fact_updates={offer_id: updates})
    assert offers_by_id(db) == before


def test_an_update_for_an_offer_not_being_regated_is_refused(gated):
    db, _, _ = gated
    first, second = offers_of(db, OPTED_OUT)[:2]
    with pytest.raises(ValidationError, match="not among the offers"), db.unit_of_work() as s:
        regate_offers(s, [first], fact_updates={second: {"has_pitch": True}})


def test_small_chunks_give_the_same_verdicts_as_one_chunk(gated, admin, monkeypatch, tmp_path):
    db, ws, _ = gated
    monkeypatch.setattr(regate, "READ_CHUNK", 7)  # 120 offers: 18 reads, id ranges that end mid-customer
    monkeypatch.setattr(regate, "IN_CHUNK", 5)
    result = set_active_policy(db, admin, ws, "strict")
    after = offers_by_id(db)
    assert result.considered == len(after)
    unknown = offers_of(db, UNKNOWN_CONSENT)
    assert {i for i, o in after.items() if o["gate"] == "BLOCK"} == set(unknown) | set(offers_of(db, OPTED_OUT))
    assert {o["policy_name"] for o in after.values()} == {"strict"}


@pytest.mark.postgres
def test_regating_on_postgresql_reads_facts_and_writes_verdicts(pg_db, admin):
    from crm_core.auth import Actor, Role
    from crm_core.config import Config
    from crm_core.services.pipeline import run_pipeline
    from crm_core.store.models import Customer, CustomerAttribute
    from crm_core.views.workspaces import get_workspace
    from tests.app.sample_db import build_sample_database
    from tests.apptest_support import cheap_bcrypt
    from tests.workflow.gated_sample import CONTACT_DATE, ON_FILE_SINCE

    with cheap_bcrypt():
        ids = build_sample_database(pg_db.url, with_users=False, with_bank=False)
    with pg_db.unit_of_work() as s:
        opted_out = s.query(Customer).filter_by(customer_code=OPTED_OUT).one()
        s.add(CustomerAttribute(workspace_id=ids["shop_id"], customer_id=opted_out.id, attribute="email_opt_in",
                                value="false", effective_from=ON_FILE_SINCE))
    run_pipeline(pg_db, get_workspace(pg_db, "shop"), Actor("ann", Role.ANALYST), Config(),
                 contact_date=CONTACT_DATE)
    before = offers_by_id(pg_db)
    assert {o["gate"] for o in before.values()} == {"PASS", "BLOCK"}  # consent unknown: a warning only
    set_state(pg_db, min(before), "approved")
    result = set_active_policy(pg_db, admin, ids["shop_id"], "strict")
    after = offers_by_id(pg_db)
    assert after[min(before)] == {**before[min(before)], "state": "approved", "decided_by": "max",
                                  "version": before[min(before)]["version"] + 1}
    assert result.changed == len(before) - 1
    assert {o["gate"] for i, o in after.items() if i != min(before)} == {"BLOCK"}  # everyone else: consent unknown
    target = offers_of(pg_db, OPTED_OUT)[0]
    with pg_db.unit_of_work() as s:
        assert regate_offers(s, [target], fact_updates={target: PITCH_FAILED}) == 1
    o = offers_by_id(pg_db)[target]
    assert o["facts_json"]["pitch_failures"] == "PITCH_URL;PITCH_PRICE" and o["gate"] == "BLOCK"
    assert _flags(o) == {"OPTED_OUT", "PITCH_CHECK_FAILED"}
    with pg_db.read() as s:
        assert check_chain(s).intact
