"""The Excel report: its sheets and native charts, numbers as numbers, text as text, never a formula."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from openpyxl import load_workbook

from crm_core.errors import PermissionDenied, ValidationError
from crm_core.outcomes.results import campaign_outcome
from crm_core.reports.service import build_report
from crm_core.reports.workbook import SHEETS
from crm_core.services.settings_store import save_settings
from tests.reports.report_world import ADMIN, RISKY_NAME


@pytest.fixture
def book(small_world, viewer):
    save_settings(small_world.db, ADMIN, {"recommend": {"top_n": 4}}, note="four offers")  # one audit event
    data = build_report(small_world.db, viewer, small_world.run_id, "xlsx")
    return data, load_workbook(io.BytesIO(data))


def _rows(sheet) -> list[dict]:
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def test_every_subject_has_its_sheet_and_the_charts_are_native(book):
    _, wb = book
    assert wb.sheetnames == list(SHEETS)
    charts = {name: len(wb[name]._charts) for name in SHEETS}
    assert charts == {"Summary": 0, "Segments": 1, "Offers": 1, "Campaigns": 1, "Funnel": 1, "Quality": 0,
                      "Audit": 1}
    rate = wb["Campaigns"]._charts[0].series[0]  # the treated conversion rate: column E, header and one campaign
    assert (rate.tx.strRef.f, rate.val.numRef.f) == ("'Campaigns'!E1", "'Campaigns'!$E$2")


def test_the_campaign_results_are_the_outcome_views_figures(book, small_world):
    _, wb = book
    (row,) = _rows(wb["Campaigns"])
    expected = campaign_outcome(small_world.db, small_world.campaign_id).table().iloc[0]
    assert row["campaign"] == RISKY_NAME  # exactly its text
    assert (row["treated customers"], row["treated conversions"], row["holdout conversions"]) == (20, 12, 3)
    assert row["uplift 95% low"] == pytest.approx(expected["uplift_low"])
    assert row["uplift 95% high"] == pytest.approx(expected["uplift_high"])
    assert row["verdict"] == expected["verdict"]


def test_numbers_are_numbers_and_text_is_text_never_a_formula(book):
    data, wb = book
    campaign = wb["Campaigns"]
    assert campaign["B2"].data_type == "s" and campaign["C2"].data_type == "n" and campaign["E2"].data_type == "n"
    segments = _rows(wb["Segments"])
    assert sum(r["customers"] for r in segments) == 40 and all(isinstance(r["share"], float) for r in segments)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert not any(re.search(rb"<f[\s>/]", archive.read(n)) for n in sheets)


def test_summary_offers_funnel_quality_and_audit(book):
    _, wb = book
    summary = {(r["section"], r["item"]): r["value"] for r in _rows(wb["Summary"])}
    assert summary[("Key figures", "Customers contacted")] == 20
    assert summary[("Key figures", "Customers converted")] == 12
    assert summary[("Key figures", "Quality level")] == "GOOD"
    assert summary[("Parameters", "Attribution")].endswith("bought the offered product within 30 days of the export")
    (offers,) = _rows(wb["Offers"])
    assert (offers["scenario"], offers["offers"], offers["exported"], offers["approved"]) == ("CROSS_SELL", 40, 20, 20)
    assert [(r["stage"], r["customers"]) for r in _rows(wb["Funnel"])] == [
        ("Proposed", 40), ("Approved", 40), ("Exported", 20), ("Converted", 12)]
    quality = {r["metric"]: r["value"] for r in _rows(wb["Quality"])}
    assert quality["level"] == "GOOD" and quality["coverage"] == 0.9
    assert [(r["action"], r["events"]) for r in _rows(wb["Audit"])] == [("settings.saved", 1)]


def test_a_report_needs_a_login_and_a_known_format(small_world):
    from crm_core.auth import Actor, Role

    with pytest.raises(ValidationError, match="'pdf' or an 'xlsx'"):
        build_report(small_world.db, Actor("val", Role.VIEWER), small_world.run_id, "docx")
    with pytest.raises(PermissionDenied):
        build_report(small_world.db, None, small_world.run_id, "xlsx")
