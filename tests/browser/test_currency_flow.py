"""Browser: an analyst's first import of a euro export creates the workspace in EUR; the Overview shows euros."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from crm_core.store import Database
from crm_core.views.workspaces import get_workspace
from tests.browser.conftest import (FLOW_TIMEOUT_MS, ROOT, ServedApp, _free_port, _wait_healthy, choose_option, go,
                                    log_in)

pytestmark = pytest.mark.browser

EXPORT = ("Kunde;Datum;Betrag\n"
          "K1;03.01.2024;1.234,50 €\n"
          "K1;10.02.2024;99,90 €\n"
          "K2;15.02.2024;45,00 €\n"
          "K3;01.03.2024;€ 12,00\n")


@contextlib.contextmanager
def _serve_empty(tmp):
    """NextBest over an upgraded database with no workspace at all (the first start adds the demo users)."""
    url_db = f"sqlite:///{tmp / 'empty.db'}"
    Database.open(url_db).upgrade()
    port = _free_port()
    env = {**os.environ, "NEXTBEST_DATABASE_URL": url_db,
           "NEXTBEST_CREDENTIALS_FILE": str(tmp / "demo_credentials.txt"),
           "NEXTBEST_COOKIE_KEY_FILE": str(tmp / "secrets" / "cookie_key"),
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    log_file = tmp / "streamlit.log"
    with open(log_file, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "main.py"), "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log_file)
        yield ServedApp(url, tmp / "demo_credentials.txt", log_file, url_db)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # our own process group only
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture
def empty_app(tmp_path, chromium_path):
    with _serve_empty(tmp_path) as app:
        yield app


def test_first_import_of_euro_amounts_makes_a_euro_workspace(browser, empty_app, tmp_path):
    export = tmp_path / "umsatz.csv"
    export.write_text(EXPORT, encoding="utf-8")
    context = browser.new_context(viewport={"width": 1440, "height": 1300})
    page = context.new_page()
    page.set_default_timeout(FLOW_TIMEOUT_MS)
    try:
        page.goto(empty_app.url)
        log_in(page, empty_app, "analyst")
        # Once the page settles: right after logging in, the previous script run's copy can linger beside it.
        expect(page.get_by_text("No data is loaded yet", exact=False)).to_have_count(1, timeout=FLOW_TIMEOUT_MS)
        go(page, "Import data")
        name = page.get_by_role("textbox", name="New workspace")
        name.fill("Laden Berlin")
        name.press("Enter")
        page.locator('input[type="file"]').set_input_files(str(export))
        page.get_by_role("heading", name="New workspace").wait_for()
        page.get_by_text('Detected: EUR (from "€" in Betrag', exact=False).wait_for()
        assert page.get_by_role("combobox", name="Currency").input_value() == "EUR"
        choose_option(page, page.get_by_role("combobox", name="Time zone"), "Europe/Berlin")
        page.get_by_role("button", name="Import").click()
        page.get_by_text("4 of 4 rows loaded", exact=False).wait_for()

        go(page, "Overview")
        revenue = page.get_by_test_id("stMetric").filter(has_text="Revenue").get_by_test_id("stMetricValue")
        assert revenue.inner_text().strip() == "€1,391.40"
        assert "£" not in page.get_by_test_id("stMain").inner_text()
    finally:
        context.close()
    ws = get_workspace(Database.open(empty_app.database_url), "Laden Berlin")
    assert (ws.currency, ws.timezone) == ("EUR", "Europe/Berlin")
