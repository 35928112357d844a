"""Online Retail II (../shared/data) saved as a user would save it imports with no mapping."""

from __future__ import annotations

import functools

import pandas as pd
import pytest

from crm_core.ingest import IngestConfig, import_file
from tests.ingest.conftest import stored_transactions

pytestmark = pytest.mark.realdata


@functools.lru_cache(maxsize=1)
def _read(path: str) -> pd.DataFrame:
    return pd.read_parquet(path)


@pytest.fixture
def retail(shared_data):
    return _read(str(shared_data / "online_retail_II_2009-2010.parquet")).copy()


def _expected_minor(retail: pd.DataFrame) -> pd.Series:
    from decimal import Decimal

    known = retail.dropna(subset=["Customer ID"])
    cents = [int(round(Decimal(str(q)) * Decimal(str(p)) * 100)) for q, p in zip(known["Quantity"], known["Price"])]
    ids = known["Customer ID"].astype("int64").astype(str)
    return pd.Series(cents, index=ids.index).groupby(ids.to_numpy()).sum().sort_index()


def _check(db, report, retail):
    assert report.rows_loaded == len(retail) == 525_461
    assert report.anonymous_rows == 107_927 and "107,927 without a customer id" in report.message
    assert report.rows_rejected == 0
    tx = stored_transactions(db)
    customers = tx["customer_id"].dropna()
    assert customers.nunique() == 4_383
    assert tx.loc[tx["is_return"] == 0, "customer_id"].dropna().nunique() == 4_314
    assert (tx["invoice_id"].str.startswith("C") == (tx["is_return"] == 1)).sum() > 0
    net = tx.dropna(subset=["customer_id"]).groupby("customer_id")["amount_minor"].sum().sort_index()
    expected = _expected_minor(retail)
    assert net.index.tolist() == expected.index.tolist()
    assert (net.to_numpy() == expected.to_numpy()).all()  # cancellations netted, to the penny
    assert tx.loc[tx["product_id"] == "POST", "is_merchandise"].eq(0).all()


def test_online_retail_as_uk_csv_imports_without_mapping(db, analyst, retail, tmp_path):
    saved = retail.copy()
    saved["InvoiceDate"] = saved["InvoiceDate"].dt.strftime("%d/%m/%Y %H:%M")  # as Excel UK saves CSV
    saved.to_csv(tmp_path / "online_retail.csv", index=False)
    report = import_file(db, "retail", tmp_path / "online_retail.csv", kind="transactions", actor=analyst)
    assert report.format["dates"] == {"InvoiceDate": "DMY"}
    _check(db, report, retail)


@pytest.mark.slow
def test_online_retail_as_xlsx_imports_without_mapping(db, analyst, retail, tmp_path):
    """Saved as Excel saves it (shared strings, date serials): within the default archive checks."""
    import zipfile

    from tests.ingest.excel_like import write_excel_like

    path = write_excel_like(retail, tmp_path / "online_retail.xlsx", sheet="Year 2009-2010")
    unpacked = sum(m.file_size for m in zipfile.ZipFile(path).infolist())
    assert unpacked < IngestConfig().xlsx_max_uncompressed_mb * 2**20  # the default limit, not a raised one
    report = import_file(db, "retail", path, kind="transactions", actor=analyst)
    assert report.format["container"] == "xlsx"
    _check(db, report, retail)


@pytest.mark.slow
def test_online_retail_written_by_openpyxl_is_refused_by_the_default_check_with_the_way_out(analyst, db, retail,
                                                                                              tmp_path):
    """openpyxl and pandas write every text inline: the same sheet unpacks to ~213 MB, over the 200 MB check."""
    import openpyxl

    from crm_core.ingest.errors import UnsafeArchive

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Year 2009-2010")
    ws.append(list(retail.columns))
    for row in retail.itertuples(index=False):
        ws.append([None if isinstance(v, float) and v != v else v for v in row])
    wb.save(tmp_path / "online_retail.xlsx")
    with pytest.raises(UnsafeArchive, match=r"xlsx_max_uncompressed_mb"):
        import_file(db, "retail", tmp_path / "online_retail.xlsx", kind="transactions", actor=analyst)
    with db.read() as s:
        from sqlalchemy import func, select

        from crm_core.store.models import Transaction
        assert s.scalar(select(func.count()).select_from(Transaction)) == 0
