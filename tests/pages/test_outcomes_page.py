"""The Outcomes page per role: everyone reads the results and builds reports; analysts import outcome and
experiment files; only an admin applies a learning proposal."""

from __future__ import annotations

import io
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from crm_core.services.settings_store import active_settings
from crm_core.store.models import Outcome
from tests.outcomes.sample_campaign import CAMPAIGN_NAME, export_sample_campaign
from tests.pages.apptest_tools import metrics

PAGE = "pages/outcomes.py"


@pytest.fixture
def campaign(runs_app):
    """The sample's last run with an exported WINBACK campaign: 15 of 20 treated and 2 of 20 held out buy."""
    campaign_id, groups = export_sample_campaign(runs_app.db, runs_app.shop_id, runs_app.last_run)
    return campaign_id, groups


def _chart_titles(at) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def _texts(elements) -> str:
    return " ".join(e.value for e in elements)


def test_a_viewer_reads_the_results_and_downloads_the_workbook_but_changes_nothing(campaign, runs_app, page_test):
    at = page_test(PAGE, "viewer").run()
    assert not at.exception and not at.error
    shown = metrics(at)
    assert (shown["Treated customers"], shown["Holdout customers"]) == ("20", "20")
    assert (shown["Treated conversion"], shown["Holdout conversion"], shown["Uplift (points)"]) == \
        ("75.0%", "10.0%", "+65.0")
    assert "a real uplift" in at.success[0].value and "+35.3 to +80.6 points" in at.success[0].value
    assert sorted(_chart_titles(at)) == ["Conversions over time", f"Run #{runs_app.last_run}: proposed to converted",
                                         "Uplift by scenario (95 % interval)", "Uplift by segment (95 % interval)"]
    captions = _texts(at.caption)
    assert "An admin applies proposals." in captions and "Analysts import outcome and experiment files." in captions
    assert not [b for b in at.button if b.key.startswith("outcomes_apply")] and not at.file_uploader
    at.button(key="report_build_xlsx").click().run()
    assert not at.exception and not at.error
    (download,) = at.get("download_button")
    assert download.label == "Download the Excel workbook"
    book = load_workbook(io.BytesIO(at.session_state["_outcomes_report"]["data"]))
    assert book.sheetnames == ["Summary", "Segments", "Offers", "Campaigns", "Funnel", "Quality", "Audit"]
    campaigns = list(book["Campaigns"].iter_rows(values_only=True))
    assert campaigns[1][1] == CAMPAIGN_NAME and campaigns[1][2:4] == (20, 15)


def test_the_campaign_picker_lists_exported_campaigns_and_the_name_is_plain_text(campaign, page_test):
    at = page_test(PAGE, "viewer").run()
    picker = at.selectbox(key="outcomes_campaign")
    assert picker.options == [f"#{campaign[0]} · {CAMPAIGN_NAME}"]  # a selectbox shows text, never Markdown


def test_the_outcome_file_source_says_the_holdout_is_missing(campaign, page_test):
    at = page_test(PAGE, "manager").run()
    at.radio(key="outcomes_source").set_value("file").run()
    assert not at.exception
    assert "no row for any holdout customer" in _texts(at.caption)
    assert metrics(at)["Treated conversion"] == "0.0%"


def test_an_analyst_imports_an_outcome_file_and_it_becomes_the_file_source(campaign, runs_app, page_test):
    campaign_id, groups = campaign
    treated, held = groups["treatment"], groups["holdout"]
    rows = [f"{code},#{campaign_id},yes,25.00,2024-04-04" for code in treated[:12]]
    rows += [f"{code},#{campaign_id},yes,10.00,2024-04-06" for code in held[:3]]
    text = "customer_id,campaign,converted,revenue,responded_at\n" + "\n".join(rows) + "\nUNKNOWN9,#1,yes,5,\n"
    at = page_test(PAGE, "analyst").run()
    at.file_uploader(key="outcomes_upload").set_value(("results.csv", text.encode(), "text/csv")).run()
    at.button(key="outcomes_import").click().run()
    assert not at.exception and not at.error
    assert "15 of 16 rows loaded" in at.success[-1].value
    with runs_app.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Outcome).where(Outcome.campaign_id == campaign_id)) == 15
    at.radio(key="outcomes_source").set_value("file").run()
    shown = metrics(at)
    assert (shown["Treated conversion"], shown["Holdout conversion"]) == ("60.0%", "15.0%")


def test_an_analyst_analyses_an_experiment_file(campaign, page_test):
    text = "group,bought,spend\n" + "\n".join(["A,1,20"] * 30 + ["A,0,0"] * 70 + ["B,1,20"] * 10 + ["B,0,0"] * 90)
    at = page_test(PAGE, "analyst").run()
    at.file_uploader(key="experiment_upload").set_value(("ab.csv", text.encode(), "text/csv")).run()
    at.selectbox(key="experiment_group").set_value("group")
    at.selectbox(key="experiment_converted").set_value("bought").run()
    at.selectbox(key="experiment_control").set_value("B")
    at.selectbox(key="experiment_revenue").set_value("spend")
    at.button(key="experiment_analyse").click().run()
    assert not at.exception and not at.error
    table = next(d.value for d in at.dataframe if "label" in d.value.columns)
    row = table.iloc[0]
    assert (row["group"], row["treatment_customers"], row["control_customers"]) == ("A", 100, 100)
    assert round(row["uplift_points"], 6) == 0.2 and row["verdict"].endswith("a real uplift.")


def test_an_admin_applies_the_proposal_as_a_new_settings_version(campaign, runs_app, page_test):
    at = page_test(PAGE, "admin").run()
    assert not at.exception
    assert "Give WINBACK to more customers" in _texts(at.markdown)
    at.button(key="outcomes_apply_0").click().run()
    assert not at.exception and not at.error
    assert "Saved as settings version 1" in _texts(at.success)
    config, version = active_settings(runs_app.db)
    assert (version, config.recommend.winback_inactive_days) == (1, 150)
    at.run()  # the campaigns' runs used the defaults, not version 1: nothing more to propose
    assert not [b for b in at.button if b.key.startswith("outcomes_apply")]


@pytest.mark.parametrize("role", ["analyst", "manager"])
def test_only_an_admin_sees_the_apply_button(campaign, page_test, role):
    at = page_test(PAGE, role).run()
    assert not at.exception
    assert "Give WINBACK to more customers" in _texts(at.markdown)
    assert not [b for b in at.button if b.key.startswith("outcomes_apply")]


def test_without_campaigns_or_runs_the_page_says_what_to_do(app_test):
    at = app_test(PAGE, "viewer").run()
    assert not at.exception and not at.error
    infos = _texts(at.info)
    assert "No campaign has been exported yet" in infos and "No pipeline run yet" in infos


def test_logged_out_sessions_are_refused(app_test):
    at = app_test(PAGE, None).run()
    assert "not logged in" in at.error[0].value
