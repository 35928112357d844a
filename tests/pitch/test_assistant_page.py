"""AppTest of the pitch assistant on the Offers and Customer 360 pages: draft, see why, edit, save, batch."""

from __future__ import annotations

from crm_core.display_text import shown
from crm_core.pitch import as_plain_text
from crm_core.views.pitches import pitch_versions
from tests.apptest_support import app_test_of
from tests.pitch.conftest import KEY



def _ok(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


def _offers_page(role="analyst", row=0):
    """pages/offers.py with row ``row`` of the offer list selected: (AppTest, the selected offer's id and product)."""
    at = _ok(app_test_of("pages/offers.py", role, workspace="shop").run())
    table = next(df.value for df in at.dataframe if "explanation" in df.value.columns)
    at.session_state["offers_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    _ok(at.run())
    return at, int(table["offer_id"].iloc[row]), str(table["product_name"].iloc[row])


def _captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def _markdown(at) -> str:
    return "\n".join(m.value for m in [*at.markdown, *at.caption, *at.success, *at.warning, *at.info])


def test_without_a_key_the_draft_is_a_template_that_says_why_and_an_edit_is_version_2(run_db):
    at, offer_id, product = _offers_page()
    assert "No pitch for this offer yet" in _captions(at)
    _ok(at.button(key="offers_pitch_draft").click().run())
    (v1,) = pitch_versions(run_db, offer_id)
    assert (v1.source, v1.reason) == ("template", "no API key configured")
    assert shown("Template: no API key configured", 160) in _captions(at)
    assert at.text_area(key="offers_pitch_text").value == v1.text and product in v1.text
    assert at.text_input(key="offers_pitch_subject").value == v1.subject

    edited = f"Hello,\n\n<b>{product}</b> is [waiting](https://evil.example) for you.\n\n# Thanks"
    at.text_area(key="offers_pitch_text").set_value(edited)
    _ok(at.button(key="offers_pitch_save").click().run())
    versions = pitch_versions(run_db, offer_id)
    assert [(v.version, v.source) for v in versions] == [(2, "edited"), (1, "template")]
    assert versions[0].text == as_plain_text(edited) == f"Hello,\n\n{product} is [waiting] for you.\n\nThanks"
    assert any("Saved as version 2" in s.value for s in at.success)
    assert at.text_area(key="offers_pitch_text").value == versions[0].text  # the saved, plain text is shown
    assert "Edited by analyst" in _captions(at).replace("\\", "")
    assert "evil.example" not in _markdown(at) and "<b>" not in _markdown(at)  # the draft is never Markdown


def test_a_key_in_the_secrets_file_drafts_with_the_model(run_db, stub):
    server = stub("answer")
    at, offer_id, product = _offers_page(row=1)
    at.secrets["ANTHROPIC_API_KEY"] = KEY
    _ok(at.button(key="offers_pitch_draft").click().run())
    (v1,) = pitch_versions(run_db, offer_id)
    assert (v1.source, v1.model) == ("llm", "claude-sonnet-5-5") and server.requests == 1
    assert shown("Drafted by claude-sonnet-5-5", 160) in _captions(at)
    assert product in at.text_area(key="offers_pitch_text").value and KEY not in _markdown(at)


def test_a_viewer_reads_the_pitch_as_plain_text_and_cannot_draft(run_db, analyst):
    at, offer_id, _ = _offers_page()
    _ok(at.button(key="offers_pitch_draft").click().run())
    (v1,) = pitch_versions(run_db, offer_id)
    viewer, _, _ = _offers_page("viewer")
    assert not [b for b in viewer.button if b.key and b.key.startswith("offers_pitch")]
    assert [t.value for t in viewer.text] == [f"Subject: {v1.subject}", v1.text]
    assert not viewer.text_area and "offers_batch_start" not in [b.key for b in viewer.button]


def test_the_batch_panel_shows_its_cost_first_then_drafts_the_listed_offers(run_db, stub, monkeypatch):
    stub("answer")
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    at = _ok(app_test_of("pages/offers.py", "analyst", workspace="shop").run())
    at.multiselect(key="offers_scenario").set_value(["CROSS_SELL"]).run()
    listed = next(df.value for df in at.dataframe if "explanation" in df.value.columns)["offer_id"].tolist()
    estimate = next(c.value for c in at.caption if f"{len(listed):,} offers, 5 at a time · estimate" in c.value)
    assert "output tokens, USD " in estimate and "$" not in estimate  # two $ would typeset maths
    assert not any(p for p in pitch_versions(run_db, listed[0]))
    _ok(at.button(key="offers_batch_start").click().run())
    assert at.success[0].value == shown(f"{len(listed)} of {len(listed)} pitches drafted and saved: {len(listed)} "
                                        "by the model (claude-sonnet-5-5), 0 from templates.", 300)
    assert all(len(pitch_versions(run_db, o)) == 1 for o in listed)


def test_customer_360_opens_the_assistant_for_the_chosen_offer(run_db):
    at = app_test_of("pages/customer.py", "analyst", workspace="shop")
    at.session_state["customer_id"] = "C0001"
    _ok(at.run())
    chosen = at.selectbox(key="cust_pitch_offer")
    assert len(chosen.options) >= 1
    offer_id = chosen.value
    _ok(at.button(key="cust_pitch_draft").click().run())
    (v1,) = pitch_versions(run_db, offer_id)
    assert at.text_area(key="cust_pitch_text").value == v1.text
