"""Browser: an analyst imports an outcome file, reads the campaign's uplift from it and downloads the PDF report."""

from __future__ import annotations

import re
import subprocess

import pytest

from crm_core.auth import Actor, Role
from crm_core.config import Config
from crm_core.services.pipeline import run_pipeline
from crm_core.store import Database
from crm_core.views.workspaces import get_workspace
from tests.browser.conftest import go, logged_in_page
from tests.outcomes.sample_campaign import export_sample_campaign

pytestmark = pytest.mark.browser


@pytest.fixture
def campaign_app(own_served_app):
    """The served sample after one pipeline run and one exported campaign (20 treated, 20 held out)."""
    db = Database.open(own_served_app.database_url)
    shop = get_workspace(db, "shop")
    run = run_pipeline(db, shop, Actor("analyst", Role.ANALYST), Config())
    campaign_id, groups = export_sample_campaign(db, shop.id, run.run_id)
    db.engine.dispose()
    Database._open.pop(own_served_app.database_url, None)
    return own_served_app, campaign_id, groups


def _outcome_file(tmp_path, campaign_id: int, groups: dict) -> str:
    rows = [f"{code};Spring {campaign_id};ja;30,00;04.04.2024" for code in groups["treatment"][:12]]
    rows += [f"{code};Spring {campaign_id};nein;;05.04.2024" for code in groups["treatment"][12:]]
    rows += [f"{code};Spring {campaign_id};ja;12,50;06.04.2024" for code in groups["holdout"][:3]]
    path = tmp_path / "rueckmeldungen.csv"
    text = "Kundennummer;Kampagne;Gekauft;Umsatz;Antwortdatum\n" + "\n".join(rows) + "\n"
    path.write_text(text.replace(f"Spring {campaign_id}", f"#{campaign_id}"), encoding="utf-8")
    return str(path)


def test_analyst_imports_outcomes_sees_the_uplift_and_downloads_the_pdf(browser, campaign_app, tmp_path):
    app, campaign_id, groups = campaign_app
    with logged_in_page(browser, app, height=1400) as page:
        go(page, "Outcomes")
        # the campaign measured from later sales first: 15 of 20 treated bought, 2 of 20 held out
        page.get_by_test_id("stMetricValue").filter(has_text="75.0%").first.wait_for()

        page.get_by_role("tab", name="Outcome and experiment files").click()
        uploader = page.get_by_test_id("stFileUploader").filter(has_text="Outcome file (customer")
        uploader.locator('input[type="file"]').set_input_files(_outcome_file(tmp_path, campaign_id, groups))
        page.get_by_role("button", name="Import the outcome file").click()
        page.get_by_text("reads both day-first and month-first").wait_for()  # 04.04.2024: the importer asks
        page.get_by_test_id("stSelectbox").filter(has_text="Date format").click()
        page.get_by_role("option", name="day first (31/12/2024)").click()
        page.get_by_role("button", name="Import the outcome file").click()
        page.get_by_text(re.compile(r"23 of 23 rows loaded")).wait_for()

        page.get_by_role("tab", name="Campaign results").click()
        page.get_by_test_id("stRadio").get_by_text("Outcome file", exact=True).click()
        page.get_by_test_id("stMetricValue").filter(has_text="60.0%").first.wait_for()  # 12 of 20 from the file
        page.get_by_test_id("stMetricValue").filter(has_text="15.0%").first.wait_for()  # 3 of 20 held out
        chart = page.locator(".st-key-outcomes_uplift_scenario .js-plotly-plot").last
        chart.filter(has_text="Uplift by scenario (95 % interval)").wait_for()
        assert chart.locator(".point").count() >= 1  # the scenario's uplift with its interval bar

        page.get_by_role("tab", name="Reports").click()
        page.get_by_role("button", name="Build the PDF report").click()
        download_button = page.get_by_role("button", name="Download the PDF report")
        download_button.wait_for(timeout=180_000)
        with page.expect_download() as info:
            download_button.click()
        pdf = tmp_path / "report.pdf"
        info.value.save_as(pdf)

    assert pdf.read_bytes().startswith(b"%PDF-")
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True)
                    .stdout.decode().split())
    assert "Key figures" in text and "Campaign uplift" in text and "Verdict: Converts" in text
    listed = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, check=True, text=True).stdout
    assert sum(line.split()[2] == "image" for line in listed.splitlines()[2:]) == 3  # drawn by the app's chromium
