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
    on_pg = frames.load_transactions(pg, fill_workspace(pg, "bulk-frames"))
    on_sqlite = frames.load_transactions(db, fill_workspace(db, "bulk-frames"))
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
    on_pg = frames.load_customers(pg, fill_customers(pg, "bulk-people"), dt.date(2024, 4, 30))
    on_sqlite = frames.load_customers(db, fill_customers(db, "bulk-people"), dt.date(2024, 4, 30))
    pd.testing.assert_frame_equal(on_pg, on_sqlite, check_exact=True)
