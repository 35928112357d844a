"""The shipped samples in data/samples/ are exactly what the generator writes, in readable formats."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from crm_core.demo import SAMPLE_FILES, generate_retail, write_samples, write_world
from crm_core.demo.samples import GERMAN_HEADERS

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("samples")
    assert [p.name for p in write_samples(out)] == list(SAMPLE_FILES)
    return out


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_committed_sample_equals_generator_output(regenerated, name):
    committed = SAMPLES / name
    assert committed.exists(), f"{committed} is missing: run python -m crm_core.demo write-samples data/samples"
    digest = hashlib.sha256(committed.read_bytes()).hexdigest()
    assert digest == hashlib.sha256((regenerated / name).read_bytes()).hexdigest(), (
        f"{name} differs from the generator's output: if the change is intended, "
        "run python -m crm_core.demo write-samples data/samples")


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_samples_are_small_enough_to_ship(name):
    assert (SAMPLES / name).stat().st_size < 5.5 * 1024 ** 2


def test_csv_house_format(retail):
    raw = (SAMPLES / "retail_transactions.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
    assert raw.split(b"\n", 1)[0] == b"customer_id,invoice_id,invoice_date,product_id,product_name,category,quantity,unit_price,channel"
    back = pd.read_csv(io.BytesIO(raw), dtype={"customer_id": "string", "invoice_id": "string"},
                       keep_default_na=False, na_values=[""])
    assert len(back) == len(retail.transactions)
    assert (back["quantity"].to_numpy() == retail.transactions["quantity"].to_numpy()).all()
    assert (back["unit_price"].to_numpy() == retail.transactions["unit_price"].to_numpy()).all()
    assert (pd.to_datetime(back["invoice_date"]).to_numpy() == retail.transactions["invoice_date"].to_numpy()).all()
    assert back["customer_id"].isna().sum() == retail.transactions["customer_id"].isna().sum()
    customers = (SAMPLES / "bank_customers.csv").read_text(encoding="utf-8").splitlines()
    assert customers[1].startswith("00100001,")  # ids keep their leading zeros
    assert ",1991-01-23," in customers[1]  # dates as YYYY-MM-DD, no time


def test_german_export_has_local_format():
    text = (SAMPLES / "retail_transactions_de.csv").read_text(encoding="utf-8")
    header = text.splitlines()[0].split(";")
    assert header == list(GERMAN_HEADERS.values())
    frame = pd.read_csv(io.StringIO(text), sep=";", decimal=",", dtype={"Kundennummer": "string"})
    assert len(frame) == 300
    assert frame["Einzelpreis"].dtype == "float64" and frame["Einzelpreis"].gt(0).mean() > 0.95
    dates = pd.to_datetime(frame["Rechnungsdatum"], format="%d.%m.%Y %H:%M")
    assert (dates.dt.day > 12).any()  # day-first is decidable from the data
    assert frame["Kundennummer"].isna().any()  # an anonymous sale
    assert (frame["Menge"] < 0).any()  # a cancellation or return


def test_sample_workbook_has_two_sheets():
    wb = openpyxl.load_workbook(SAMPLES / "retail_sample.xlsx", read_only=True)
    assert wb.sheetnames == ["transactions", "customers"]
    tx_rows = list(wb["transactions"].values)
    cust_rows = list(wb["customers"].values)
    assert tx_rows[0][:3] == ("customer_id", "invoice_id", "invoice_date")
    assert 200 <= len(tx_rows) - 1 <= 400
    assert isinstance(tx_rows[1][2], type(pd.Timestamp("2023-01-01").to_pydatetime()))
    ids = {str(r[0]).removesuffix(".0") for r in tx_rows[1:] if r[0] is not None}
    assert {r[0] for r in cust_rows[1:]} == ids


def test_write_world_xlsx_is_deterministic(tmp_path):
    world = generate_retail(n_customers=50, n_lines=400)
    a = write_world(world, tmp_path / "a", fmt="xlsx")
    b = write_world(world, tmp_path / "b", fmt="xlsx")
    assert [p.name for p in a] == ["transactions.xlsx", "customers.xlsx", "products.xlsx"]
    for x, y in zip(a, b):
        assert x.read_bytes() == y.read_bytes()
    sheet = openpyxl.load_workbook(a[0], read_only=True)["transactions"]
    assert sum(1 for _ in sheet.values) == len(world.transactions) + 1


def test_write_world_rejects_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="fmt='csv'"):
        write_world(generate_retail(n_customers=20, n_lines=100), tmp_path, fmt="json")
