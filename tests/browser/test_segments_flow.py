"""Browser: an analyst runs the pipeline, clicks a segment of the treemap, opens a listed customer's 360."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import click_until, go, logged_in_page

pytestmark = pytest.mark.browser


def test_analyst_goes_from_a_treemap_segment_to_a_customer_360(browser, served_app):
    with logged_in_page(browser, served_app) as page:
        # The served sample has no run yet (or one from another test): run the pipeline from its page.
        go(page, "Run pipeline")
        # A cold first run imports scikit-learn and scipy in the server: give each click a minute.
        click_until(page.get_by_role("button", name="Run"),
                    page.get_by_text(re.compile(r"Run #\d+ as of 2024-03-28 stored")), attempts=3,
                    attempt_timeout_ms=60_000)
        assert page.get_by_text("Timings").count() >= 1

        go(page, "Segments")
        treemap = page.locator(".js-plotly-plot").first
        treemap.wait_for()
        tile = treemap.locator("g.slice").filter(has_text="Champions").first
        tile.wait_for()
        # The click sets the segment filter: the multiselect shows the segment and the list narrows.
        segment_filter = page.get_by_test_id("stMultiSelect").filter(has_text="Segment").first
        click_until(tile, segment_filter.get_by_text("Champions"))
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
