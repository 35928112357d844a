"""The good corpus: every local format imports cleanly with the right values."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_core.ingest import ReaderOptions, import_file, read_table
from tests.ingest.conftest import GOOD

TS = pd.Timestamp


def _import(db, actor, name, kind="transactions", **kw):
    return import_file(db, "shop", GOOD / name, kind=kind, actor=actor, **kw)


def test_semicolon_decimal_comma_cp1252_german_headers(db, analyst, stored):
    report = _import(db, analyst, "semicolon_decimal_comma.csv")
    assert report.format["delimiter"] == ";" and report.format["encoding"] == "cp1252"
    assert report.format["number_format"] == "decimal comma, thousands '.'"
    tx = stored(db)
    assert tx["customer_id"].tolist() == ["10001", "10002", "10001"]
    assert tx["amount_minor"].tolist() == [246900, 399, -123450]
    assert tx["unit_price_minor"].tolist() == [123450, 399, 123450]
    assert tx["invoice_date"].tolist() == [TS("2024-01-13"), TS("2024-01-14"), TS("2024-02-02")]
    assert tx["product_id"].tolist() == ["AB-1", "AB-2", "AB-1"]  # trimmed and upper-cased
    assert tx["product_name"].iloc[0] == "Tasse groß"
    assert tx["is_return"].tolist() == [0, 0, 1]


@pytest.mark.parametrize("name,dates", [
    ("dayfirst.csv", ["2024-02-01 09:30", "2023-12-25 18:05", "2024-04-03"]),
    ("monthfirst.csv", ["2023-12-25 13:05", "2024-01-02 09:00", "2024-02-03 00:30"]),
    ("yyyymmdd.csv", ["2024-01-05", "2024-02-29", "2024-03-01"]),
    ("excel_serial.csv", ["2024-01-01", "2024-01-01 18:00"]),
])
def test_date_styles_are_decided_from_the_data(db, analyst, stored, name, dates):
    report = _import(db, analyst, name)
    assert report.rows_rejected == 0
    assert stored(db)["invoice_date"].tolist() == [TS(d) for d in dates]


@pytest.mark.parametrize("name,encoding,delimiter", [
    ("utf16.tsv", "utf-16", "\t"), ("cp1252.csv", "cp1252", ";"), ("bom.csv", "utf-8-sig", ","),
    ("tab.tsv", "utf-8", "\t"), ("pipe.txt", "utf-8", "|"), ("mixed_encodings.csv", "mixed utf-8/cp1252", ","),
])
def test_encodings_and_delimiters(db, analyst, stored, name, encoding, delimiter):
    report = _import(db, analyst, name)
    assert (report.format["encoding"], report.format["delimiter"]) == (encoding, delimiter)
    assert report.rows_rejected == 0 and report.rows_loaded == report.rows_read


def test_accents_survive_each_encoding(db, analyst, stored):
    _import(db, analyst, "utf16.tsv")
    assert stored(db)["customer_id"].tolist() == ["ü1", "ü2"]
    table = read_table(GOOD / "cp1252.csv", kind="transactions")
    assert table.frame["Désignation"].tolist() == ["Crème brûlée", "Pâté"]
    assert table.mapping == {"customer_id": "N° client", "invoice_date": "Date facture", "amount": "Montant",
                             "product_name": "Désignation"}
    mixed = read_table(GOOD / "mixed_encodings.csv", kind="transactions")
    assert mixed.frame["product_name"].tolist() == ["Crème", "Gâteau"]
    assert any("mixes UTF-8" in n for n in mixed.notes)


def test_euro_sign_and_decimal_comma_in_amounts(db, analyst, stored):
    _import(db, analyst, "cp1252.csv")
    assert stored(db)["amount_minor"].tolist() == [450, 320]


def test_anonymous_rows_and_non_merchandise_codes(db, analyst, stored):
    report = _import(db, analyst, "pipe.txt")
    assert report.anonymous_rows == 1
    tx = stored(db)
    assert tx["customer_id"].isna().tolist() == [False, True, False]
    assert tx.set_index("product_id")["is_merchandise"].to_dict() == {"S1": 1, "S2": 1, "POST": 0}


def test_header_below_title_lines(db, analyst, stored):
    table = read_table(GOOD / "header_not_first.csv", kind="transactions")
    assert table.format["header_line"] == 4
    assert table.frame.index.tolist() == [5, 6]  # source line numbers
    assert _import(db, analyst, "header_not_first.csv").rows_loaded == 2


def test_xlsx_with_two_sheets_picks_the_data_sheet_and_says_so(db, analyst, stored):
    table = read_table(GOOD / "two_sheets.xlsx", kind="transactions")
    assert table.sheets == ["Notes", "Sales"] and table.format["sheet"] == "Sales"
    assert any("--sheet" in n for n in table.notes)
    _import(db, analyst, "two_sheets.xlsx")
    tx = stored(db)
    assert tx["customer_id"].tolist() == ["13085", "00042"]  # float id normalised, leading zeros kept
    assert tx["invoice_date"].tolist() == [TS("2024-01-05 10:30"), TS("2024-01-06")]
    assert tx["amount_minor"].tolist() == [250, 350]


def test_formulas_are_read_as_text_never_evaluated(db, analyst, stored):
    report = _import(db, analyst, "formulas.xlsx", accept_rejects=True)
    rejected = report.issues[report.issues["severity"] == "rejected"]
    assert rejected[["line", "column", "code", "value"]].values.tolist() == [
        [3, "unit_price", "formula_not_value", "=B3*2"]]
    tx = stored(db)
    assert tx["customer_id"].tolist() == ["1", "3"]
    assert tx["product_name"].iloc[0] == '=HYPERLINK("http://x")'
    assert b"'=B3*2" in report.issues_csv()  # the download cannot run it either


def test_online_retail_excerpt_nets_cancellations_and_flags_non_merchandise(db, analyst, stored):
    report = _import(db, analyst, "online_retail_excerpt.csv")
    assert report.counts == {"cancellation": 2, "duplicate_row": 1, "zero_price": 1, "negative_price": 1}
    assert (report.rows_loaded, report.anonymous_rows) == (8, 4)
    tx = stored(db)
    assert tx["customer_id"].iloc[0] == "13085"
    cancelled = tx[tx["invoice_id"] == "C489449"]
    assert cancelled["amount_minor"].tolist() == [-3540] and cancelled["is_return"].tolist() == [1]
    assert tx.loc[tx["product_id"] == "POST", "is_merchandise"].tolist() == [0]
    assert tx.loc[tx["product_id"] == "B", "amount_minor"].tolist() == [-5359436]
    assert len(tx[tx["invoice_id"] == "489465"]) == 2  # duplicate lines inside one file are kept


def test_the_date_format_option_settles_ambiguous_dates(db, analyst, stored):
    from tests.ingest.conftest import BAD

    table = read_table(BAD / "ambiguous_dates.csv", kind="transactions")
    assert table.needs_date_format
    import_file(db, "shop", BAD / "ambiguous_dates.csv", kind="transactions", actor=analyst,
                options=ReaderOptions(date_format="MDY"))
    assert stored(db)["invoice_date"].tolist() == [TS("2024-01-02"), TS("2024-03-04")]


def test_parquet_is_read(db, analyst, stored, tmp_path):
    frame = pd.DataFrame({"Customer ID": [1.0, None], "InvoiceDate": pd.to_datetime(["2024-01-01", "2024-01-02"]),
                          "Quantity": [2, 1], "Price": [1.5, 2.0]})
    frame.to_parquet(tmp_path / "tx.parquet")
    report = import_file(db, "shop", tmp_path / "tx.parquet", kind="transactions", actor=analyst)
    assert report.format["container"] == "parquet" and report.anonymous_rows == 1
    assert stored(db)["amount_minor"].tolist() == [300, 200]


def test_lines_with_too_many_fields_are_rejected_with_their_line(db, analyst):
    data = b"customer_id,invoice_date,amount\n1,2024-01-01,5\n2,2024-01-02,6,oops\n" + \
        b"".join(b"%d,2024-01-03,7\n" % i for i in range(3, 40))
    report = import_file(db, "shop", (data, "extra.csv"), kind="transactions", actor=analyst)
    rejected = report.issues[report.issues["severity"] == "rejected"]
    assert rejected[["line", "code"]].values.tolist() == [[3, "wrong_field_count"]]
    assert report.rows_loaded == 38 and report.rows_read == 39


def test_xlsx_saved_as_excel_does_with_shared_strings_and_date_serials(db, analyst, stored, tmp_path):
    from tests.ingest.excel_like import write_excel_like

    frame = pd.DataFrame({
        "Invoice": ["489434", "489434", "C489449"], "StockCode": ["85048", "POST", "22087"],
        "Description": ["15CM GLASS BALL & <LIGHTS>", " Caf\u00e9 cr\u00e8me ", "PAPER BUNTING"],
        "Quantity": [12, 1, -2], "InvoiceDate": pd.to_datetime(["2009-12-01 07:45", "2009-12-01 07:45",
                                                                 "2009-12-02 13:10"]),
        "Price": [6.95, 18.0, 2.55], "Customer ID": [13085.0, 13085.0, float("nan")]})
    path = write_excel_like(frame, tmp_path / "excel.xlsx", sheet="Year 2009-2010")
    report = import_file(db, "shop", path, kind="transactions", actor=analyst)
    assert report.format["container"] == "xlsx" and report.format["sheet"] == "Year 2009-2010"
    assert (report.rows_loaded, report.anonymous_rows, report.rows_rejected) == (3, 1, 0)
    tx = stored(db)
    assert tx["invoice_date"].tolist() == [TS("2009-12-01 07:45"), TS("2009-12-01 07:45"), TS("2009-12-02 13:10")]
    assert tx["amount_minor"].tolist() == [8340, 1800, -510] and tx["is_return"].tolist() == [0, 0, 1]
    assert tx["product_name"].tolist()[:2] == ["15CM GLASS BALL & <LIGHTS>", "Caf\u00e9 cr\u00e8me"]
    assert tx["customer_id"].tolist()[:2] == ["13085", "13085"]


def test_a_big_workbook_reports_its_reading_progress(tmp_path):
    from tests.ingest.excel_like import write_excel_like

    frame = pd.DataFrame({"Customer ID": [str(i % 500) for i in range(45_000)],
                          "InvoiceDate": pd.Timestamp("2024-01-01"), "Amount": 1.5})
    seen = []
    read_table(write_excel_like(frame, tmp_path / "big.xlsx"), kind="transactions",
               progress=lambda f, m: seen.append((f, m)))
    assert [m for _, m in seen] == ["reading row 20,000 of 45,001 of Sheet1", "reading row 40,000 of 45,001 of Sheet1"]
    assert [round(f, 3) for f, _ in seen] == [round(20_000 / 45_001, 3), round(40_000 / 45_001, 3)]
