"""The pitch use cases on a real database: versions, what a draft is made from, the audit trail, roles."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from crm_core.errors import PermissionDenied, ValidationError
from crm_core.pitch import PitchConfig, PitchInputError
from crm_core.pitch.service import draft_offer_pitch, draft_offers_batch, save_edited_pitch
from crm_core.store.audit_log import check_chain
from crm_core.store.models import AuditEvent, Pitch
from crm_core.views.pitches import newest_pitches, offer_pitch, pitch_inputs, pitch_versions, run_offer_ids
from crm_core.views.offers import offers_frame
from crm_core.views.runs import latest_run
from crm_core.views.workspaces import get_workspace
from tests.pitch.conftest import KEY

CONFIG = PitchConfig(deadline_seconds=2.0, timeout_seconds=3.0)


@pytest.fixture
def shop(run_db):
    """(db, offer ids of the shop's run, best score first)."""
    ws = get_workspace(run_db, "shop")
    return run_db, run_offer_ids(run_db, latest_run(run_db, ws.id).id)


def _draft(db, actor, offer_id, **kwargs):
    args = {"tone": "friendly", "channel": "email", "config": CONFIG, **kwargs}
    return draft_offer_pitch(db, actor, offer_id, **args)


def _product(db, offer_id) -> str:
    return pitch_inputs(db, [offer_id])["product_name"].iloc[0]


def test_drafting_again_and_editing_save_versions_1_2_3_and_the_newest_is_the_pitch(shop, analyst, stub):
    db, ids = shop
    offer, product = ids[0], _product(db, ids[0])
    first = _draft(db, analyst, offer, tone="formal")  # no key anywhere: the template, saying why
    assert (first.version, first.source, first.model, first.reason_code) == (1, "template", None, "NO_API_KEY")
    assert first.described == "Template: no API key configured" and product in first.text
    stub("answer")
    second = _draft(db, analyst, offer, api_key=KEY)
    assert (second.version, second.source, second.model) == (2, "llm", "claude-sonnet-5-5")
    assert second.described == "Drafted by claude-sonnet-5-5" and product in second.text
    third = save_edited_pitch(db, analyst, offer, text=f"Dear customer,\n\n**{product}** is [here](https://x.example)"
                              " <b>for you</b>.", subject="Just for *you*", tone="formal", channel="email")
    assert (third.version, third.source, third.model, third.created_by) == (3, "edited", None, "ann")
    assert third.text == f"Dear customer,\n\n{product} is [here] for you." and third.subject == "Just for you"
    assert third.described == "Edited by ann"
    assert [v.version for v in pitch_versions(db, offer)] == [3, 2, 1]
    assert [v.source for v in pitch_versions(db, offer)] == ["edited", "llm", "template"]
    newest = offer_pitch(db, offer)
    assert (newest.version, newest.text, newest.pitch_id) == (3, third.text, third.pitch_id)
    table = newest_pitches(db, ids[:3])
    assert table[["offer_id", "version", "source"]].values.tolist() == [[offer, 3, "edited"]]
    assert offer_pitch(db, ids[1]) is None and pitch_versions(db, ids[1]) == ()


def test_the_draft_is_made_from_the_offer_through_the_allowlist(shop, analyst, stub):
    db, ids = shop
    server = stub("answer")
    row = pitch_inputs(db, [ids[0]]).iloc[0]
    _draft(db, analyst, ids[0], api_key=KEY)
    _draft(db, analyst, ids[0], api_key=KEY, config=PitchConfig(include_first_name=True))
    sent = [json.loads(b["messages"][0]["content"].split("<offer_data>\n")[1].split("\n</offer_data>")[0])
            for b in server.bodies]
    assert {k: sent[0][k] for k in ("segment", "persona", "scenario", "product_name", "family", "currency")} == {
        "segment": row.segment_label, "persona": row.persona, "scenario": row.scenario,
        "product_name": row.product_name, "family": row.family, "currency": "GBP"}
    assert sent[0]["reasons"] == [row.explanation] and row.explanation.startswith("Bought ")
    assert sent[0]["price"] == "22.50" == f"{float(row.price):.2f}"  # the catalogue's 2250 pence
    assert sent[0]["first_name"] is None and sent[1]["first_name"] == "First" != row.first_name  # cleaned: no digits
    assert row.customer_id not in json.dumps(server.bodies)  # ids never leave
    assert "English" in server.bodies[0]["system"]


def test_the_workspace_language_is_the_pitch_language(shop, analyst, stub):
    db, ids = shop
    server = stub("answer")
    with db.engine.begin() as c:
        c.execute(text("UPDATE workspaces SET language = 'fr' WHERE name = 'shop'"))
    saved = _draft(db, analyst, ids[0], api_key=KEY)
    assert saved.language == "fr" and "French" in server.bodies[0]["system"]


def test_the_audit_events_say_who_saved_which_version_but_never_the_text(shop, analyst, stub):
    db, ids = shop
    stub("answer")
    drafted = _draft(db, analyst, ids[0], api_key=KEY, channel="sms", tone="concise")
    edited = save_edited_pitch(db, analyst, ids[0], text=f"ZEBRA SENTINEL {_product(db, ids[0])}", tone="concise",
                               channel="sms")
    with db.read() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "pitch.saved").order_by(AuditEvent.id)).all()
        assert [(e.actor, e.actor_role, e.entity, e.entity_id) for e in events] == [
            ("ann", "analyst", "pitch", str(drafted.pitch_id)), ("ann", "analyst", "pitch", str(edited.pitch_id))]
        assert [e.after_json for e in events] == [
            {"offer_id": ids[0], "pitch_id": p.pitch_id, "version": p.version, "source": p.source, "model": p.model,
             "tone": "concise", "channel": "sms", "language": "en", "request_hash": p.request_hash,
             "reason_code": p.reason_code, "failures": []} for p in (drafted, edited)]
        assert len(drafted.request_hash) == 64 and drafted.request_hash == edited.request_hash
        every_event = json.dumps([[e.before_json, e.after_json, e.reason, e.entity_id] for e in
                                  s.scalars(select(AuditEvent))])
        assert check_chain(s).intact
    for secret in ("ZEBRA", "SENTINEL", drafted.text, KEY, "3f9c0e7d1b2a"):
        assert secret not in every_event


def test_roles_below_analyst_may_not_draft_edit_or_batch(shop, viewer, stub):
    db, ids = shop
    server = stub("answer")
    for call in (lambda: _draft(db, viewer, ids[0], api_key=KEY),
                 lambda: save_edited_pitch(db, viewer, ids[0], text="Hello", tone="formal", channel="sms"),
                 lambda: draft_offers_batch(db, viewer, ids[:3], tone="formal", channel="sms", config=CONFIG,
                                            api_key=KEY)):
        with pytest.raises(PermissionDenied, match="needs the analyst role"):
            call()
    with db.read() as s:
        assert s.scalars(select(Pitch)).all() == [] and server.connections == 0


def test_managers_and_admins_may_draft(shop, manager, admin):
    db, ids = shop
    assert _draft(db, manager, ids[0]).created_by == "max" and _draft(db, admin, ids[0]).version == 2


@pytest.mark.parametrize("kwargs, error", [
    ({"text": "  <b></b>  "}, "empty"), ({"text": "x" * 10_001}, "10,000"), ({"tone": "sarcastic"}, "tone"),
    ({"channel": "fax"}, "channel")])
def test_an_edit_that_cannot_be_kept_is_refused_and_saves_nothing(shop, analyst, kwargs, error):
    db, ids = shop
    args = {"text": "Hello", "tone": "formal", "channel": "email", **kwargs}
    with pytest.raises(ValidationError if "text" in kwargs else PitchInputError, match=error):
        save_edited_pitch(db, analyst, ids[0], **args)
    assert pitch_versions(db, ids[0]) == ()


def test_an_edit_may_name_the_customer_but_not_another(shop, analyst):
    db, ids = shop
    rows = pitch_inputs(db, ids)
    own, product = rows["first_name"].iloc[0], rows["product_name"].iloc[0]
    other = rows.loc[rows["customer_pk"] != rows["customer_pk"].iloc[0], "first_name"].iloc[0]
    fine = save_edited_pitch(db, analyst, ids[0], text=f"Dear {own}, {product} is here.", tone="formal",
                             channel="sms")
    wrong = save_edited_pitch(db, analyst, ids[0], text=f"Dear {other}, {product} is here.", tone="formal",
                              channel="sms")
    assert fine.failures == () and [f.code for f in wrong.failures] == ["PITCH_OTHER_NAME"]


def test_the_inputs_are_what_the_offers_page_shows(shop):
    db, ids = shop
    page = offers_frame(db, latest_run(db, get_workspace(db, "shop").id).id).set_index("offer_id")
    inputs = pitch_inputs(db, ids[::-1])
    assert inputs["offer_id"].tolist() == ids[::-1] and len(ids) == 120  # every offer, in the order asked
    shown_on_page = page.loc[inputs["offer_id"]]
    for column in ("customer_id", "state", "segment_label", "scenario", "product_name", "family", "explanation"):
        assert inputs[column].tolist() == shown_on_page[column].astype(object).tolist(), column
    assert inputs["persona"].notna().all() and pitch_inputs(db, [999_999]).empty
