"""Browser: an analyst imports a German semicolon CSV end to end and the rows are in the store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from crm_core.store import Database
from crm_core.store.models import ImportBatch, Transaction
from tests.browser.conftest import go, logged_in_page, reload_until

pytestmark = pytest.mark.browser
EXPORT = Path(__file__).resolve().parents[1] / "data" / "ingest" / "semicolon_decimal_comma.csv"


def test_analyst_uploads_a_csv_checks_the_preview_and_imports_it(browser, own_served_app):
    app = own_served_app
    with logged_in_page(browser, app, height=1100) as page:
        go(page, "Import data")
        uploader = page.locator('input[type="file"]')
        reload_until(page, uploader)
        uploader.set_input_files(str(EXPORT))
        # How the app read the file: cp1252, semicolons, decimal comma; the preview and the proposed mapping.
        page.get_by_text(re.compile(r"Read as: .*cp1252.*semicolon")).wait_for()
        page.get_by_role("heading", name="Preview").wait_for()
        page.get_by_text("3 data rows", exact=False).wait_for()
        assert page.get_by_role("combobox", name="customer_id *").input_value() == "Kundennummer"
        assert page.get_by_role("combobox", name="invoice_date *").input_value() == "Rechnungsdatum"
        assert page.get_by_role("combobox", name="unit_price").input_value() == "Einzelpreis"

        page.get_by_role("button", name="Import").click()
        page.get_by_text("3 of 3 rows loaded", exact=False).wait_for()
        labels = [t.strip() for t in page.get_by_test_id("stMetricLabel").all_inner_texts()]
        values = [t.strip() for t in page.get_by_test_id("stMetricValue").all_inner_texts()]
        totals = dict(zip(labels, values))
        assert (totals["Read"], totals["Loaded"], totals["Rejected"]) == ("3", "3", "0")
        # the cancellation (negative quantity) is reported in the downloadable report
        page.get_by_role("button", name="Download the report (CSV)").wait_for()

    db = Database.open(app.database_url)
    with db.read() as s:
        batch = s.scalars(select(ImportBatch).order_by(ImportBatch.id.desc())).first()
        amounts = s.scalars(select(Transaction.amount_minor).where(Transaction.batch_id == batch.id)
                            .order_by(Transaction.line_no)).all()
        assert (batch.source_name, batch.status, batch.created_by) == (EXPORT.name, "loaded", "analyst")
    assert amounts == [246900, 399, -123450]  # 2 x 1.234,50 EUR; 3,99; a return netted
