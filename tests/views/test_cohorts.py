"""Cohort retention and the revenue flow, aggregated in SQL, against a plain pandas computation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from crm_core.charts.cohorts import WATERFALL_CAPTION, cohort_heatmap, revenue_waterfall, waterfall_steps
from crm_core.store.models import Customer, ImportBatch, Transaction, Workspace
from crm_core.views.cohorts import COHORT_COLUMNS, FLOW_COLUMNS, cohort_figures

# (customer, date, amount in pence): X returns after a gap (Jan, Feb, -, Apr), Z's March is net of a
# return, W only returns something in February (not a month W bought), None is an anonymous sale.
LINES = [("X", "2025-01-05", 1000), ("X", "2025-02-10", 500), ("X", "2025-04-02", 700),
         ("Y", "2025-02-20", 300), ("Y", "2025-02-21", 200),
         ("Z", "2025-01-30", 400), ("Z", "2025-03-01", 900), ("Z", "2025-03-09", -250),
         ("W", "2025-01-15", 800), ("W", "2025-02-03", -800),
         (None, "2025-02-11", 5000), ("V", "2025-04-30", 100)]


def _load(db, lines=LINES, name="shop") -> int:
    with db.unit_of_work() as s:
        ws = Workspace(name=name, currency="GBP", currency_decimals=2, timezone="UTC")
        s.add(ws)
        s.flush()
        batch = ImportBatch(workspace_id=ws.id, kind="transactions", source_name="s.csv", content_hash=name,
                            status="loaded", created_by="ann")
        s.add(batch)
        codes = {c for c, _, _ in lines if c}
        people = {c: Customer(workspace_id=ws.id, customer_code=c) for c in sorted(codes)}
        s.add_all(people.values())
        s.flush()
        for i, (code, day, amount) in enumerate(lines):
            s.add(Transaction(workspace_id=ws.id, batch_id=batch.id, line_no=i + 2,
                              customer_id=people[code].id if code else None, amount_minor=amount,
                              is_return=amount < 0,
                              invoice_date=dt.datetime.fromisoformat(day) + dt.timedelta(hours=9)))
        return ws.id


def _reference(lines=LINES) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The definitions of crm_core.views.cohorts, computed the plain way."""
    raw = pd.DataFrame(lines, columns=["c", "day", "amount"]).dropna(subset=["c"])
    raw["month"] = pd.to_datetime(raw["day"]).dt.to_period("M")
    cm = raw.groupby(["c", "month"]).agg(rev=("amount", "sum"), bought=("amount", lambda a: (a > 0).any()))
    active = cm[cm["bought"]].reset_index()
    active["rev"] = active["rev"] / 100
    first = active.groupby("c")["month"].min().rename("first")
    active = active.join(first, on="c")
    active["since"] = [(m - f).n for m, f in zip(active["month"], active["first"])]
    cohorts = active.groupby(["first", "since"]).agg(customers=("c", "size"), revenue=("rev", "sum")).reset_index()
    months = pd.period_range(active["month"].min(), active["month"].max(), freq="M")
    by = {m: dict(zip(g["c"], g["rev"])) for m, g in active.groupby("month")}
    flow = []
    for m in months:
        now, before = by.get(m, {}), by.get(m - 1, {})
        firsts = {c for c in now if first[c] == m}
        kept = {c for c in now if c in before}
        flow.append({"month": m.to_timestamp(), "revenue": sum(now.values()), "new": sum(now[c] for c in firsts),
                     "returning": sum(v for c, v in now.items() if c not in firsts and c not in kept),
                     "retained_change": sum(now[c] - before[c] for c in kept),
                     "lost": -sum(v for c, v in before.items() if c not in now),
                     "lost_customers": sum(1 for c in before if c not in now)})
    return cohorts, pd.DataFrame(flow)


def test_cohorts_and_flow_equal_a_pandas_computation(db):
    ws = _load(db)
    _load(db, [("X", "2025-01-01", 99_900)], name="other")  # another workspace never counts
    figures = cohort_figures(db, ws)
    cohorts, flow = _reference()
    got = figures.cohorts
    assert list(got.columns) == list(COHORT_COLUMNS) and list(figures.flow.columns) == list(FLOW_COLUMNS)
    assert got["cohort"].dt.to_period("M").tolist() == cohorts["first"].tolist()
    assert got["months_since"].tolist() == cohorts["since"].tolist()
    assert got["customers"].tolist() == cohorts["customers"].tolist()
    assert got["revenue"].to_numpy() == pytest.approx(cohorts["revenue"].to_numpy())
    # the first month: January's cohort is X, Z and W, all of them buying in it (100 %)
    jan = got[got["cohort"] == "2025-01-01"].set_index("months_since")
    assert jan.loc[0, "cohort_size"] == 3 and jan.loc[0, "retention"] == 1.0
    assert jan.loc[3, "customers"] == 1  # X, back in April after a gap
    for col in ("revenue", "new", "returning", "retained_change", "lost"):
        assert figures.flow[col].to_numpy() == pytest.approx(flow[col].to_numpy()), col
    assert figures.flow["lost_customers"].tolist() == flow["lost_customers"].tolist()


def test_a_customer_back_after_a_gap_is_returning_and_the_flow_adds_up(db):
    flow = cohort_figures(db, _load(db)).flow.set_index("month")
    april = flow.loc["2025-04-01"]
    assert april["returning"] == pytest.approx(7.0) and april["returning_customers"] == 1  # X
    assert april["new"] == pytest.approx(1.0)  # V
    assert flow.loc["2025-03-01", "lost"] == pytest.approx(-10.0)  # X and Y bought in February, not in March
    assert flow.loc["2025-01-01", "previous_revenue"] == 0 and flow.loc["2025-01-01", "lost"] == 0
    bridge = flow["previous_revenue"] + flow["lost"] + flow["retained_change"] + flow["returning"] + flow["new"]
    assert bridge.to_numpy() == pytest.approx(flow["revenue"].to_numpy())


def test_as_of_cuts_the_lines(db):
    figures = cohort_figures(db, _load(db), as_of=dt.date(2025, 2, 28))
    assert figures.flow["month"].dt.month.tolist() == [1, 2]
    assert set(figures.cohorts["cohort"].dt.month) == {1, 2}


def test_a_workspace_without_sales_gives_typed_empty_frames(db):
    with db.unit_of_work() as s:
        s.add(Workspace(name="empty"))
    figures = cohort_figures(db, 1)
    assert figures.as_of is None and figures.cohorts.empty and figures.flow.empty
    assert dict(figures.flow.dtypes.astype(str)) == FLOW_COLUMNS
    assert "No customer sales" in str(cohort_heatmap(figures.cohorts).layout.annotations[0].text)
    assert "No customer sales" in str(revenue_waterfall(figures.flow, "GBP").layout.annotations[0].text)


def test_the_waterfall_bars_end_at_each_months_revenue(db):
    flow = cohort_figures(db, _load(db)).flow
    steps = waterfall_steps(flow, months=3)
    assert steps.iloc[0].tolist() == ["Jan 2025", "Revenue", "absolute", pytest.approx(flow.loc[0, "revenue"])]
    running, totals = 0.0, []
    for row in steps.itertuples(index=False):
        running = row.value if row.measure == "absolute" else running if row.measure == "total" else running + row.value
        if row.measure == "total":
            totals.append((row.month, running, row.value))
    assert [(m, pytest.approx(v)) for m, v, _ in totals] == [(m, pytest.approx(v)) for m, _, v in totals]
    assert [m for m, _, _ in totals] == ["Feb 2025", "Mar 2025", "Apr 2025"]
    fig = revenue_waterfall(flow, "GBP", months=3)
    assert fig.data[0].type == "waterfall" and len(fig.data[0].measure) == len(steps)
    assert "shown negative" in WATERFALL_CAPTION and "bought then but not this month" in WATERFALL_CAPTION


def test_the_heatmap_shows_the_newest_cohorts_as_shares(db):
    cohorts = cohort_figures(db, _load(db)).cohorts
    fig = cohort_heatmap(cohorts, max_cohorts=2)
    heat = fig.data[0]
    assert list(heat.y) == ["Feb 2025 (1)", "Apr 2025 (1)"]  # oldest of the two on top
    assert np.nanmax(np.asarray(heat.z, dtype=float)) == 100.0


@pytest.mark.postgres
def test_postgresql_gives_the_same_figures(db, pg_db):
    lite, pg = cohort_figures(db, _load(db)), cohort_figures(pg_db, _load(pg_db))
    pd.testing.assert_frame_equal(lite.cohorts, pg.cohorts)
    pd.testing.assert_frame_equal(lite.flow, pg.flow)
