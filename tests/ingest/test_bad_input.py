"""The bad-input corpus: every hostile or broken file gives a clear NextBestError and stores nothing."""

from __future__ import annotations

import io
import zipfile

import pytest

from crm_core.errors import NextBestError
from crm_core.ingest import (AmbiguousDates, EmptyColumn, EmptyFile, FileTooLarge, IngestConfig, LineTooLong,
                             MappingError, MissingColumns, ReaderOptions, RejectThresholdExceeded, SheetNotFound,
                             TooManyColumns, UnclosedQuote, UnreadableFile, UnsafeArchive, import_file, read_table)
from tests.ingest.conftest import BAD, GOOD

CASES = [
    ("empty.csv", "transactions", EmptyFile, "is empty"),
    ("header_only.csv", "transactions", EmptyFile, "no data rows"),
    ("binary_junk.csv", "transactions", UnreadableFile, "binary data"),
    ("old_excel.xls", "transactions", UnreadableFile, "save it as .xlsx or CSV"),
    ("document.pdf.csv", "transactions", UnreadableFile, "PDF"),
    ("not_a_workbook.xlsx", "transactions", UnreadableFile, "not an Excel workbook"),
    ("xml_entities.xlsx", "transactions", UnsafeArchive, "XML entities"),
    ("products_as_transactions.csv", "transactions", MissingColumns, "file of products"),
    ("missing_date_column.csv", "transactions", MissingColumns, "no column for invoice_date"),
    ("empty_date_column.csv", "transactions", EmptyColumn, "empty in every row"),
    ("open_quote.csv", "transactions", UnclosedQuote, "line 2"),
    ("ambiguous_dates.csv", "transactions", AmbiguousDates, "--date-format"),
    ("too_many_rejects.csv", "transactions", RejectThresholdExceeded, "--accept-rejects"),
    ("unreadable_dates_and_amounts.csv", "transactions", RejectThresholdExceeded, "bad_date"),
    ("customers.csv", "products", MissingColumns, "file of customers"),
]


@pytest.mark.parametrize("name,kind,error,needle", CASES, ids=[c[0] for c in CASES])
def test_bad_file_gives_a_clear_error_and_stores_nothing(db, analyst, counts, name, kind, error, needle):
    folder = GOOD if (GOOD / name).exists() and not (BAD / name).exists() else BAD
    with pytest.raises(error) as caught:
        import_file(db, "shop", folder / name, kind=kind, actor=analyst)
    assert isinstance(caught.value, NextBestError)
    assert needle in str(caught.value)
    assert sum(counts(db).values()) == 0


def test_missing_columns_message_names_the_columns_and_the_options(db, analyst):
    with pytest.raises(MissingColumns) as caught:
        import_file(db, "shop", BAD / "missing_date_column.csv", kind="transactions", actor=analyst)
    text = str(caught.value)
    assert caught.value.missing == ["invoice_date"]
    for needed in ("invoice_date", "'customer_id'", "'amount'", "--mapping FILE", "--date-format", "--sheet"):
        assert needed in text


def test_a_million_columns_wide_line_is_refused_before_parsing(db, analyst, counts):
    data = b"customer_id,invoice_date,amount\n" + b"1," * 1_000_000 + b"\n"
    with pytest.raises(LineTooLong, match="Line 2"):
        import_file(db, "shop", (data, "wide.csv"), kind="transactions", actor=analyst)
    assert sum(counts(db).values()) == 0


def test_too_many_columns_within_the_width_limit_is_refused(analyst):
    data = b"customer_id,invoice_date,amount\n1,2024-01-01,5\n" + b";".join([b"x"] * 3000) + b"\n"
    with pytest.raises(TooManyColumns):
        read_table((data.replace(b",", b";"), "wide.csv"), kind="transactions")


def test_a_zip_bomb_renamed_xlsx_is_refused_unopened(db, analyst, counts):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    assert len(buf.getvalue()) < 100_000
    with pytest.raises(UnsafeArchive, match="zip bomb"):
        import_file(db, "shop", (buf.getvalue(), "bomb.xlsx"), kind="transactions", actor=analyst)
    assert sum(counts(db).values()) == 0


def test_an_archive_with_too_many_entries_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(101):
            z.writestr(f"xl/part{i}.xml", "<x/>")
    with pytest.raises(UnsafeArchive, match="101 archive entries"):
        read_table((buf.getvalue(), "many.xlsx"), kind="transactions")


def test_an_archive_too_big_once_uncompressed_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"<a/>" * 400_000)
    config = IngestConfig(xlsx_max_uncompressed_mb=1)
    with pytest.raises(UnsafeArchive, match="would expand"):
        read_table((buf.getvalue(), "big.xlsx"), kind="transactions", config=config)


def test_the_upload_limit_is_enforced_with_the_limit_in_the_message(db, analyst, counts):
    config = IngestConfig(max_upload_mb=1)
    data = b"customer_id,invoice_date,amount\n" + b"1,2024-01-01,5\n" * 80_000
    with pytest.raises(FileTooLarge, match="upload limit is 1 MB"):
        import_file(db, "shop", (data, "big.csv"), kind="transactions", actor=analyst, config=config)
    assert sum(counts(db).values()) == 0


def test_an_unknown_sheet_names_the_sheets_there_are():
    with pytest.raises(SheetNotFound, match="'Notes', 'Sales'"):
        read_table(GOOD / "two_sheets.xlsx", kind="transactions", options=ReaderOptions(sheet="Data"))


def test_a_mapping_to_a_column_the_file_lacks_is_refused(db, analyst, counts):
    with pytest.raises(MappingError, match="does not have"):
        import_file(db, "shop", GOOD / "dayfirst.csv", kind="transactions", actor=analyst,
                    options=ReaderOptions(mapping={"customer_id": "Kunde"}))
    with pytest.raises(MappingError, match="unknown transactions field"):
        import_file(db, "shop", GOOD / "dayfirst.csv", kind="transactions", actor=analyst,
                    options=ReaderOptions(mapping={"client": "customer_id"}))
    assert sum(counts(db).values()) == 0


def test_a_missing_file_and_an_unknown_kind_are_clear(analyst, db):
    with pytest.raises(UnreadableFile, match="does not exist"):
        import_file(db, "shop", BAD / "no_such_file.csv", kind="transactions", actor=analyst)
    with pytest.raises(MappingError, match="choose one of transactions"):
        import_file(db, "shop", GOOD / "dayfirst.csv", kind="sales", actor=analyst)


def test_a_viewer_may_not_import(db, viewer, counts):
    from crm_core.errors import PermissionDenied

    with pytest.raises(PermissionDenied, match="analyst role"):
        import_file(db, "shop", GOOD / "dayfirst.csv", kind="transactions", actor=viewer)
    assert sum(counts(db).values()) == 0
