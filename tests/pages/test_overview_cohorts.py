"""AppTest of the Overview's cohort section: off by default (it reads every sales line), then the heatmap and the
revenue waterfall with their captions, for every role that sees the page."""

from __future__ import annotations

import pytest

from crm_core.charts.cohorts import WATERFALL_CAPTION
from crm_core.views.cohorts import cohort_figures


@pytest.mark.parametrize("role", ["viewer", "analyst", "manager", "admin"])
def test_the_cohort_section_opens_on_request(app_test, app_db, role):
    at = app_test("pages/overview.py", role)
    at.session_state["workspace"] = "shop"
    at.run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 2  # the headline charts only, until asked
    at.toggle(key="ov_cohorts").set_value(True).run()
    assert not at.exception
    charts = at.get("plotly_chart")
    assert len(charts) == 4
    assert "Cohort retention" in charts[2].proto.spec and '"waterfall"' in charts[3].proto.spec
    assert any(c.value == WATERFALL_CAPTION for c in at.caption)
    flow = cohort_figures(app_db.db, app_db.shop_id).flow
    assert f"{flow['month'].iloc[-1]:%b %Y}" in charts[3].proto.spec  # the flow runs to the last month


def test_the_choice_is_remembered_when_coming_back(app_test, app_db):
    """A browser drops a widget's state once another page ran without it; the page keeps the choice itself."""
    at = app_test("pages/overview.py", "viewer")
    at.session_state["workspace"] = "shop"
    at.run()
    at.toggle(key="ov_cohorts").set_value(True).run()
    remembered = at.session_state["_ov_cohorts_on"]
    back = app_test("pages/overview.py", "viewer")  # a new visit: no widget state, the session's own keys
    back.session_state["workspace"] = "shop"
    back.session_state["_ov_cohorts_on"] = remembered
    back.run()
    assert back.toggle(key="ov_cohorts").value is True
    assert len(back.get("plotly_chart")) == 4
