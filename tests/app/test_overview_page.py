"""AppTest: what the Overview and Data pages show, and the shared shell widgets."""

from __future__ import annotations

import pytest

from app.shell import format_money
from crm_core.views import overview
from crm_core.views.workspaces import WorkspaceInfo

KPI_LABELS = ["Customers", "Revenue", "Active customers", "Average order value", "Last run"]


def _charts(at) -> list:
    return at.get("plotly_chart")


def test_overview_shows_kpi_cards_with_the_crm_core_numbers(app_test, app_db):
    at = app_test("pages/overview.py", "viewer")
    at.session_state["workspace"] = "shop"
    at.run()
    assert not at.exception
    values = {m.label: m.value for m in at.metric}
    assert list(values) == KPI_LABELS
    kpis = overview.overview_kpis(app_db.db, app_db.shop_id)
    assert values["Customers"] == f"{kpis.customers:,}"
    assert values["Revenue"] == f"£{kpis.revenue / 1000:,.1f}k"
    assert values["Active customers"] == f"{kpis.active_customers:,}"
    assert values["Average order value"] == f"£{kpis.average_order_value:,.2f}"
    assert values["Last run"] == "none yet"
    assert len(_charts(at)) == 2


def test_overview_of_an_empty_workspace_explains_what_to_do(app_test):
    at = app_test("pages/overview.py", "viewer")
    at.session_state["workspace"] = "bank"
    at.run()
    assert not at.exception and not at.metric
    assert any("no transactions yet" in i.value for i in at.info)


def test_workspace_choice_survives_a_page_switch(app_test):
    at = app_test("app/main.py", "analyst").run()
    at.selectbox(key="workspace").select("shop").run()
    assert at.metric, "the shop has data"
    at.switch_page("../pages/data.py").run()
    assert at.selectbox(key="workspace").value == "shop"
    at.switch_page("../pages/overview.py").run()
    assert at.selectbox(key="workspace").value == "shop"
    assert at.metric


def test_data_page_lists_counts_and_import_history(app_test):
    at = app_test("pages/data.py", "viewer")
    at.session_state["workspace"] = "shop"
    at.run()
    assert not at.exception
    values = {m.label: m.value for m in at.metric}
    assert values["Customers"] == "40" and values["Products"] == "12"
    assert values["Imports"] == "1"
    assert any("**02 Jan 2023** to **28 Mar 2024**" in m.value for m in at.markdown)
    history = [df.value for df in at.dataframe if "source_name" in df.value.columns]
    assert history and history[0]["source_name"].tolist() == ["sample_sales.csv"]


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    (1234.5, "GBP", "£1,234.50"), (-3.0, "EUR", "-€3.00"), (1e6, "CHF", "1,000,000.00 CHF"), (None, "GBP", "–"),
])
def test_format_money(amount, currency, expected):
    assert format_money(amount, currency) == expected


@pytest.mark.parametrize(("amount", "expected"), [
    (9999.0, "£9,999.00"), (17688.4, "£17.7k"), (1141573.12, "£1.14M"), (-2.5e9, "-£2.50B"),
])
def test_format_money_compact_for_kpi_cards(amount, expected):
    assert format_money(amount, "GBP", compact=True) == expected


def test_format_money_uses_the_workspace_decimals():
    yen = WorkspaceInfo(1, "jp", "retail", "JPY", 0, "Asia/Tokyo")
    assert format_money(1234.4, yen) == "¥1,234"


def test_overview_shows_segments_and_the_last_run_once_a_run_succeeded(app_test, app_db):
    import datetime as dt

    from sqlalchemy import select

    from crm_core.store.models import Customer, PipelineRun, RunCustomer

    with app_db.db.unit_of_work() as s:
        run = PipelineRun(workspace_id=app_db.shop_id, run_uuid="u1", status="succeeded", as_of=dt.date(2024, 3, 28),
                          config_json={}, config_hash="c", data_hash="d", created_by="analyst")
        s.add(run)
        s.flush()
        for cid in s.scalars(select(Customer.id).where(Customer.workspace_id == app_db.shop_id).limit(4)):
            s.add(RunCustomer(run_id=run.id, customer_id=cid, first_purchase=dt.date(2023, 1, 2),
                              last_purchase=dt.date(2024, 3, 1), recency_days=27, frequency=2, monetary_minor=100,
                              rfm_segment="LOYAL"))
    at = app_test("pages/overview.py", "viewer")
    at.session_state["workspace"] = "shop"
    at.run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Last run"] == "28 Mar 24"
    charts = _charts(at)
    assert len(charts) == 2
    assert "Customers by segment" in charts[1].proto.spec


def test_customer_360_is_addressed_by_query_parameter_then_session_key():
    from streamlit.testing.v1 import AppTest

    script = "import streamlit as st\nfrom app.shell import selected_customer_id\nst.text(repr(selected_customer_id()))"
    at = AppTest.from_string(script, default_timeout=30)
    at.query_params["customer_id"] = " 13085 "
    assert at.run().text[0].value == "'13085'"
    at = AppTest.from_string(script, default_timeout=30)
    at.session_state["customer_id"] = "00042"
    assert at.run().text[0].value == "'00042'"
    assert AppTest.from_string(script, default_timeout=30).run().text[0].value == "None"
