"""Browser: an admin changes a setting on the Settings page, runs the pipeline, and downloads the offers;
the run used the new version and the downloaded file shows it (two offers per customer instead of three)."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter

import pytest
from sqlalchemy import select

from crm_core.store import Database
from crm_core.store.models import ConfigVersion, PipelineRun
from tests.browser.conftest import click_until, go, logged_in_page

pytestmark = pytest.mark.browser


def test_admin_changes_top_n_runs_and_downloads_the_offers(browser, own_served_app, tmp_path):
    app = own_served_app
    db = Database.open(app.database_url)
    with logged_in_page(browser, app, "admin", height=1400) as page:
        go(page, "Settings")
        page.get_by_text("recommend", exact=True).first.click()  # the [recommend] table's expander
        top_n = page.get_by_label("top_n", exact=True)
        top_n.fill("2")
        page.get_by_label("Why (kept with the version and in the audit log)").first.fill("Two offers are enough")
        click_until(page.get_by_role("button", name="Save as a new version"),
                    page.get_by_text(re.compile(r"Saved settings version \d+")))
        version = int(re.search(r"version (\d+)",
                                page.get_by_text(re.compile(r"Saved settings version \d+")).inner_text()).group(1))

        go(page, "Run pipeline")
        click_until(page.get_by_role("button", name="Run"),
                    page.get_by_text(re.compile(r"Run #\d+ as of 2024-03-28 stored")), attempts=3,
                    attempt_timeout_ms=60_000)
        run_id = int(re.search(r"Run #(\d+)", page.get_by_text(re.compile(r"Run #\d+ as of")).first.inner_text())
                     .group(1))

        go(page, "Offers")
        button = page.get_by_role("button", name=re.compile(r"Download the [\d,]+ matching offers \(CSV\)"))
        offers_on_button = int(re.search(r"the ([\d,]+) matching", button.inner_text()).group(1).replace(",", ""))
        with page.expect_download() as download:
            button.click()
        path = tmp_path / "offers.csv"
        download.value.save_as(path)

    with db.read() as s:
        run_settings = s.scalar(select(PipelineRun.settings_version).where(PipelineRun.id == run_id))
        saved = s.scalar(select(ConfigVersion.id).where(ConfigVersion.version == version,
                                                        ConfigVersion.kind == "settings"))
    assert run_settings == version and saved is not None  # the run says which settings it used
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert len(rows) == offers_on_button > 0
    per_customer = Counter(row["Customer"] for row in rows)
    assert max(per_customer.values()) == 2  # the new top_n, not the default 3
    assert {row["Rank"] for row in rows} == {"1", "2"}
