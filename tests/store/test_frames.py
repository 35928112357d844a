"""read_transactions: the SQLite chunk reader gives exactly what the portable reader gives, on awkward values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import crm_core.store.frames as frames
from crm_core.store.models import Customer, CustomerAttribute, ImportBatch, Product, Transaction, Workspace

AWKWARD_INVOICES = ["A,1", "it's", 'say "hi"', "two\nlines", "NULL", "", None, "ünï", "C42"]


def fill_workspace(db, name: str, *, decimals: int = 2) -> int:
    """A workspace with customers, products and lines holding every value the CSV chunks must survive."""
    with db.unit_of_work() as s:
        ws = Workspace(name=name, currency_decimals=decimals)
        s.add(ws)
        s.flush()
        batch = ImportBatch(workspace_id=ws.id, kind="transactions", source_name="t.csv", content_hash="h",
                            status="loaded", created_by="ann")
        customers = [Customer(workspace_id=ws.id, customer_code=code) for code in ("007", "13085", "x'y", "a,b")]
        products = [Product(workspace_id=ws.id, product_code="P1", name="Mug, blue", family="Kitchen"),
                    Product(workspace_id=ws.id, product_code="POST", name=None, family=None, is_merchandise=False),
                    Product(workspace_id=ws.id, product_code="P'3", name="It's \"big\"", family=None)]
        s.add_all([batch, *customers, *products])
        s.flush()
        base = dt.datetime(2024, 3, 1, 9, 30, 15, 123456)
        for i in range(40):
            s.add(Transaction(
                workspace_id=ws.id, batch_id=batch.id, line_no=i + 2,
                customer_id=None if i % 9 == 4 else customers[i % 4].id,
                product_id=None if i % 7 == 3 else products[i % 3].id,
                invoice_code=AWKWARD_INVOICES[i % len(AWKWARD_INVOICES)],
                invoice_date=base + dt.timedelta(days=i, seconds=i),
                quantity=[1.0, 0.1 + 0.2, -2.0, 1e-7, 3.0][i % 5],
                unit_price_minor=None if i % 6 == 5 else 199 * i,
                amount_minor=-150 if i % 5 == 2 else 250 * i + 1,
                is_return=i % 5 == 2,
                category=[None, "Fam, A", "it's", ""][i % 4]))
        return ws.id


def portable(db, ws_id, monkeypatch) -> pd.DataFrame:
    def refuse(conn, ws):
        raise frames._ChunkUnreadable("forced")

    with monkeypatch.context() as m:
        m.setattr(frames, "_read_sqlite_chunks", refuse)
        return frames.read_transactions(db, ws_id)


def test_chunked_reader_equals_portable_reader(db, monkeypatch):
    other = fill_workspace(db, "other")
    ws_id = fill_workspace(db, "shop")
    monkeypatch.setattr(frames, "_CHUNK_IDS", 7)  # many chunks, some holding only the other workspace's rows
    fast = frames.read_transactions(db, ws_id)
    slow = portable(db, ws_id, monkeypatch)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert len(fast) == 40 and len(frames.read_transactions(db, other)) == 40


def test_values_and_dtypes_follow_the_contract(db):
    ws_id = fill_workspace(db, "shop")
    tx = frames.read_transactions(db, ws_id)
    assert list(tx.columns) == list(frames.TX_COLUMNS)
    for col in ("customer_id", "invoice_id", "product_id", "product_name", "category"):
        assert tx[col].dtype == "string", col
    assert str(tx["invoice_date"].dtype) == "datetime64[ns]"
    assert tx["is_return"].dtype == bool and tx["is_merchandise"].dtype == bool
    assert tx["invoice_id"].head(len(AWKWARD_INVOICES)).tolist() == [
        v if v is not None else pd.NA for v in AWKWARD_INVOICES]
    assert tx.loc[0, "invoice_date"] == pd.Timestamp("2024-03-01 09:30:15.123456")
    assert tx.loc[1, "quantity"] == 0.1 + 0.2  # exact, not 0.3
    assert tx.loc[3, "quantity"] == 1e-7
    assert tx.loc[4, "customer_id"] is pd.NA  # anonymous sale
    assert tx.loc[1, "customer_id"] == "13085" and tx.loc[3, "customer_id"] == "a,b"
    assert tx.loc[3, "product_id"] is pd.NA and tx.loc[3, "is_merchandise"]
    assert tx.loc[1, "product_id"] == "POST" and not tx.loc[1, "is_merchandise"]
    assert tx.loc[0, "category"] == "Kitchen"  # catalog family wins over the line's category
    assert tx.loc[1, "category"] == "Fam, A"  # no family: the line's category
    assert tx.loc[2, "product_name"] == "It's \"big\"" and tx.loc[2, "category"] == "it's"
    assert tx.loc[3, "category"] == ""  # an empty text stays empty, not missing
    assert np.isnan(tx.loc[5, "unit_price"]) and tx.loc[6, "unit_price"] == pytest.approx(11.94)
    assert tx.loc[2, "amount"] == -1.5 and tx.loc[2, "is_return"]


def test_currency_decimals_scale_money(db):
    ws_id = fill_workspace(db, "yen", decimals=0)
    tx = frames.read_transactions(db, ws_id)
    assert tx.loc[1, "amount"] == 251.0


def test_unparseable_chunk_falls_back_to_the_portable_reader(db, monkeypatch):
    ws_id = fill_workspace(db, "shop")
    expected = frames.read_transactions(db, ws_id)

    def reject(blob, rows):
        raise pa.ArrowInvalid("CSV parse error: a date Arrow does not read")

    monkeypatch.setattr(frames, "_parse_chunk", reject)
    pd.testing.assert_frame_equal(frames.read_transactions(db, ws_id), expected, check_exact=True)


def test_empty_workspace_gives_the_columns(db):
    with db.unit_of_work() as s:
        ws = Workspace(name="empty")
        s.add(ws)
        s.flush()
        ws_id = ws.id
    tx = frames.read_transactions(db, ws_id)
    assert tx.empty and list(tx.columns) == list(frames.TX_COLUMNS)
    assert tx["customer_id"].dtype == "string"


def fill_customers(db, name: str) -> int:
    """Customers with names, birth dates and dated consent values, inserted out of code order."""
    with db.unit_of_work() as s:
        ws = Workspace(name=name)
        s.add(ws)
        s.flush()
        people = [Customer(workspace_id=ws.id, customer_code=code, first_name=first, birth_date=born, region=region)
                  for code, first, born, region in [("b2", "Zoë", dt.date(1980, 2, 29), "North"),
                                                    ("A1", None, None, None),
                                                    ("a10", "Al, Jr", dt.date(2001, 1, 1), "")]]
        s.add_all(people)
        s.flush()
        for customer, attribute, value, when in [
                (people[0], "email_opt_in", "true", dt.datetime(2024, 1, 1)),
                (people[0], "email_opt_in", "false", dt.datetime(2024, 5, 1)),
                (people[1], "do_not_contact", "1", dt.datetime(2023, 1, 1)),
                (people[2], "last_contacted_at", "2024-04-30 10:00:00", dt.datetime(2024, 4, 30, 10))]:
            s.add(CustomerAttribute(workspace_id=ws.id, customer_id=customer.id, attribute=attribute, value=value,
                                    effective_from=when))
        return ws.id


def test_customers_sorted_by_code_with_attributes_as_of_a_date(db):
    ws_id = fill_customers(db, "people")
    before = frames.read_customers(db, ws_id, dt.date(2024, 4, 30))
    assert before["customer_id"].tolist() == ["A1", "a10", "b2"]  # code point order, like SQLite's BINARY
    assert before["customer_id"].dtype == "string" and str(before["birth_date"].dtype) == "datetime64[ns]"
    assert before["first_name"].tolist() == [pd.NA, "Al, Jr", "Zoë"]
    assert before["birth_date"].tolist()[1:] == [pd.Timestamp("2001-01-01"), pd.Timestamp("1980-02-29")]
    assert before["region"].tolist() == [pd.NA, "", "North"]
    assert before["email_opt_in"].tolist() == [pd.NA, pd.NA, True]
    assert before["do_not_contact"].tolist() == [True, pd.NA, pd.NA]
    assert before["last_contacted_at"].tolist()[1] == pd.Timestamp("2024-04-30 10:00")
    later = frames.read_customers(db, ws_id, dt.date(2024, 5, 1))
    assert later["email_opt_in"].tolist() == [pd.NA, pd.NA, False]
    assert "_pk" not in later.columns


def test_customers_at_several_dates_from_one_read_equal_the_single_reads(db):
    ws_id = fill_customers(db, "dated")
    dates = [dt.date(2024, 4, 29), dt.date(2024, 5, 1), None, dt.date(2023, 6, 1)]
    together = frames.read_customers_at(db, ws_id, dates)
    assert len(together) == len(dates)
    for frame, as_of in zip(together, dates):
        pd.testing.assert_frame_equal(frame, frames.read_customers(db, ws_id, as_of))
    assert together[0]["email_opt_in"].tolist() == [pd.NA, pd.NA, True]
    assert together[1]["email_opt_in"].tolist() == [pd.NA, pd.NA, False]  # opted out on 2024-05-01
    assert together[3]["do_not_contact"].tolist() == [True, pd.NA, pd.NA]
    together[0].loc[0, "first_name"] = "changed"  # the frames share columns, never values
    assert together[1]["first_name"].tolist() == [pd.NA, "Al, Jr", "Zoë"]


def customers_with(db, name: str, codes: tuple[str, ...], stated: list[tuple[int, str, str]]) -> int:
    """A workspace with customers ``codes`` and, per (customer position, attribute, value), one stated value."""
    with db.unit_of_work() as s:
        ws = Workspace(name=name)
        s.add(ws)
        s.flush()
        people = [Customer(workspace_id=ws.id, customer_code=code) for code in codes]
        s.add_all(people)
        s.flush()
        s.add_all([CustomerAttribute(workspace_id=ws.id, customer_id=people[at].id, attribute=attribute, value=value,
                                     effective_from=dt.datetime(2024, 1, 1)) for at, attribute, value in stated])
        return ws.id


def test_consent_values_are_read_case_blind_and_unknown_ones_stay_missing(db):
    ws_id = customers_with(db, "mixed", ("c1", "c2", "c3", "c4"), [
        (0, "email_opt_in", "TRUE"), (1, "email_opt_in", "yes"), (2, "email_opt_in", "0"),
        (0, "last_contacted_at", "")])
    got = frames.read_customers(db, ws_id, None)
    assert got["email_opt_in"].tolist() == [True, pd.NA, False, pd.NA]
    assert str(got["email_opt_in"].dtype) == "boolean" and str(got["do_not_contact"].dtype) == "boolean"
    assert got["do_not_contact"].isna().all()  # nobody has the attribute: a column of missing flags
    assert str(got["last_contacted_at"].dtype) == "datetime64[ns]" and got["last_contacted_at"].isna().all()


def test_a_workspace_without_attributes_gets_typed_missing_columns(db):
    ws_id = customers_with(db, "bare", ("x", "y"), [])
    got = frames.read_customers(db, ws_id, dt.date(2024, 1, 1))
    assert [str(got[c].dtype) for c in ("email_opt_in", "do_not_contact", "last_contacted_at")] == \
        ["boolean", "boolean", "datetime64[ns]"]
    assert got[["email_opt_in", "do_not_contact", "last_contacted_at"]].isna().all().all()
