"""The download buttons: CSV and Excel on the Segments and Compare runs pages for every role that sees them,
files made only when clicked, and what a click gives."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from crm_core.views.downloads import segment_summary

SEGMENT_BUTTONS = {"seg_summary_dl", "seg_summary_dl_xlsx", "seg_customers_dl", "seg_customers_dl_xlsx"}
COMPARE_BUTTONS = {"cmp_download", "cmp_download_xlsx", "cmp_migration_dl", "cmp_migration_dl_xlsx"}


@pytest.mark.parametrize("role", ["viewer", "analyst", "manager", "admin"])
def test_segments_page_shows_the_segment_action_table_and_offers_both_downloads(page_test, runs_app, role):
    at = page_test("pages/segments.py", role).run()
    assert not at.exception
    assert {b.key for b in at.get("download_button")} >= SEGMENT_BUTTONS
    expected = segment_summary(runs_app.db, runs_app.last_run)
    shown = next(df.value for df in at.dataframe if "action" in df.value.columns)
    assert shown["label"].tolist() == expected["label"].tolist()
    assert shown["action"].tolist() == expected["action"].tolist()
    assert shown["customers"].tolist() == expected["customers"].tolist()
    assert {"revenue", "mean_clv"} <= set(shown.columns)


def _let_two_valuable_customers_slip(runs_app) -> None:
    """Champions or Loyal of the first run into At Risk in the last (none slip in the sample by themselves)."""
    from sqlalchemy import select, update

    from crm_core.store.models import RunCustomer

    with runs_app.db.unit_of_work() as s:
        valuable = s.scalars(select(RunCustomer.customer_id).where(
            RunCustomer.run_id == runs_app.first_run, RunCustomer.rfm_segment.in_(("CHAMPIONS", "LOYAL")))
            .order_by(RunCustomer.customer_id).limit(2)).all()
        s.execute(update(RunCustomer).where(RunCustomer.run_id == runs_app.last_run,
                                            RunCustomer.customer_id.in_(valuable)).values(rfm_segment="AT_RISK"))


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_compare_runs_page_offers_the_matrix_and_the_slipped_list(page_test, runs_app, role):
    _let_two_valuable_customers_slip(runs_app)
    at = page_test("pages/compare_runs.py", role).run()
    assert not at.exception
    assert {b.key for b in at.get("download_button")} >= COMPARE_BUTTONS
    labels = {b.key: b.label for b in at.get("download_button")}
    assert labels["cmp_download"] == "Download the list (CSV)" and labels["cmp_download_xlsx"].endswith("(Excel)")


def test_a_click_makes_the_file_and_a_rerun_does_not(monkeypatch):
    import streamlit as st

    from app.downloads import download_buttons

    got, calls = {}, []

    def button(label, data, **kw):
        got[kw["key"]] = (data, kw)

    monkeypatch.setattr(st, "columns", lambda n: [st, st])
    monkeypatch.setattr(st, "download_button", button)

    def table():
        calls.append(1)
        return pd.DataFrame({"Customer": ["=1+1", "C2"], "CLV (GBP)": [1.5, 2.0]})

    download_buttons(table, name="customers shop/1", key_prefix="k", rows=2)
    assert calls == []  # nothing built while the page draws
    csv_data, csv_kw = got["k"]
    xlsx_data, xlsx_kw = got["k_xlsx"]
    assert csv_kw["file_name"] == "customers_shop_1.csv" and xlsx_kw["file_name"] == "customers_shop_1.xlsx"
    assert csv_data().decode() == "Customer,CLV (GBP)\n'=1+1,1.5\nC2,2.0\n"
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_data())).active
    assert list(sheet.values) == [("Customer", "CLV (GBP)"), ("=1+1", 1.5), ("C2", 2)]
    assert sheet["A2"].data_type == "s" and len(calls) == 2


def test_the_excel_button_is_disabled_above_the_sheet_limit(monkeypatch):
    import streamlit as st

    from app.downloads import download_buttons

    got = {}
    monkeypatch.setattr(st, "columns", lambda n: [st, st])
    monkeypatch.setattr(st, "download_button", lambda label, data, **kw: got.update({kw["key"]: kw}))
    download_buttons(pd.DataFrame({"a": [1]}), name="x", key_prefix="k", rows=2_000_000)
    assert got["k_xlsx"]["disabled"] and "CSV" in got["k_xlsx"]["help"]
    assert not got["k"].get("disabled")
