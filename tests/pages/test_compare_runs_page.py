"""AppTest of Compare runs: the page shows the ARI of the two runs, the migration and the slipped customers."""

from __future__ import annotations

from crm_core.views.run_comparison import compare_runs
from tests.pages.apptest_tools import frame_with, metrics


def _let_two_valuable_customers_slip(runs_app) -> None:
    """Move two Champions/Loyal customers of the first run into At Risk in the last run (the sample's own
    customers do not slip under rhythm recency, and an empty list would test nothing)."""
    from sqlalchemy import select, update

    from crm_core.store.models import RunCustomer

    with runs_app.db.unit_of_work() as s:
        valuable = s.scalars(select(RunCustomer.customer_id).where(
            RunCustomer.run_id == runs_app.first_run, RunCustomer.rfm_segment.in_(("CHAMPIONS", "LOYAL")))
            .order_by(RunCustomer.customer_id).limit(2)).all()
        assert len(valuable) == 2
        s.execute(update(RunCustomer).where(RunCustomer.run_id == runs_app.last_run,
                                            RunCustomer.customer_id.in_(valuable)).values(rfm_segment="AT_RISK"))


def test_comparison_shows_stability_and_the_slipped_list(page_test, runs_app):
    _let_two_valuable_customers_slip(runs_app)
    expected = compare_runs(runs_app.db, runs_app.first_run, runs_app.last_run)
    assert len(expected.slipped) >= 2
    at = page_test("pages/compare_runs.py", "viewer").run()
    assert not at.exception
    assert at.selectbox(key="cmp_before").value == runs_app.first_run  # default: the previous run ...
    assert at.selectbox(key="cmp_after").value == runs_app.last_run  # ... against the newest
    cards = metrics(at)
    assert cards["Stability (ARI)"] == f"{expected.stability:.2f}"
    assert cards["In both runs"] == str(expected.customers_both)
    assert cards["New in after"] == str(expected.only_after) != "0"
    assert cards["Valuable who slipped"] == str(len(expected.slipped)) != "0"
    slipped = frame_with(at, "segment_before")
    assert slipped["customer_id"].tolist() == expected.slipped["customer_id"].tolist()
    assert set(slipped["segment_before"]) <= {"Champions", "Loyal"}
    assert set(slipped["segment_after"]) <= {"At Risk", "Can't Lose Them"}
    assert len(at.get("plotly_chart")) == 1  # the migration Sankey
    assert any(b.key == "cmp_download" for b in at.get("download_button"))


def test_swapping_the_runs_compares_the_other_way(page_test, runs_app):
    at = page_test("pages/compare_runs.py", "viewer").run()
    at.selectbox(key="cmp_before").set_value(runs_app.last_run)
    at.selectbox(key="cmp_after").set_value(runs_app.first_run).run()
    cards = metrics(at)
    reverse = compare_runs(runs_app.db, runs_app.last_run, runs_app.first_run)
    assert cards["Only before"] == str(reverse.only_before)
    assert cards["Only before"] != "0"


def test_the_same_run_twice_is_refused_politely(page_test, runs_app):
    at = page_test("pages/compare_runs.py", "viewer").run()
    at.selectbox(key="cmp_before").set_value(runs_app.last_run).run()
    assert not at.exception
    assert any("two different runs" in w.value for w in at.warning)
    assert not at.metric


def test_with_one_run_the_page_explains_what_is_needed(app_test):
    at = app_test("pages/compare_runs.py", "viewer")
    at.session_state["workspace"] = "shop"
    at.run()
    assert not at.exception
    assert any("comparing needs two" in i.value for i in at.info)


def test_after_a_run_is_deleted_and_another_made_the_page_compares_the_new_one(page_test, runs_app):
    """The comparison is kept between reruns, but never past a change: here the newest run is deleted and a
    new one (as of another day) made, which SQLite may give the deleted run's id."""
    import datetime as dt

    from crm_core.auth import Actor, Role
    from crm_core.config import Config
    from crm_core.services.pipeline import run_pipeline
    from crm_core.services.run_admin import delete_run
    from crm_core.views.workspaces import get_workspace

    at = page_test("pages/compare_runs.py", "viewer").run()
    before = metrics(at)
    assert before["In both runs"] == str(compare_runs(runs_app.db, runs_app.first_run, runs_app.last_run)
                                         .customers_both)
    delete_run(runs_app.db, Actor("root", Role.ADMIN), runs_app.last_run)
    shop = get_workspace(runs_app.db, "shop")
    first_as_of = compare_runs(runs_app.db, runs_app.first_run, runs_app.first_run).before.as_of
    new = run_pipeline(runs_app.db, shop, Actor("analyst", Role.ANALYST), Config(),
                       as_of=first_as_of + dt.timedelta(days=20)).run_id
    at.run()
    assert not at.exception
    after_id = at.selectbox(key="cmp_after").value
    assert after_id == new
    expected = compare_runs(runs_app.db, runs_app.first_run, new)
    cards = metrics(at)
    assert (cards["In both runs"], cards["New in after"]) == (str(expected.customers_both), str(expected.only_after))
    assert cards != before
