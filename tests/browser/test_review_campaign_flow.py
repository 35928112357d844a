"""Browser: an analyst runs the pipeline; a manager approves the queue in bulk, builds and exports a campaign,
and the Excel file downloads and opens."""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import pytest
from sqlalchemy import func, select

from crm_core.store import Database
from crm_core.store.models import Campaign, Offer
from tests.browser.conftest import click_until, go, logged_in_page

pytestmark = pytest.mark.browser


def test_analyst_runs_and_a_manager_approves_builds_and_exports(browser, own_served_app, tmp_path):
    app = own_served_app
    with logged_in_page(browser, app, "analyst") as page:
        go(page, "Run pipeline")
        click_until(page.get_by_role("button", name="Run"),
                    page.get_by_text(re.compile(r"Run #\d+ as of 2024-03-28 stored")), attempts=3,
                    attempt_timeout_ms=60_000)
    db = Database.open(app.database_url)
    with db.read() as s:
        offers = s.scalar(select(func.count()).select_from(Offer))
        blocked = s.scalar(select(func.count()).select_from(Offer).where(Offer.gate == "BLOCK"))
    assert offers > 0

    with logged_in_page(browser, app, "manager", height=1400) as page:
        go(page, "Review queue")
        page.get_by_text(re.compile(r"All [\d,]+ matching the filter")).click()
        page.get_by_label("Reason", exact=True).and_(page.get_by_role("textbox")).fill("Checked in the weekly review")
        click_until(page.get_by_role("button", name="Approve"), page.get_by_text(re.compile(r"Approved [\d,]+")))
        summary = page.get_by_text(re.compile(r"Approved [\d,]+")).first.inner_text()
        assert f"Approved {offers - blocked:,}" in summary
        with db.read() as s:
            approved = s.scalar(select(func.count()).select_from(Offer).where(Offer.state == "approved"))
        assert approved == offers - blocked  # the blocked ones were skipped, every other one approved

        go(page, "Campaigns")
        page.get_by_label("Campaign name", exact=True).and_(page.get_by_role("textbox")).fill("Spring review")
        click_until(page.get_by_role("button", name="Create campaign"),
                    page.get_by_text(re.compile(r"Campaign #\d+ created")))
        click_until(page.get_by_role("button", name="Export (CSV and Excel)"),
                    page.get_by_role("button", name="Download Excel"))
        with page.expect_download() as download:
            page.get_by_role("button", name="Download Excel").click()
        path = tmp_path / "campaign.xlsx"
        download.value.save_as(path)

    book = openpyxl.load_workbook(path)
    assert len(book.sheetnames) == 2  # the campaign and the evidence pack
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert "customer_id" in header and "product_id" in header and len(body) > 0
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as z:
        assert not any(b"<f>" in z.read(n) for n in z.namelist() if n.endswith(".xml"))
    with db.read() as s:
        state, exported_by = s.execute(select(Campaign.state, Campaign.exported_by)).one()
        exported = s.scalar(select(func.count()).select_from(Offer).where(Offer.state == "exported"))
    assert state == "exported" and exported_by == "manager"
    assert exported == len(body)
