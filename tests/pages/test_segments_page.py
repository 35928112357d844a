"""AppTest of Segments: KPIs from the run, filters narrow the customer list, a listed customer opens Customer 360."""

from __future__ import annotations

from app.shell import format_money
from crm_core.display_text import shown
from crm_core.views import runs
from tests.pages.apptest_tools import frame_with, metrics


def _listed(at):
    return frame_with(at, "persona_name")


def test_kpis_and_charts_come_from_the_newest_run(page_test, runs_app):
    at = page_test("pages/segments.py", "viewer").run()
    assert at.selectbox(key="seg_run").value == runs_app.last_run
    customers = runs.run_customers(runs_app.db, runs_app.last_run)
    cards = metrics(at)
    assert cards["Customers"] == "40" == str(len(customers))
    assert cards["Revenue"] == format_money(customers["monetary"].sum(), "GBP", compact=True)
    # the value model fits these 40 customers at an edge (nobody drops out): the mean CLV is shown, and the
    # page says what the edge means
    assert cards["Mean predicted value"] == format_money(customers["clv"].mean(), "GBP", decimals=0)
    run = runs.get_run(runs_app.db, runs_app.last_run)
    shown_notes = [m.value for m in [*at.info, *at.warning]]
    assert run.notes and all(shown(n, 600) in shown_notes for n in run.notes)
    assert len(at.get("plotly_chart")) == 5  # treemap, heatmap, clusters, CLV, churn
    assert len(_listed(at)) == 40


def test_an_older_run_shows_its_own_customers(page_test, runs_app):
    at = page_test("pages/segments.py", "viewer").run()
    at.selectbox(key="seg_run").set_value(runs_app.first_run).run()
    first = runs.run_customers(runs_app.db, runs_app.first_run)
    assert metrics(at)["Customers"] == str(len(first)) != "40"
    assert metrics(at)["Revenue"] == format_money(first["monetary"].sum(), "GBP", compact=True)
    assert sorted(_listed(at)["customer_id"]) == sorted(first.index)


def test_filters_narrow_the_customer_list(page_test, runs_app):
    customers = runs.run_customers(runs_app.db, runs_app.last_run)
    at = page_test("pages/segments.py", "analyst").run()
    at.multiselect(key="seg_filter_segment").set_value(["CHAMPIONS", "LOYAL"]).run()
    listed = _listed(at)
    expected = customers[customers["rfm_segment"].isin(["CHAMPIONS", "LOYAL"])]
    assert 0 < len(listed) == len(expected) < 40
    assert set(listed["customer_id"]) == set(expected.index)
    assert set(listed["segment"]) <= {"Champions", "Loyal"}
    assert listed["monetary"].is_monotonic_decreasing  # most valuable first

    at.multiselect(key="seg_filter_region").set_value(["North"]).run()
    narrowed = _listed(at)
    assert set(narrowed["customer_id"]) == set(expected[expected["region"] == "North"].index)
    assert (narrowed["region"] == "North").all()

    floor = float(expected["monetary"].median())
    at.number_input(key="seg_value_min").set_value(floor).run()
    valued = _listed(at)
    assert (valued["monetary"] >= floor).all() and len(valued) < len(narrowed)
    assert any(f"**{len(valued)}** of 40 customers" in c.value for c in at.caption)


def test_cluster_filter_uses_persona_names(page_test, runs_app):
    clusters = runs.run_clusters(runs_app.db, runs_app.last_run)
    at = page_test("pages/segments.py", "viewer").run()
    box = at.multiselect(key="seg_filter_cluster")
    assert box.options == [f"{n} · {clusters.loc[n, 'persona_name']}" for n in clusters.index]
    box.set_value([1]).run()
    assert set(_listed(at)["persona_name"]) == {clusters.loc[1, "persona_name"]}


def test_a_listed_customer_opens_customer_360(page_test, runs_app):
    at = page_test("app/main.py", "viewer").run()
    at.switch_page("../pages/segments.py").run()
    customers = runs.run_customers(runs_app.db, runs_app.last_run)
    segment = customers["rfm_segment"].value_counts().index[0]
    at.multiselect(key="seg_filter_segment").set_value([segment]).run()
    pick = at.selectbox(key="seg_pick_customer")
    target = pick.options[-1].split(" · ")[0]
    pick.set_value(target)
    at.button(key="seg_open_customer").click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Customer 360"]
    assert at.query_params["customer_id"] == [target] or at.query_params["customer_id"] == target
    assert at.header[0].value.endswith(f"· {target}")
    assert metrics(at)["Segment"] == customers.loc[target, "segment"]
