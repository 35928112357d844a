"""AppTest of Run pipeline: a run from the page is stored with the chosen settings and shows its timings;
a failing run shows st.error and leaves the earlier runs as they were."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from crm_core.services.pipeline import STAGES
from crm_core.store.models import PipelineRun, RunCustomer
from tests.pages.apptest_tools import frame_with


def _runs(db) -> list[PipelineRun]:
    with db.read() as s:
        found = list(s.scalars(select(PipelineRun).order_by(PipelineRun.id)))
        s.expunge_all()  # plain snapshots: the read session rolls back when it closes
    return found


def test_defaults_are_last_transaction_date_and_configured_clustering(page_test):
    at = page_test("pages/run_pipeline.py").run()
    assert at.date_input(key="run_as_of").value == dt.date(2024, 3, 28)
    assert at.selectbox(key="run_method").value == "kmeans"
    assert at.selectbox(key="run_k").value == "auto"


def test_run_from_the_page_is_stored_with_the_chosen_settings_and_shows_timings(page_test, runs_app):
    at = page_test("pages/run_pipeline.py").run()
    at.date_input(key="run_as_of").set_value(dt.date(2024, 1, 31))
    at.selectbox(key="run_method").set_value("gmm")
    at.selectbox(key="run_k").set_value(3)
    at.button(key="run_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == []

    newest = _runs(runs_app.db)[-1]
    assert newest.status == "succeeded" and newest.created_by == "analyst"
    assert newest.as_of == dt.date(2024, 1, 31)
    assert newest.config_json["segment"]["cluster"]["method"] == "gmm"
    assert newest.config_json["segment"]["cluster"]["k"] == 3
    with runs_app.db.read() as s:
        stored = s.scalar(select(func.count()).select_from(RunCustomer).where(RunCustomer.run_id == newest.id))
    assert stored == newest.counts_json["customers"] > 0
    assert any(f"Run #{newest.id} as of 2024-01-31 stored" in m.value for m in at.success)
    timings = frame_with(at, "stage")
    assert timings["stage"].tolist() == list(STAGES)
    assert (timings["seconds"] >= 0).all()
    history = frame_with(at, "config_hash")
    assert history["id"].tolist()[0] == newest.id  # newest first
    assert history.loc[0, "method"] == "gmm" and history.loc[0, "k"] == 3
    assert history.loc[0, "config_hash"] == newest.config_hash


def test_failing_run_shows_an_error_and_keeps_the_previous_runs(page_test, runs_app, monkeypatch):
    import crm_core.services.run_compute as run_compute

    def broken(*args, **kwargs):
        raise ValueError("clustering exploded")

    monkeypatch.setattr(run_compute, "segment_customers", broken)
    before = _runs(runs_app.db)
    at = page_test("pages/run_pipeline.py").run()
    at.button(key="run_start").click().run()

    assert not at.exception, "a failed run is an st.error, never a traceback"
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "segments stage" in errors[0] and "clustering exploded" in errors[0]
    assert not at.success
    after = _runs(runs_app.db)
    assert [(r.id, r.status) for r in after[:-1]] == [(r.id, r.status) for r in before]
    assert after[-1].status == "failed" and "clustering exploded" in after[-1].error
    with runs_app.db.read() as s:
        kept = s.scalar(select(func.count()).select_from(RunCustomer).where(RunCustomer.run_id == runs_app.last_run))
        failed = s.scalar(select(func.count()).select_from(RunCustomer).where(RunCustomer.run_id == after[-1].id))
    assert kept == 40 and failed == 0
    history = frame_with(at, "config_hash")
    assert history.loc[0, "status"] == "failed"
    assert "clustering exploded" in history.loc[0, "error"]


def test_the_chosen_policy_and_contact_date_are_used_and_the_quality_shown(page_test, runs_app):
    at = page_test("pages/run_pipeline.py").run()
    assert at.selectbox(key="run_policy").value == "standard"  # the workspace's active policy
    at.selectbox(key="run_policy").set_value("strict")
    at.date_input(key="run_contact_date").set_value(dt.date(2024, 4, 2))
    at.button(key="run_start").click().run()
    assert not at.exception and not at.error
    newest = _runs(runs_app.db)[-1]
    assert (newest.policy_name, newest.policy_version, newest.contact_date) == ("strict", 1, dt.date(2024, 4, 2))
    level = newest.quality_json["level"]
    cards = {m.label: m.value for m in at.metric}
    assert cards["Offer quality"] == level.title()
    assert cards["Customers with a PASS offer"] == f"{newest.quality_json['coverage']:.0%}"
    history = frame_with(at, "config_hash")
    assert history.loc[0, "quality"] == level and history.loc[0, "policy"] == "strict v1"


def test_a_run_uses_and_records_the_saved_settings_version(page_test, runs_app):
    from crm_core.auth import Actor, Role
    from crm_core.services.settings_store import save_settings

    version = save_settings(runs_app.db, Actor("admin", Role.ADMIN), {"recommend": {"top_n": 2}},
                            note="two offers per customer")
    at = page_test("pages/run_pipeline.py").run()
    at.button(key="run_start").click().run()
    assert not at.exception and not at.error
    newest = _runs(runs_app.db)[-1]
    assert newest.settings_version == version == 1
    assert newest.config_json["recommend"]["top_n"] == 2
    assert newest.counts_json["offers"] <= 2 * newest.counts_json["customers"]
