"""Browser: an analyst opens a customer's offer, drafts its pitch with the (stub) model, edits it and saves it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from crm_core.auth import Actor, Role
from crm_core.config import Config
from crm_core.services.pipeline import run_pipeline
from crm_core.store import Database
from crm_core.views.offers import customer_offers
from crm_core.views.pitches import pitch_versions
from crm_core.views.workspaces import get_workspace
from tests.browser.conftest import go, logged_in_page, serve
from tests.pitch.stub_server import StubAnthropic

pytestmark = pytest.mark.browser
KEY = "sk-ant-browser-test-not-a-real-key"
CUSTOMER = "C0001"


def _run_pipeline(url: str) -> int:
    """One pipeline run over the served sample's shop (the app reads it on the next page load)."""
    db = Database.open(url)
    return run_pipeline(db, get_workspace(db, "shop"), Actor("analyst", Role.ANALYST), Config()).run_id


def test_analyst_drafts_a_pitch_with_the_model_and_saves_an_edit(browser, chromium_path, tmp_path, monkeypatch):
    with StubAnthropic("answer") as stub:
        # the served app inherits this environment: the SDK talks to the stub, with a key
        monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.delenv("NEXTBEST_LLM", raising=False)
        with serve(tmp_path) as app:
            run_id = _run_pipeline(app.database_url)
            db = Database.open(app.database_url)
            offer = customer_offers(db, run_id, CUSTOMER).iloc[0]  # the Offer picker starts on rank 1
            offer_id, product = int(offer["offer_id"]), str(offer["product_name"])
            with logged_in_page(browser, app, height=1400) as page:
                go(page, "Customer 360")
                search = page.get_by_role("textbox", name="Find a customer")
                search.fill(CUSTOMER)
                search.press("Enter")
                page.get_by_role("button", name="Show").click()
                page.get_by_role("heading", name="Pitch").wait_for()
                assert page.get_by_role("combobox", name="Offer").input_value().startswith(f"#1 {product} (")

                page.get_by_role("button", name="Draft", exact=True).click()
                page.get_by_text("Drafted by claude-sonnet-5-5").wait_for()
                editor = page.get_by_role("textbox", name="Pitch (plain text: what you see is what is sent)")
                # the caption can show a moment before the text area gets the draft (same rerun, later delta)
                expect(editor).to_have_value(re.compile("We picked"), timeout=15_000)
                drafted = editor.input_value()
                assert product in drafted and "We picked" in drafted  # the stub's text, naming the product

                editor.fill(f"Hello,\n\n{product} is waiting for you.\n\nThe customer team")
                page.get_by_role("button", name="Save edit").click()
                page.get_by_text("Saved as version 2").wait_for()
                page.get_by_text(re.compile(r"^Version 2 · Edited by analyst · saved by analyst")).wait_for()
    versions = pitch_versions(db, offer_id)
    assert [(v.version, v.source, v.created_by) for v in versions] == [(2, "edited", "analyst"),
                                                                      (1, "llm", "analyst")]
    assert versions[1].model == "claude-sonnet-5-5" and product in versions[1].text
    assert stub.requests == 1 and KEY not in app.log_file.read_text()
