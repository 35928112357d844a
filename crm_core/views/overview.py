"""The numbers of the Overview and Data pages, as SQL aggregates.

Everything is computed in the database (set-based, no per-customer rows
fetched), so the pages stay fast on millions of transactions. Money comes
back in major units. Definitions follow docs/contracts.md: ``as_of`` is a
calendar date and rows dated on or before it count; a sale is a row that is
not a return; a customer is an id with at least one sale on or before
``as_of``. When ``as_of`` is None, the date of the workspace's last
transaction is used (never the wall clock).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import String, case, cast, distinct, func, literal, select

from crm_core.dates import end_of_day
from crm_core.segment.rfm import segment_label
from crm_core.store.frames import minor_factor
from crm_core.store.models import (Customer, CustomerAttribute, Holding, ImportBatch, Offer, Outcome, PipelineRun,
                                   Product, RunCustomer, Transaction)
from crm_core.views.runs import RunInfo, latest_run, latest_run_id

ACTIVE_WINDOW_DAYS = 90
RECENCY_BANDS = ((30, "0-30 days"), (90, "31-90 days"), (180, "91-180 days"), (365, "181-365 days"))
OLDEST_BAND = "over 365 days"


@dataclass(frozen=True)
class OverviewKpis:
    """The KPI cards of the Overview page."""

    as_of: dt.date | None
    customers: int
    revenue: float
    orders: int
    active_customers: int
    active_window_days: int
    average_order_value: float | None
    last_run: RunInfo | None  # the newest run, whatever became of it
    recency_bands: tuple[tuple[str, int], ...] = ()  # (band label, customers) in band order


@dataclass(frozen=True)
class LoadedData:
    """What a workspace holds: row counts per table and the span of its transactions."""

    counts: pd.DataFrame  # columns: table (string), rows (int64)
    first_transaction: dt.datetime | None
    last_transaction: dt.datetime | None


def _end_of(as_of: dt.date) -> dt.datetime:
    """First instant after the whole day ``as_of``."""
    return end_of_day(as_of)


def _as_datetime(value) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value
    return pd.Timestamp(value).to_pydatetime()


def last_transaction_date(db, workspace_id: int) -> dt.date | None:
    """Calendar date of the workspace's latest transaction (None when it has none)."""
    with db.read() as s:
        last = s.scalar(select(func.max(Transaction.invoice_date)).where(Transaction.workspace_id == workspace_id))
    last = _as_datetime(last)
    return None if last is None else last.date()


def _in_workspace(workspace_id: int):
    """Rows of one workspace, written so that the planner scans instead of using ix_transactions_ws_date.

    These aggregates read most rows of a workspace; walking the date index
    then fetching each row is ~20x slower on SQLite than one sequential scan,
    so ``workspace_id + 0`` hides the index (same meaning on every database).
    """
    return (Transaction.workspace_id + 0) == workspace_id


def _sales_orders(sale):
    """Distinct sales orders: invoice codes, plus customer-days for lines without an invoice code."""
    t = Transaction
    no_code_day = (cast(func.coalesce(t.customer_id, 0), String) + literal(":")
                   + cast(func.date(t.invoice_date), String))
    return (func.count(distinct(case((sale, t.invoice_code))))
            + func.count(distinct(case((sale & t.invoice_code.is_(None), no_code_day)))))


def overview_kpis(db, workspace_id: int, *, as_of: dt.date | None = None,
                  active_window_days: int = ACTIVE_WINDOW_DAYS) -> OverviewKpis:
    """Customers, net revenue, orders, active customers, average order value and the last run.

    Args:
        db: the Database.
        workspace_id: the workspace.
        as_of: count rows dated on or before this day (default: last transaction date).
        active_window_days: a customer is active with a sale at most this many days before ``as_of``.
    Returns:
        OverviewKpis; zeros (and ``average_order_value`` None) for a workspace without transactions.
    """
    as_of = as_of or last_transaction_date(db, workspace_id)
    run = latest_run(db, workspace_id, any_status=True)
    if as_of is None:
        return OverviewKpis(None, 0, 0.0, 0, 0, active_window_days, None, run,
                            tuple((label, 0) for label in _BAND_LABELS))
    end = _end_of(as_of)
    t = Transaction
    sale = t.is_return.is_(False)
    # Per customer, the last purchase; then customers with one in the last N days, for the
    # active window and every band limit. (``customer_id + 0``: group by sorting one scan,
    # not by walking ix_transactions_customer and fetching rows at random.)
    last = (select((t.customer_id + 0).label("customer"), func.max(t.invoice_date).label("last"))
            .where(_in_workspace(workspace_id), sale, t.customer_id.is_not(None), t.invoice_date < end)
            .group_by(t.customer_id + 0).subquery())
    windows = sorted({active_window_days, *(days for days, _ in RECENCY_BANDS)})
    within = [func.coalesce(func.sum(case((last.c.last >= _day_start(as_of, days), 1), else_=0)), 0)
              .label(f"within_{days}") for days in windows]
    with db.read() as s:
        factor = minor_factor(s, workspace_id)
        money = s.execute(select(func.coalesce(func.sum(t.amount_minor), 0).label("revenue_minor"),
                                 _sales_orders(sale).label("orders"))
                          .where(_in_workspace(workspace_id), t.invoice_date < end)).one()
        people = s.execute(select(func.count().label("customers"), *within).select_from(last)).one()
    counts = {days: int(getattr(people, f"within_{days}") or 0) for days in windows}
    customers = int(people.customers or 0)
    revenue = int(money.revenue_minor or 0) / factor
    orders = int(money.orders or 0)
    return OverviewKpis(as_of, customers, revenue, orders, counts[active_window_days], active_window_days,
                        revenue / orders if orders else None, run, _bands(counts, customers))


def _day_start(as_of: dt.date, days_before: int) -> dt.datetime:
    """Midnight ``days_before`` calendar days before ``as_of``.

    A customer whose last purchase day is at most N days before as_of has a sale at or after this instant.
    """
    return dt.datetime.combine(as_of - dt.timedelta(days=days_before), dt.time())


_BAND_LABELS = [label for _, label in RECENCY_BANDS] + [OLDEST_BAND]


def _bands(within: dict[int, int], customers: int) -> tuple[tuple[str, int], ...]:
    cumulative = [within[days] for days, _ in RECENCY_BANDS] + [customers]
    previous = [0] + cumulative[:-1]
    return tuple((label, now - before) for label, now, before in zip(_BAND_LABELS, cumulative, previous))


def _month_expr(dialect: str):
    if dialect == "postgresql":
        return func.to_char(Transaction.invoice_date, "YYYY-MM")
    return func.strftime("%Y-%m", Transaction.invoice_date)


def revenue_by_month(db, workspace_id: int, *, as_of: dt.date | None = None) -> pd.DataFrame:
    """Net revenue and orders per calendar month up to ``as_of``.

    Returns:
        Columns ``month`` (datetime64, first of the month), ``revenue`` (float, major units) and
        ``orders`` (int64, distinct sales orders); one row per month with transactions, in order.
    """
    as_of = as_of or last_transaction_date(db, workspace_id)
    columns = {"month": "datetime64[ns]", "revenue": "float64", "orders": "int64"}
    if as_of is None:
        return pd.DataFrame({c: pd.Series(dtype=d) for c, d in columns.items()})
    t = Transaction
    month = _month_expr(db.engine.dialect.name).label("month")
    sale = t.is_return.is_(False)
    with db.read() as s:
        factor = minor_factor(s, workspace_id)
        rows = s.execute(select(month, func.sum(t.amount_minor).label("revenue_minor"),
                                _sales_orders(sale).label("orders"))
                         .where(_in_workspace(workspace_id), t.invoice_date < _end_of(as_of))
                         .group_by(month).order_by(month)).all()
    frame = pd.DataFrame(rows, columns=["month", "revenue_minor", "orders"])
    frame["month"] = pd.to_datetime(frame["month"].astype("string") + "-01", format="%Y-%m-%d").astype("datetime64[ns]")
    frame["revenue"] = frame.pop("revenue_minor").astype("float64") / factor
    return frame[list(columns)].astype(columns)


def recency_band_frame(kpis: OverviewKpis) -> pd.DataFrame:
    """The recency bands of ``kpis`` as a frame: ``band`` (string, in order) and ``customers`` (int64)."""
    bands = kpis.recency_bands or tuple((label, 0) for label in _BAND_LABELS)
    return pd.DataFrame({"band": pd.Series([b for b, _ in bands], dtype="string"),
                         "customers": pd.Series([n for _, n in bands], dtype="int64")})


def customers_by_recency_band(db, workspace_id: int, *, as_of: dt.date | None = None) -> pd.DataFrame:
    """How many customers last bought within each recency band before ``as_of`` (0-30 days, ..., over 365).

    Returns:
        Columns ``band`` (string, in band order, every band present) and ``customers`` (int64).
    """
    return recency_band_frame(overview_kpis(db, workspace_id, as_of=as_of))


def customers_by_segment(db, workspace_id: int, *, run_id: int | None = None) -> pd.DataFrame:
    """Customers and their net value per RFM segment in a run (default: the latest succeeded run).

    Returns:
        Columns ``segment`` (code), ``label``, ``customers`` (int64), ``monetary`` (float, major
        units); largest segment first; empty when there is no succeeded run.
    """
    columns = {"segment": "string", "label": "string", "customers": "int64", "monetary": "float64"}
    with db.read() as s:
        run_id = run_id or latest_run_id(db, workspace_id)
        factor = minor_factor(s, workspace_id)
        rows = [] if run_id is None else s.execute(
            select(RunCustomer.rfm_segment, func.count(), func.coalesce(func.sum(RunCustomer.monetary_minor), 0))
            .where(RunCustomer.run_id == run_id).group_by(RunCustomer.rfm_segment)).all()
    frame = pd.DataFrame(rows, columns=["segment", "customers", "monetary_minor"])
    frame["label"] = frame["segment"].map(segment_label)
    frame["monetary"] = frame.pop("monetary_minor").astype("float64") / factor
    frame = frame[list(columns)].astype(columns)
    return frame.sort_values(["customers", "segment"], ascending=[False, True], ignore_index=True)


_COUNTED = (("customers", Customer), ("products", Product), ("transactions", Transaction),
            ("holdings", Holding), ("customer attributes", CustomerAttribute), ("pipeline runs", PipelineRun),
            ("offers", Offer), ("outcomes", Outcome), ("imports", ImportBatch))


def loaded_data(db, workspace_id: int) -> LoadedData:
    """Row counts per table of the workspace and the first and last transaction times."""
    with db.read() as s:
        counts = [(name, int(s.scalar(select(func.count()).select_from(model)
                                      .where(model.workspace_id == workspace_id)) or 0))
                  for name, model in _COUNTED]
        first, last = s.execute(select(func.min(Transaction.invoice_date), func.max(Transaction.invoice_date))
                                .where(Transaction.workspace_id == workspace_id)).one()
    frame = pd.DataFrame({"table": pd.Series([c[0] for c in counts], dtype="string"),
                          "rows": pd.Series([c[1] for c in counts], dtype="int64")})
    return LoadedData(frame, _as_datetime(first), _as_datetime(last))


def import_history(db, workspace_id: int, *, limit: int = 200) -> pd.DataFrame:
    """The workspace's imports, newest first: when, who, what file, and how many rows went where."""
    b = ImportBatch
    with db.read() as s:
        rows = s.execute(select(b.id, b.created_at, b.created_by, b.kind, b.source_name, b.status, b.rows_read,
                                b.rows_loaded, b.rows_rejected, b.rows_warned, b.rows_skipped)
                         .where(b.workspace_id == workspace_id)
                         .order_by(b.created_at.desc(), b.id.desc()).limit(limit)).all()
    columns = ["id", "created_at", "created_by", "kind", "source_name", "status", "rows_read", "rows_loaded",
               "rows_rejected", "rows_warned", "rows_skipped"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    for col in ("created_by", "kind", "source_name", "status"):
        frame[col] = frame[col].astype("string")
    for col in ("id", "rows_read", "rows_loaded", "rows_rejected", "rows_warned", "rows_skipped"):
        frame[col] = frame[col].fillna(0).astype("int64")
    return frame


def data_version(db, workspace_id: int) -> tuple:
    """A cheap fingerprint that changes when an import or a pipeline run lands (for caching page data)."""
    with db.read() as s:
        batch = s.scalar(select(func.max(ImportBatch.id)).where(ImportBatch.workspace_id == workspace_id))
        run = s.execute(select(func.max(PipelineRun.id), func.count())
                        .where(PipelineRun.workspace_id == workspace_id, PipelineRun.status == "succeeded")).one()
    return (batch, run[0], run[1])
