"""crm_core.views.overview against an independent pandas computation, and the pure chart builders."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
import pytest
from sqlalchemy import text

from crm_core.charts.overview import customers_by_recency_figure, customers_by_segment_figure, revenue_by_month_figure
from crm_core.segment.rfm import segment_label
from crm_core.store.models import PipelineRun, RunCustomer
from crm_core.views import overview, runs


@pytest.fixture
def raw(app_db) -> pd.DataFrame:
    with app_db.db.engine.connect() as conn:
        frame = pd.read_sql_query(
            f"SELECT customer_id, invoice_code, invoice_date, amount_minor, is_return FROM transactions "
            f"WHERE workspace_id = {app_db.shop_id}", conn)
    frame["invoice_date"] = pd.to_datetime(frame["invoice_date"], format="ISO8601")
    frame["is_return"] = frame["is_return"].astype(bool)
    return frame


def _expected(raw: pd.DataFrame, as_of: dt.date, window: int = 90) -> dict:
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    rows = raw[raw["invoice_date"] < end]
    sales = rows[~rows["is_return"]]
    buyers = sales.dropna(subset=["customer_id"])
    active = buyers[buyers["invoice_date"] >= pd.Timestamp(as_of) - pd.Timedelta(days=window)]
    return {"revenue": rows["amount_minor"].sum() / 100, "customers": buyers["customer_id"].nunique(),
            "active": active["customer_id"].nunique(), "orders": sales["invoice_code"].nunique(),
            "last": buyers.groupby("customer_id")["invoice_date"].max()}


def test_kpis_match_pandas_on_the_last_transaction_date(app_db, raw):
    kpis = overview.overview_kpis(app_db.db, app_db.shop_id)
    assert kpis.as_of == dt.date(2024, 3, 28)
    exp = _expected(raw, kpis.as_of)
    assert kpis.revenue == pytest.approx(exp["revenue"])
    assert (kpis.customers, kpis.active_customers, kpis.orders) == (exp["customers"], exp["active"], exp["orders"])
    assert kpis.average_order_value == pytest.approx(exp["revenue"] / exp["orders"])
    assert kpis.last_run is None


def test_kpis_as_of_a_past_date_ignore_later_rows_but_count_that_whole_day(app_db, raw):
    day = dt.date(2023, 6, 30)
    kpis = overview.overview_kpis(app_db.db, app_db.shop_id, as_of=day, active_window_days=30)
    exp = _expected(raw, day, window=30)
    assert kpis.revenue == pytest.approx(exp["revenue"])
    assert (kpis.customers, kpis.active_customers, kpis.orders) == (exp["customers"], exp["active"], exp["orders"])
    first = overview.overview_kpis(app_db.db, app_db.shop_id, as_of=dt.date(2023, 1, 2))
    assert first.revenue == pytest.approx(raw[raw["invoice_date"] < "2023-01-03"]["amount_minor"].sum() / 100)
    assert first.orders >= 1


def test_empty_workspace_gives_zeros_not_errors(app_db):
    kpis = overview.overview_kpis(app_db.db, app_db.bank_id)
    assert (kpis.as_of, kpis.customers, kpis.revenue, kpis.average_order_value) == (None, 0, 0.0, None)
    assert overview.revenue_by_month(app_db.db, app_db.bank_id).empty
    assert overview.customers_by_recency_band(app_db.db, app_db.bank_id)["customers"].sum() == 0
    assert overview.customers_by_segment(app_db.db, app_db.bank_id).empty
    assert overview.import_history(app_db.db, app_db.bank_id).empty


def test_revenue_by_month_sums_to_total_revenue(app_db, raw):
    months = overview.revenue_by_month(app_db.db, app_db.shop_id)
    assert list(months.columns) == ["month", "revenue", "orders"]
    assert months["month"].is_monotonic_increasing and months["month"].dt.day.eq(1).all()
    assert months["month"].iloc[0] == pd.Timestamp("2023-01-01")
    assert months["month"].iloc[-1] == pd.Timestamp("2024-03-01")
    assert months["revenue"].sum() == pytest.approx(raw["amount_minor"].sum() / 100)
    by_month = raw.groupby(raw["invoice_date"].dt.to_period("M"))["amount_minor"].sum() / 100
    assert months["revenue"].to_numpy() == pytest.approx(by_month.to_numpy())


def test_recency_bands_partition_the_customers(app_db, raw):
    bands = overview.customers_by_recency_band(app_db.db, app_db.shop_id)
    exp = _expected(raw, dt.date(2024, 3, 28))
    assert bands["customers"].sum() == exp["customers"]
    days = (pd.Timestamp("2024-03-28") - exp["last"].dt.normalize()).dt.days
    expected = [int((days <= 30).sum()), int(((days > 30) & (days <= 90)).sum()),
                int(((days > 90) & (days <= 180)).sum()), int(((days > 180) & (days <= 365)).sum()),
                int((days > 365).sum())]
    assert bands["customers"].tolist() == expected


def test_segments_come_from_the_latest_succeeded_run(app_db):
    db = app_db.db
    with db.unit_of_work() as s:
        ids = [c for c in s.execute(text(
            f"SELECT id FROM customers WHERE workspace_id = {app_db.shop_id} ORDER BY id LIMIT 5")).scalars()]
        for n, status in enumerate(["succeeded", "failed"]):
            run = PipelineRun(workspace_id=app_db.shop_id, run_uuid=f"run-{n}", status=status,
                              as_of=dt.date(2024, 3, 28), config_json={}, config_hash="c", data_hash="d",
                              created_by="analyst")
            s.add(run)
            s.flush()
            for i, cid in enumerate(ids):
                s.add(RunCustomer(run_id=run.id, customer_id=cid, first_purchase=dt.date(2023, 1, 2),
                                  last_purchase=dt.date(2024, 3, 1), recency_days=27, frequency=2,
                                  monetary_minor=1000 * (i + 1),
                                  rfm_segment="CHAMPIONS" if i < 3 else "CANT_LOSE"))
    seg = overview.customers_by_segment(db, app_db.shop_id)
    assert seg["segment"].tolist() == ["CHAMPIONS", "CANT_LOSE"]
    assert seg["customers"].tolist() == [3, 2]
    assert seg["monetary"].tolist() == pytest.approx([60.0, 90.0])
    assert seg["label"].tolist() == ["Champions", "Can't Lose Them"]
    assert segment_label("SOMETHING_NEW") == "Something new"
    assert segment_label(None) == segment_label("") == "Unsegmented"
    assert runs.latest_run(db, app_db.shop_id, any_status=True).status == "failed"  # the KPI card shows the latest attempt


def test_loaded_data_counts_and_span(app_db, raw):
    loaded = overview.loaded_data(app_db.db, app_db.shop_id)
    rows = dict(zip(loaded.counts["table"], loaded.counts["rows"]))
    assert rows["transactions"] == len(raw) and rows["customers"] == 40 and rows["products"] == 12
    assert loaded.first_transaction == dt.datetime(2023, 1, 2, 9, 30)
    assert loaded.last_transaction == dt.datetime(2024, 3, 28, 16, 0)
    history = overview.import_history(app_db.db, app_db.shop_id)
    assert history["source_name"].tolist() == ["sample_sales.csv"]
    assert history["rows_loaded"].tolist() == [400]


def test_data_version_changes_when_a_run_lands(app_db):
    before = overview.data_version(app_db.db, app_db.shop_id)
    with app_db.db.unit_of_work() as s:
        s.add(PipelineRun(workspace_id=app_db.shop_id, run_uuid="r", status="succeeded", as_of=dt.date(2024, 1, 1),
                          config_json={}, config_hash="c", data_hash="d", created_by="analyst"))
    assert overview.data_version(app_db.db, app_db.shop_id) != before


def test_figures_are_pure_and_deterministic(app_db):
    months = overview.revenue_by_month(app_db.db, app_db.shop_id)
    bands = overview.customers_by_recency_band(app_db.db, app_db.shop_id)
    fig = revenue_by_month_figure(months, "GBP")
    assert isinstance(fig, go.Figure) and list(fig.data[0].y) == pytest.approx(months["revenue"].tolist())
    assert "GBP" in fig.layout.yaxis.title.text
    assert fig.to_json() == revenue_by_month_figure(months, "GBP").to_json()
    assert list(customers_by_recency_figure(bands).data[0].y) == bands["customers"].tolist()
    seg = pd.DataFrame({"segment": ["A", "B"], "label": ["A", "B"], "customers": [5, 2], "monetary": [1.0, 2.0]})
    bars = customers_by_segment_figure(seg).data[0]
    assert list(bars.y) == ["B", "A"], "largest segment drawn on top"
    empty = revenue_by_month_figure(months.iloc[0:0], "GBP")
    assert not empty.data and "No transactions" in empty.layout.annotations[0].text
