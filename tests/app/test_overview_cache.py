"""The Overview's figures are kept in the store until the next sales import, never stale, never with an old run."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import func, select

from crm_core.auth import Actor, Role
from crm_core.config import Config
from crm_core.ingest import import_file
from crm_core.services import overview_summary as overview_cache
from crm_core.services.pipeline import run_pipeline
from crm_core.store.models import OverviewSummary
from crm_core.views import overview
from crm_core.views.workspaces import get_workspace


def _computed_now(db, ws):
    kpis = overview.overview_kpis(db, ws)
    return kpis, overview.revenue_by_month(db, ws, as_of=kpis.as_of)


def _refuse_recompute(monkeypatch):
    def fail(*_a, **_k):
        raise AssertionError("recomputed although no sales file was loaded since")
    monkeypatch.setattr(overview_cache, "overview_kpis", fail)
    monkeypatch.setattr(overview_cache, "revenue_by_month", fail)


def test_the_first_view_computes_and_keeps_the_figures_later_views_read_them(app_db, monkeypatch):
    db, ws = app_db.db, app_db.shop_id
    fresh_kpis, fresh_months = _computed_now(db, ws)
    first_kpis, first_months = overview_cache.overview_figures(db, ws)
    assert first_kpis == fresh_kpis
    pd.testing.assert_frame_equal(first_months, fresh_months)
    with db.read() as s:
        kept = s.get(OverviewSummary, ws)
        assert kept.transactions_batch_id == overview_cache.latest_sales_batch(db, ws)
        assert kept.as_of == fresh_kpis.as_of

    _refuse_recompute(monkeypatch)
    kpis, months = overview_cache.overview_figures(db, ws)
    assert kpis == fresh_kpis  # every field, recency bands and average order value included
    pd.testing.assert_frame_equal(months, fresh_months, check_exact=True)


def test_a_new_sales_import_replaces_the_kept_figures(app_db, analyst):
    db, ws = app_db.db, app_db.shop_id
    before, _ = overview_cache.overview_figures(db, ws)
    name = get_workspace(db, "shop").name
    code = "ZZ-NEW-BUYER"
    import_file(db, name, (f"customer_id,invoice_id,invoice_date,amount\n{code},NEW-1,2024-03-28,1234.50\n".encode(),
                           "late.csv"), kind="transactions", actor=analyst)
    after, months = overview_cache.overview_figures(db, ws)
    assert after.customers == before.customers + 1
    assert after.revenue == pytest.approx(before.revenue + 1234.5)
    assert after.orders == before.orders + 1
    assert months["revenue"].iloc[-1] == pytest.approx(_computed_now(db, ws)[1]["revenue"].iloc[-1])
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(OverviewSummary)) == 1  # replaced, not added


def test_kept_figures_show_the_newest_run(app_db, monkeypatch):
    db, ws = app_db.db, app_db.shop_id
    kpis, _ = overview_cache.overview_figures(db, ws)
    assert kpis.last_run is None
    run_id = run_pipeline(db, get_workspace(db, "shop"), Actor("analyst", Role.ANALYST), Config()).run_id
    _refuse_recompute(monkeypatch)
    kpis, _ = overview_cache.overview_figures(db, ws)
    assert kpis.last_run is not None and kpis.last_run.id == run_id


def test_a_workspace_without_sales_keeps_nothing(app_db):
    kpis, months = overview_cache.overview_figures(app_db.db, app_db.bank_id)
    assert kpis.as_of is None and kpis.customers == 0 and months.empty
    with app_db.db.read() as s:
        assert s.get(OverviewSummary, app_db.bank_id) is None
