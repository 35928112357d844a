"""Downloads: formula-safe CSV and Excel that open with openpyxl, numbers as numbers, the currency in the
headers, rows streamed in chunks, and the same rows as the pages show."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import select, update

from crm_core.errors import ValidationError
from crm_core.store import Database
from crm_core.store.models import Customer, Product, RunCustomer
from crm_core.views import downloads
from crm_core.views.downloads import (csv_file, customers_download, migration_download, money_header,
                                      offers_download_frame, segment_summary, segment_summary_download,
                                      slipped_download, table_of, xlsx_file)
from crm_core.views.offers import offers_frame
from crm_core.views.run_comparison import compare_runs
from crm_core.views.runs import run_customers
from tests.apptest_support import build_template
from tests.formula_corpus import PAYLOADS, is_formula_in_a_spreadsheet


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The UI sample after two runs, with formula payloads planted in customer and product names."""
    path = tmp_path_factory.mktemp("downloads") / "sample.db"
    ids, (first, last) = build_template(path, runs=(dt.date(2023, 4, 30), None))
    db = Database.open(f"sqlite:///{path}")
    with db.unit_of_work() as s:
        customers = s.scalars(select(Customer.id).order_by(Customer.id)).all()
        for pk, payload in zip(customers, PAYLOADS):
            s.execute(update(Customer).where(Customer.id == pk).values(first_name=payload, last_name=payload[::-1],
                                                                       city=payload))
        for pk, payload in zip(s.scalars(select(Product.id).order_by(Product.id)).all(), reversed(PAYLOADS)):
            s.execute(update(Product).where(Product.id == pk).values(name=payload))
        valuable = s.scalars(select(RunCustomer.customer_id).where(  # two valuable customers slip
            RunCustomer.run_id == first, RunCustomer.rfm_segment.in_(("CHAMPIONS", "LOYAL")))
            .order_by(RunCustomer.customer_id).limit(2)).all()
        s.execute(update(RunCustomer).where(RunCustomer.run_id == last, RunCustomer.customer_id.in_(valuable))
                  .values(rfm_segment="AT_RISK"))
    yield {"db": db, "first": first, "last": last}
    db.engine.dispose()
    Database._open.pop(db.url, None)


def _csv_cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def _sheet(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data)).active


def _tables(world):
    db, last = world["db"], world["last"]
    view = compare_runs(db, world["first"], last)
    return [customers_download(db, last), segment_summary_download(db, last), offers_download_frame(db, last),
            migration_download(view), slipped_download(view, "GBP")]


def test_no_cell_of_any_download_runs_as_a_formula(world):
    for table in _tables(world):
        cells = _csv_cells(csv_file(table))
        assert cells[0] == list(table.columns), table.name
        assert not [c for row in cells for c in row if is_formula_in_a_spreadsheet(c)], table.name
        sheet = _sheet(xlsx_file(table))
        assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"], table.name
    planted = customers_download(world["db"], world["last"]).frame()
    assert set(PAYLOADS) & set(planted["First name"])  # the payloads are there, as text


def test_excel_keeps_the_planted_text_exactly_and_numbers_dates_as_such(world):
    table = customers_download(world["db"], world["last"])
    frame = table.frame()
    sheet = _sheet(xlsx_file(table))
    header = [c.value for c in sheet[1]]
    assert header == list(table.columns)
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(frame) == len(run_customers(world["db"], world["last"]))
    first = dict(zip(header, rows[0]))
    assert first["First name"] == frame.loc[0, "First name"]  # '=HYPERLINK(...' as text, not a formula
    for col in ("Orders", "R", "Days since last purchase"):
        assert isinstance(first[col], int), col
    for col in ("Net total (GBP)", "CLV (GBP)", "P(alive)"):
        assert isinstance(first[col], (int, float)), col
    assert isinstance(first["First purchase"], dt.datetime)  # a date cell


def test_csv_numbers_parse_as_numbers_and_match_the_run(world):
    data = csv_file(customers_download(world["db"], world["last"]))
    back = pd.read_csv(io.BytesIO(data), keep_default_na=False, na_values=[""])
    expected = run_customers(world["db"], world["last"])
    assert back["Customer"].astype(str).tolist() == expected.index.tolist()
    assert back["Net total (GBP)"].to_numpy() == pytest.approx(expected["monetary"].round(2).to_numpy())
    assert back["CLV (GBP)"].to_numpy() == pytest.approx(expected["clv"].astype(float).round(2).to_numpy())
    assert back["Orders"].dtype.kind == "i" and back["First purchase"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()


def test_money_headers_name_the_currency_except_for_no_currency():
    assert money_header("CLV", "eur") == "CLV (EUR)"
    assert money_header("CLV", "XXX") == "CLV"


def test_rows_are_streamed_in_chunks_and_the_files_do_not_depend_on_the_chunk_size(world, monkeypatch):
    table = customers_download(world["db"], world["last"])
    whole_csv, whole_rows = csv_file(table), list(_sheet(xlsx_file(table)).values)
    monkeypatch.setattr(downloads, "CHUNK_ROWS", 7)
    sizes = [len(chunk) for chunk in table.chunks()]
    assert len(sizes) > 2 and max(sizes) <= 7
    assert csv_file(table) == whole_csv
    assert list(_sheet(xlsx_file(table)).values) == whole_rows


def test_a_sheet_too_big_for_excel_is_refused_with_the_way_out(world, monkeypatch):
    monkeypatch.setattr(downloads, "XLSX_MAX_ROWS", 5)
    with pytest.raises(ValidationError, match="download it as CSV"):
        xlsx_file(customers_download(world["db"], world["last"]))


@pytest.mark.parametrize("filters", [
    {}, {"scenario": "REBUY"}, {"segment": ["CHAMPIONS", "LOYAL"], "min_score": 0.3}, {"family": "Books"},
])
def test_the_offers_download_has_the_rows_of_the_offers_page(world, filters):
    table = offers_download_frame(world["db"], world["last"], **filters)
    got = table.frame()
    shown = offers_frame(world["db"], world["last"], **filters)
    assert len(got) == len(shown) > 0
    assert got["Customer"].tolist() == shown["customer_id"].tolist()
    assert got["Product"].tolist() == shown["product_id"].tolist()
    assert got["Explanation"].tolist() == shown["explanation"].tolist()
    assert got["Family"].tolist() == shown["family"].tolist()
    assert got["Match %"].tolist() == shown["match_pct"].tolist()
    assert "Expected revenue (GBP)" in table.columns


def test_the_segment_summary_adds_up_to_the_run_and_names_each_action(world):
    summary = segment_summary(world["db"], world["last"])
    customers = run_customers(world["db"], world["last"])
    by = customers.groupby("rfm_segment")
    assert summary["customers"].sum() == len(customers) and summary["share"].sum() == pytest.approx(1.0)
    assert dict(zip(summary["segment"], summary["customers"])) == by.size().to_dict()
    assert summary.set_index("segment")["revenue"].to_dict() == pytest.approx(by["monetary"].sum().to_dict())
    assert summary.set_index("segment")["mean_clv"].to_dict() == pytest.approx(by["clv"].mean().astype(float).to_dict())
    assert summary["action"].notna().all() and summary["action"].str.len().min() > 10
    assert list(segment_summary_download(world["db"], world["last"]).columns)[-2:] == ["Revenue (GBP)",
                                                                                     "Mean CLV (GBP)"]


def test_the_comparison_downloads_hold_the_matrix_and_the_slipped_list(world):
    view = compare_runs(world["db"], world["first"], world["last"])
    matrix = migration_download(view).frame()
    assert matrix.iloc[:, 1:].to_numpy().sum() == view.migration.to_numpy().sum()
    slipped = slipped_download(view, "GBP").frame()
    assert len(slipped) == 2 and slipped["Customer"].tolist() == view.slipped["customer_id"].tolist()
    assert "Net total before (GBP)" in slipped.columns and "CLV after (GBP)" in slipped.columns


def test_a_small_frame_downloads_as_it_is():
    frame = pd.DataFrame({"n": [1, 2], "text": ["=1+1", None]})
    table = table_of(frame, name="a b/c")
    assert table.name == "a_b_c"
    assert _csv_cells(csv_file(table)) == [["n", "text"], ["1", "'=1+1"], ["2", ""]]
    assert [list(r) for r in _sheet(xlsx_file(table)).values] == [["n", "text"], [1, "=1+1"], [2, None]]
