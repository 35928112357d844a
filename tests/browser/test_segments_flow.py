"""Browser: an analyst runs the pipeline, clicks a segment of the treemap, opens a listed customer's 360."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000


def _go(page, title: str) -> None:
    """Open a page from the sidebar (clicked again if a rerun swallowed the first click)."""
    _click_until(page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True),
                 page.get_by_role("heading", name=title).first)


def _click_until(target, shown, attempts: int = 3) -> None:
    """Click ``target`` until ``shown`` appears: on a loaded machine Plotly may not listen yet at the first click."""
    for attempt in range(attempts):
        target.click()
        try:
            shown.wait_for(timeout=TIMEOUT_MS // attempts)
            return
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise


def test_analyst_goes_from_a_treemap_segment_to_a_customer_360(browser, served_app):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(served_app.url)
        log_in(page, served_app, "analyst")
        page.get_by_role("heading", name="Overview").wait_for()

        # The served sample has no run yet (or one from another test): run the pipeline from its page.
        _go(page, "Run pipeline")
        page.get_by_role("button", name="Run").click()
        page.get_by_text(re.compile(r"Run #\d+ as of 2024-03-28 stored")).wait_for()
        assert page.get_by_text("Timings").count() >= 1

        _go(page, "Segments")
        treemap = page.locator(".js-plotly-plot").first
        treemap.wait_for()
        tile = treemap.locator("g.slice").filter(has_text="Champions").first
        tile.wait_for()
        # The click sets the segment filter: the multiselect shows the segment and the list narrows.
        segment_filter = page.get_by_test_id("stMultiSelect").filter(has_text="Segment").first
        _click_until(tile, segment_filter.get_by_text("Champions"))
        page.get_by_text(re.compile(r"\*?\d+\*? of 40 customers")).first.wait_for()
        caption = page.get_by_text(re.compile(r"of 40 customers")).first.inner_text()
        shown = int(re.search(r"(\d+)\s+of 40 customers", caption).group(1))
        assert 0 < shown < 40

        page.get_by_role("button", name="Open customer 360").click()

        page.get_by_role("heading", name="Customer 360").wait_for()
        header = page.get_by_role("heading", name=re.compile(r"· C\d{4}$")).first
        header.wait_for()
        chosen = header.inner_text().strip().rsplit("· ", 1)[1]
        assert f"customer_id={chosen}" in page.url  # a link that can be shared
        labels = [t.strip() for t in page.get_by_test_id("stMetricLabel").all_inner_texts()]
        values = [t.strip() for t in page.get_by_test_id("stMetricValue").all_inner_texts()]
        assert dict(zip(labels, values))["Segment"] == "Champions"
        assert page.locator(".js-plotly-plot").count() >= 1  # the purchase timeline
    finally:
        context.close()
