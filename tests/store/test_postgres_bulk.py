"""The bulk reader and writer on a real PostgreSQL server: same frames as SQLite, rows stored and read back."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import select

from crm_core.store import Database, frames
from crm_core.store.models import Customer, Offer, RunCustomer
from crm_core.store.run_store import persist_run_results

from .test_frames import fill_customers, fill_workspace
from .test_run_store import run_frames, stored_world

pytestmark = pytest.mark.postgres


def test_load_transactions_on_postgres_equals_sqlite(postgres_url, db):
    pg = Database.open(postgres_url)
    pg.upgrade()
    on_pg = frames.read_transactions(pg, fill_workspace(pg, "bulk-frames"))
    on_sqlite = frames.read_transactions(db, fill_workspace(db, "bulk-frames"))
    pd.testing.assert_frame_equal(on_pg, on_sqlite, check_exact=True)


def test_persist_run_results_on_postgres(postgres_url):
    pg = Database.open(postgres_url)
    pg.upgrade()
    ws_id, run_id = stored_world(pg, "bulk-run")
    customers, offers, clusters = run_frames()
    with pg.unit_of_work() as s:
        persist_run_results(s, ws_id, run_id, customers, offers, clusters, submitted_by="ann")
    with pg.read() as s:
        codes = dict(s.execute(select(Customer.id, Customer.customer_code).where(Customer.workspace_id == ws_id)).all())
        rows = {codes[r.customer_id]: r for r in s.scalars(select(RunCustomer).where(RunCustomer.run_id == run_id))}
        assert rows["007"].first_purchase == dt.date(2024, 1, 2) and rows["007"].monetary_minor == 1001
        assert rows["007"].features_json == {"tenure_days": 180.0, "churn_score": 0.123457, "held": True,
                                             "n_holdings": 2}
        assert rows["x'y"].cluster is None
        got = sorted(s.scalars(select(Offer).where(Offer.run_id == run_id)),
                     key=lambda o: (codes[o.customer_id], o.rank))
        assert [o.rank for o in got] == [1, 2, 1]
        assert got[0].components_json["popularity"] == 0.1 + 0.2
        assert got[0].explanation_params_json["product"] == 'Mug "XL"'
        assert got[0].created_at.tzinfo is not None and got[0].flags is None


def test_load_customers_on_postgres_equals_sqlite(postgres_url, db):
    pg = Database.open(postgres_url)
    pg.upgrade()
    on_pg = frames.read_customers(pg, fill_customers(pg, "bulk-people"), dt.date(2024, 4, 30))
    on_sqlite = frames.read_customers(db, fill_customers(db, "bulk-people"), dt.date(2024, 4, 30))
    pd.testing.assert_frame_equal(on_pg, on_sqlite, check_exact=True)


def test_imports_on_postgres_store_what_sqlite_stores(postgres_url, db):
    """The importer's other branch (Core inserts, foreign keys always checked) on a real server."""
    from crm_core.auth import Actor, Role
    from crm_core.ingest import import_file
    from crm_core.views.workspaces import get_workspace

    analyst = Actor("analyst", Role.ANALYST)
    head = "customer_id,invoice_id,invoice_date,product_id,product_name,quantity,unit_price\n"
    first = head + "1,I1,2024-01-01 10:00,A,Mug,2,1.50\n,I2,2024-01-02,B,Plate,1,3\n2,C3,2024-01-03,A,Mug,-1,1.50\n"
    later = head + "2,C3,2024-01-03,A,Mug,-1,1.50\n3,I4,2024-01-04,POST,Postage,1,4.99\n"
    pg = Database.open(postgres_url)
    pg.upgrade()
    results = {}
    for name, store in (("postgres", pg), ("sqlite", db)):
        one = import_file(store, "import-pg", (first.encode(), "first.csv"), kind="transactions", actor=analyst)
        two = import_file(store, "import-pg", (later.encode(), "later.csv"), kind="transactions", actor=analyst)
        results[name] = ((one.rows_loaded, one.anonymous_rows), (two.rows_loaded, two.rows_skipped),
                         frames.read_transactions(store, get_workspace(store, "import-pg").id))
    assert results["postgres"][:2] == results["sqlite"][:2] == ((3, 1), (1, 1))
    pd.testing.assert_frame_equal(results["postgres"][2], results["sqlite"][2], check_exact=True)
    assert results["postgres"][2]["amount"].tolist() == [3.0, 3.0, -1.5, 4.99]
