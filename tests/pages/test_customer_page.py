"""AppTest of Customer 360: the page shows the chosen customer's own numbers, found by link or by search."""

from __future__ import annotations

from sqlalchemy import update

from crm_core.store.models import Customer, RunCustomer
from crm_core.views import runs
from tests.pages.apptest_tools import metrics


def test_customer_from_the_link_shows_its_numbers(page_test, runs_app):
    row = runs.run_customers(runs_app.db, runs_app.last_run).loc["C0007"]
    at = page_test("pages/customer.py", "viewer")
    at.query_params["customer_id"] = "C0007"
    at.run()
    assert not at.exception
    assert at.header[0].value == "First7 Last7 · C0007"
    cards = metrics(at)
    assert cards["Segment"] == row["segment"]
    assert cards["Persona"] == row["persona_name"]
    assert cards["Recency (days)"] == str(row["recency_days"])
    assert cards["Orders"] == str(row["frequency"])
    assert cards["Net total"] == f"£{row['monetary']:,.2f}"
    assert cards["RFM scores"] == f"R{row['r_score']} F{row['f_score']} M{row['m_score']}"
    assert cards["Predicted value (CLV)"] == f"£{row['clv']:,.2f}"  # fitted at an edge on this sample
    assert any("Suggested action" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) == 1  # the purchase timeline


def test_value_numbers_are_shown_when_the_run_has_them(page_test, runs_app):
    with runs_app.db.unit_of_work() as s:
        pk = s.query(Customer.id).filter(Customer.customer_code == "C0007").scalar()
        s.execute(update(RunCustomer).where(RunCustomer.run_id == runs_app.last_run, RunCustomer.customer_id == pk)
                  .values(clv=1234.5, p_alive=0.87, churn_risk="low", expected_purchases=2.25))
    at = page_test("pages/customer.py", "viewer")
    at.session_state["customer_id"] = "C0007"
    at.run()
    cards = metrics(at)
    assert cards["Predicted value (CLV)"] == "£1,234.50"
    assert cards["P(alive)"] == "87%"
    assert cards["Churn risk"] == "Low"
    assert cards["Expected purchases"] == "2.2"


def test_an_older_run_shows_the_numbers_as_of_its_date(page_test, runs_app):
    older = runs.run_customers(runs_app.db, runs_app.first_run)
    code = older.index[0]
    at = page_test("pages/customer.py", "viewer")
    at.session_state["customer_id"] = code
    at.run()
    at.selectbox(key="cust_run").set_value(runs_app.first_run).run()
    assert metrics(at)["Orders"] == str(older.loc[code, "frequency"])
    assert metrics(at)["Net total"] == f"£{older.loc[code, 'monetary']:,.2f}"


def test_search_finds_a_customer_by_name_and_shows_it(page_test, runs_app):
    at = page_test("pages/customer.py", "viewer").run()
    assert any("Search for a customer" in i.value for i in at.info)
    at.text_input(key="cust_search").set_value("last12").run()
    assert at.selectbox(key="cust_match").options == ["C0012 · First12 Last12"]
    at.button(key="cust_show").click().run()
    assert at.header[0].value == "First12 Last12 · C0012"
    assert metrics(at)["Orders"] == str(runs.run_customers(runs_app.db, runs_app.last_run).loc["C0012", "frequency"])


def test_unknown_customer_is_an_error_message_not_a_traceback(page_test):
    at = page_test("pages/customer.py", "viewer")
    at.session_state["customer_id"] = "NOBODY"
    at.run()
    assert not at.exception
    assert any("No customer 'NOBODY'" in e.value for e in at.error)


def test_a_run_stored_as_of_the_year_9999_does_not_crash_the_page(page_test, runs_app):
    """Such a run is refused today, but an old database may hold one: it once crashed every customer."""
    import datetime as dt

    from crm_core.store.models import PipelineRun

    with runs_app.db.unit_of_work() as s:
        s.execute(update(PipelineRun).where(PipelineRun.id == runs_app.last_run).values(as_of=dt.date(9999, 12, 31)))
    at = page_test("pages/customer.py", "viewer")
    at.query_params["customer_id"] = "C0007"
    at.run()
    assert not at.exception
    assert at.header[0].value == "First7 Last7 · C0007"
    assert len(at.get("plotly_chart")) == 1


def test_a_customer_called_like_markdown_is_shown_as_text(page_test, runs_app):
    from crm_core.display_text import shown

    name, code = "[click](https://evil.example) :red[x] $$x$$", "C0007"
    with runs_app.db.unit_of_work() as s:
        s.execute(update(Customer).where(Customer.customer_code == code).values(first_name=name, last_name="# Boss"))
    at = page_test("pages/customer.py", "viewer")
    at.query_params["customer_id"] = code
    at.run()
    assert not at.exception
    assert at.header[0].value == f"{shown(name + ' # Boss', 80)} · {code}"
    assert "](" not in at.header[0].value.replace("\\](", "") and "\\[click\\]" in at.header[0].value


def test_a_merged_record_says_where_its_history_went_and_opens_it(page_test, runs_app):
    from crm_core.auth import Actor, Role
    from crm_core.services.merges import merge_customers

    merge_customers(runs_app.db, Actor("manager", Role.MANAGER), runs_app.shop_id, "C0007", "C0012",
                    evidence="same e-mail")
    at = page_test("pages/customer.py", "viewer")
    at.query_params["customer_id"] = "C0012"
    at.run()
    assert not at.exception
    assert any("merged into C0007" in w.value for w in at.warning)
    at.button(key="cust_open_survivor").click().run()
    assert at.header[0].value == "First7 Last7 · C0007"
    at.query_params["customer_id"] = "C0007"
    assert not any("merged into" in w.value for w in at.run().warning)


def test_a_search_is_kept_until_the_next_change_and_then_read_again(page_test, runs_app):
    from crm_core.store.audit_log import record_event

    at = page_test("pages/customer.py", "viewer").run()
    at.text_input(key="cust_search").set_value("newcomer").run()
    assert any("No customer matches" in i.value for i in at.info)
    with runs_app.db.unit_of_work() as s:  # written behind the page's back: no audit event
        ws_id = s.query(Customer.workspace_id).filter(Customer.customer_code == "C0012").scalar()
        s.add(Customer(workspace_id=ws_id, customer_code="N0001", first_name="Newcomer", last_name="One"))
    at.run()
    assert any("No customer matches" in i.value for i in at.info)  # the kept result, not a new search
    with runs_app.db.unit_of_work() as s:  # a change (every change appends an audit event)
        record_event(s, actor="system", role="system", action="customer.test", entity="customer",
                     workspace_id=ws_id)
    at.run()
    assert at.selectbox(key="cust_match").options == ["N0001 · Newcomer One"]
