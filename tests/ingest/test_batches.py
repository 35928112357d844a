"""A file read in batches imports exactly like the same file read at once: same rows, same report.

Every test imports one file twice, with one batch and with batches cut every
few rows (so invoices, customers, bad rows, duplicates and product names all
straddle batch edges), and compares everything an import leaves: the stored
lines with their customer and product keys, the products' names, and the
report with every issue.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from crm_core.ingest import RejectThresholdExceeded, import_file, read_table
from crm_core.ingest.batches import csv_batches
from crm_core.ingest.containers import text_layout
from crm_core.ingest.source import open_source
from crm_core.ingest.textfile import inspect_text
from crm_core.store import Database
from crm_core.store.models import Customer, ImportBatch, Product, Workspace
from tests.ingest.conftest import stored_transactions

HEAD = "customer_id,invoice_id,invoice_date,product_id,product_name,quantity,unit_price\n"
WHOLE = 10**6  # one batch


def straddling_file(seed: int = 3, invoices: int = 40) -> bytes:
    """Invoices of 1-6 lines over a few customers, with every kind of bad or odd line among them."""
    rng = random.Random(seed)
    lines = [HEAD]
    for i in range(invoices):
        customer = "" if i % 13 == 5 else str(100 + rng.randrange(8))  # some anonymous sales
        invoice = f"C{500 + i}" if i % 11 == 7 else str(500 + i)  # a cancellation now and then
        day = f"2024-0{1 + i % 3}-{1 + i % 27:02d} 1{i % 10}:00:00"
        for j in range(rng.randrange(1, 7)):
            product = f"P{rng.randrange(6)}"
            name = f"Name {product} v{i // 10}" if rng.random() < 0.7 else ""  # names change along the file
            quantity = -1 if invoice.startswith("C") else rng.randrange(1, 4)
            lines.append(f"{customer},{invoice},{day},{product},{name},{quantity},{rng.choice(['2.5', '3', '0'])}\n")
            roll = rng.random()
            if roll < 0.06:
                lines.append(lines[-1])  # an exact duplicate, maybe in the next batch
            elif roll < 0.09:
                lines.append(f"{customer},{invoice},not a date,{product},,1,2\n")  # rejected: bad date
            elif roll < 0.11:
                lines.append(f"{customer},{invoice},{day},{product},x,1,2,extra\n")  # rejected: too many fields
            elif roll < 0.13:
                lines.append(f"{customer},{invoice},{day}\n")  # too few fields: padded, then rejected
            elif roll < 0.15:
                lines.append("\n")  # a blank line: numbered, not a row
    lines.append("101,999,2024-03-30 10:00:00,P9,,1,4\n")  # a product first seen in the last row
    return "".join(lines).encode()


def _import(tmp_path, tag: str, data: bytes, batch_rows: int, **kw):
    db = Database.open(f"sqlite:///{tmp_path / tag}.db")
    db.upgrade()
    from crm_core.auth import Actor, Role

    report = import_file(db, "shop", (data, "straddle.csv"), kind="transactions", actor=Actor("ann", Role.ANALYST),
                         batch_rows=batch_rows, imported_at=pd.Timestamp("2024-06-01").to_pydatetime(), **kw)
    return db, report


def _state(db) -> dict:
    with db.read() as s:
        customers = s.execute(select(Customer.id, Customer.customer_code).order_by(Customer.id)).all()
        products = s.execute(select(Product.id, Product.product_code, Product.name, Product.is_merchandise)
                             .order_by(Product.id)).all()
        batch = s.execute(select(ImportBatch.rows_read, ImportBatch.rows_loaded, ImportBatch.rows_rejected,
                                 ImportBatch.rows_warned, ImportBatch.rows_skipped, ImportBatch.summary_json,
                                 ImportBatch.format_json).where(ImportBatch.status == "loaded")
                          .order_by(ImportBatch.id)).all()
    return {"lines": stored_transactions(db), "customers": customers, "products": products, "batches": batch}


def _same_report(a, b) -> None:
    for field in ("status", "rows_read", "rows_loaded", "rows_rejected", "rows_warned", "rows_skipped",
                  "anonymous_rows", "message", "format", "mapping", "content_hash"):
        assert getattr(a, field) == getattr(b, field), field
    pd.testing.assert_frame_equal(a.issues, b.issues)


def _same_state(x: dict, y: dict) -> None:
    pd.testing.assert_frame_equal(x["lines"], y["lines"])
    assert x["customers"] == y["customers"]
    assert x["products"] == y["products"]
    assert x["batches"] == y["batches"]


@pytest.mark.parametrize("batch_rows", [1, 3, 7, 50])
def test_a_file_imported_in_batches_is_stored_and_reported_as_if_read_at_once(tmp_path, batch_rows):
    data = straddling_file()
    one_db, whole = _import(tmp_path, "whole", data, WHOLE, accept_rejects=True)
    cut_db, cut = _import(tmp_path, f"cut{batch_rows}", data, batch_rows, accept_rejects=True)
    _same_report(whole, cut)
    _same_state(_state(one_db), _state(cut_db))
    codes = set(whole.issues["code"])  # the file really has what straddles the edges
    assert {"duplicate_row", "bad_date", "wrong_field_count", "cancellation"} <= codes
    assert whole.anonymous_rows > 0 and whole.rows_loaded > 100


def test_products_take_the_last_name_the_file_gives_them_across_batches(tmp_path):
    data = (HEAD + "1,1,2024-01-01,A,,1,2\n1,1,2024-01-01,B,First B,1,2\n2,2,2024-01-02,A,Late A,1,2\n"
            "2,2,2024-01-02,B,Last B,1,2\n3,3,2024-01-03,B,,1,2\n").encode()
    for rows in (1, 2, WHOLE):
        db, _ = _import(tmp_path, f"names{rows}", data, rows)
        assert [(p[1], p[2]) for p in _state(db)["products"]] == [("A", "Late A"), ("B", "Last B")]


def test_a_second_file_skips_what_an_earlier_import_loaded_counted_over_all_its_batches(tmp_path):
    head = "customer_id,invoice_date,product_id,amount,invoice_id\n"
    first = (head + "1,2024-01-01,A,5,\n1,2024-01-01,A,5,\n2,2024-01-02,B,7,I9\n").encode()
    # three identical invoice-less lines (two were loaded before, in different batches here) and invoice I9 again
    later = (head + "1,2024-01-01,A,5,\n3,2024-01-05,C,1,I10\n1,2024-01-01,A,5,\n2,2024-01-02,B,7,I9\n"
             "1,2024-01-01,A,5,\n").encode()
    results = []
    for rows in (1, 2, WHOLE):
        db = Database.open(f"sqlite:///{tmp_path / f'second{rows}'}.db")
        db.upgrade()
        from crm_core.auth import Actor, Role

        ann = Actor("ann", Role.ANALYST)
        import_file(db, "shop", (first, "a.csv"), kind="transactions", actor=ann, batch_rows=rows)
        report = import_file(db, "shop", (later, "b.csv"), kind="transactions", actor=ann, batch_rows=rows)
        results.append((report, _state(db)))
    for report, state in results[:-1]:
        _same_report(report, results[-1][0])
        _same_state(state, results[-1][1])
    report = results[-1][0]
    assert (report.rows_loaded, report.rows_skipped) == (2, 3)
    skipped = report.issues[report.issues["code"].isin(["same_as_loaded", "already_loaded"])]
    assert skipped[["line", "code"]].values.tolist() == [[2, "same_as_loaded"], [4, "same_as_loaded"],
                                                          [5, "already_loaded"]]


def test_over_the_reject_threshold_nothing_is_kept_not_even_the_new_workspace(tmp_path):
    bad = (HEAD + "".join(f"{i},{i},2024-01-0{1 + i % 5},P1,,1,2\n" if i % 3 else f"{i},{i},bad,P1,,1,2\n"
                          for i in range(1, 60))).encode()
    reports = []
    for rows in (4, WHOLE):
        db = Database.open(f"sqlite:///{tmp_path / f'reject{rows}'}.db")
        db.upgrade()
        from crm_core.auth import Actor, Role

        with pytest.raises(RejectThresholdExceeded) as caught:
            import_file(db, "shop", (bad, "bad.csv"), kind="transactions", actor=Actor("ann", Role.ANALYST),
                        batch_rows=rows)
        reports.append(caught.value.report)
        with db.read() as s:
            assert s.scalars(select(Workspace.id)).all() == []
        assert len(stored_transactions(db)) == 0
    _same_report(*reports)
    assert reports[0].status == "needs_confirmation" and reports[0].rows_rejected == 19


def test_the_csv_reader_gives_the_same_cells_whatever_the_batch_size(tmp_path):
    data = straddling_file(seed=11)
    path = tmp_path / "cells.csv"
    path.write_bytes(data)
    src = open_source(path, _config())
    facts = inspect_text(src, _config())
    layout = text_layout(src, facts, _config())
    whole = list(csv_batches(src, facts, layout, batch_rows=WHOLE))
    assert len(whole) == 1
    for rows in (1, 4, 9):
        parts = list(csv_batches(src, facts, layout, batch_rows=rows))
        assert max(len(p.frame) for p in parts) <= rows
        pd.testing.assert_frame_equal(pd.concat([p.frame for p in parts]), whole[0].frame)
        rejects = pd.concat([p.rejects for p in parts if len(p.rejects)], ignore_index=True)
        pd.testing.assert_frame_equal(rejects, whole[0].rejects)
        assert len(rejects) > 3
    parsed = read_table(path, kind="transactions")  # the preview reads the same cells
    assert np.array_equal(parsed.frame.index, whole[0].frame.index[(whole[0].frame != "").any(axis=1)])


def _config():
    from crm_core.ingest import IngestConfig

    return IngestConfig()


@pytest.mark.postgres
def test_on_postgresql_the_batched_import_stores_what_sqlite_stores(tmp_path, pg_db):
    from crm_core.auth import Actor, Role

    data = straddling_file(seed=5)
    _, on_sqlite = _import(tmp_path, "lite", data, 7, accept_rejects=True)
    on_pg = import_file(pg_db, "shop", (data, "straddle.csv"), kind="transactions", actor=Actor("ann", Role.ANALYST),
                        batch_rows=7, accept_rejects=True, imported_at=pd.Timestamp("2024-06-01").to_pydatetime())
    _same_report(on_sqlite, on_pg)
    lite_db = Database.open(f"sqlite:///{tmp_path / 'lite'}.db")
    lines = stored_transactions(lite_db)
    pg_lines = stored_transactions(pg_db)
    for frame in (lines, pg_lines):
        frame["is_return"] = frame["is_return"].astype(bool)
        frame["is_merchandise"] = frame["is_merchandise"].astype(bool)
    pd.testing.assert_frame_equal(lines, pg_lines, check_dtype=False)
