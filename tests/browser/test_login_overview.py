"""Browser: the demo analyst logs in and sees the Overview's KPI cards and a Plotly chart."""

from __future__ import annotations

import os
import re
import shutil
import stat
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshot-overview.png"
UPDATE_SCREENSHOT = "NEXTBEST_UPDATE_SCREENSHOT"
TIMEOUT_MS = 45_000


def _wait_for_cookie(context, name: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(c["name"] == name for c in context.cookies()):
            return
        time.sleep(0.2)
    raise AssertionError(f"the login cookie {name!r} was never set")


def test_demo_analyst_logs_in_and_sees_kpis_and_a_chart(browser, served_app, tmp_path):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(served_app.url)
        page.get_by_label("Username").wait_for()
        # The first start wrote the demo logins, readable by the owner only.
        assert stat.S_IMODE(os.stat(served_app.credentials_file).st_mode) == 0o600

        page.get_by_label("Username").fill("analyst")
        page.get_by_label("Password", exact=True).fill("wrong-password-x")
        page.get_by_role("button", name="Log in").click()
        page.get_by_text(re.compile("Wrong username or password")).wait_for()

        log_in(page, served_app, "analyst")
        page.get_by_role("heading", name="Overview").first.wait_for()  # .first: a rerun may show both runs' pages
        metrics = page.get_by_test_id("stMetric")
        metrics.nth(4).wait_for()
        # while a rerun is still drawing, the previous run's cards can show beside the new ones
        expect(page.get_by_test_id("stMetricLabel")).to_have_count(5, timeout=TIMEOUT_MS)
        labels = page.get_by_test_id("stMetricLabel").all_inner_texts()
        assert [label.strip() for label in labels] == ["Customers", "Revenue", "Active customers",
                                                       "Average order value", "Last run"]
        assert page.get_by_test_id("stMetricValue").first.inner_text().strip() == "40"
        chart = page.locator(".js-plotly-plot").first
        chart.wait_for()
        assert page.locator(".js-plotly-plot .main-svg").count() >= 2, "Plotly drew the chart"
        assert page.get_by_text("Net revenue by month").count() >= 1
        # The analyst's menu has the analyst pages and not the admin page.
        nav = page.get_by_test_id("stSidebarNav")
        assert nav.get_by_text("Import data").count() == 1
        assert nav.get_by_text("Admin").count() == 0

        page.wait_for_timeout(500)  # let the chart finish its transition before the picture
        shot = tmp_path / "overview.png"
        page.screenshot(path=str(shot), full_page=False)
        assert shot.stat().st_size > 10_000
        if os.environ.get(UPDATE_SCREENSHOT) == "1" or not SCREENSHOT.exists():
            SCREENSHOT.parent.mkdir(exist_ok=True)
            shutil.copyfile(shot, SCREENSHOT)
    finally:
        context.close()


def test_viewer_opening_the_admin_url_does_not_get_the_admin_page(browser, served_app):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(served_app.url)
        page.get_by_label("Username").wait_for()
        log_in(page, served_app, "viewer")
        page.get_by_role("heading", name="Overview").first.wait_for()  # .first: a rerun may show both runs' pages
        _wait_for_cookie(context, "nextbest_auth")
        page.goto(f"{served_app.url}/admin")  # a new session: the cookie logs the viewer back in
        page.get_by_text("Page not found").wait_for()
        page.get_by_role("heading", name="Overview").first.wait_for()  # .first: a rerun may show both runs' pages
        assert page.get_by_role("heading", name="Admin").count() == 0
        assert page.get_by_text("Reset password").count() == 0
    finally:
        context.close()
