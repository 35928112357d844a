"""A saved pitch's checks become gate flags: a pending offer is re-gated, a decided one keeps its gate."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from crm_core.pitch import PitchConfig
from crm_core.pitch.service import draft_offer_pitch, save_edited_pitch
from crm_core.views.pitches import pitch_inputs, run_offer_ids
from crm_core.views.runs import latest_run
from crm_core.views.workspaces import get_workspace

FAILING = "Dear customer, get 20% off today!"  # no product, and a discount the offer does not carry


@pytest.fixture
def offer(run_db):
    """(db, the best-scoring offer's id): pending, PASS under the standard policy, NO_PITCH flagged."""
    ws = get_workspace(run_db, "shop")
    offer_id = run_offer_ids(run_db, latest_run(run_db, ws.id).id)[0]
    assert _stored(run_db, offer_id)[:2] == ("pending", "PASS") and "NO_PITCH" in _stored(run_db, offer_id)[2]
    return run_db, offer_id


def _stored(db, offer_id):
    """(state, gate, flags, has_pitch, pitch_failures, version) as the offers table holds them."""
    with db.engine.connect() as c:
        state, gate, flags, facts, version = c.execute(
            text("SELECT state, gate, flags, facts_json, version FROM offers WHERE id = :i"), {"i": offer_id}).one()
    facts = json.loads(facts) if isinstance(facts, str) else facts
    return state, gate, flags or "", facts["has_pitch"], facts["pitch_failures"], version


def test_a_failed_check_flags_a_pending_offer_and_sends_it_to_review(offer, analyst):
    db, offer_id = offer
    saved = save_edited_pitch(db, analyst, offer_id, text=FAILING, tone="formal", channel="sms")
    assert [f.code for f in saved.failures] == ["PITCH_NO_PRODUCT", "PITCH_DISCOUNT"]
    assert saved.gate == "REVIEW" and "PITCH_CHECK_FAILED" in saved.flags.split(";")
    state, gate, flags, has_pitch, failures, _ = _stored(db, offer_id)
    assert (state, gate, has_pitch, failures) == ("pending", "REVIEW", True, "PITCH_NO_PRODUCT;PITCH_DISCOUNT")
    assert "PITCH_CHECK_FAILED" in flags.split(";") and "NO_PITCH" not in flags.split(";")


def test_a_newer_passing_version_lifts_the_flag(offer, analyst):
    db, offer_id = offer
    save_edited_pitch(db, analyst, offer_id, text=FAILING, tone="formal", channel="sms")
    passing = draft_offer_pitch(db, analyst, offer_id, tone="formal", channel="sms", config=PitchConfig())
    assert passing.source == "template" and passing.failures == () and passing.version == 2
    _, gate, flags, has_pitch, failures, _ = _stored(db, offer_id)
    assert (gate, has_pitch, failures) == ("PASS", True, "") == (passing.gate, True, "")
    assert "PITCH_CHECK_FAILED" not in flags and "NO_PITCH" not in flags


def test_a_failed_check_does_not_touch_an_approved_offer(offer, analyst):
    db, offer_id = offer
    with db.engine.begin() as c:
        c.execute(text("UPDATE offers SET state = 'approved' WHERE id = :i"), {"i": offer_id})
    before = _stored(db, offer_id)
    saved = save_edited_pitch(db, analyst, offer_id, text=FAILING, tone="formal", channel="sms")
    assert saved.version == 1 and saved.failures and saved.gate == "PASS"  # the pitch is saved...
    assert _stored(db, offer_id) == before  # ...and the decided offer keeps its gate, flags, facts and version
    assert pitch_inputs(db, [offer_id])["state"].iloc[0] == "approved"
