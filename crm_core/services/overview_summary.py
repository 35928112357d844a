"""The Overview's figures, computed once per sales import and kept in the store.

The KPIs and the revenue by month read every transaction line: on ten
million lines that is about 40 s of SQL. They only change when a sales file
is loaded, so they are kept in ``overview_summaries`` under the id of the
newest loaded transactions batch, and computed again only when a newer one
lands. The last pipeline run is never kept: it is read fresh each time.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from crm_core.store.models import ImportBatch, OverviewSummary
from crm_core.views.overview import OverviewKpis, overview_kpis, revenue_by_month
from crm_core.views.runs import latest_run


def overview_figures(db, workspace_id: int) -> tuple[OverviewKpis, pd.DataFrame]:
    """``(overview_kpis(...), revenue_by_month(...))`` as of the last transaction date, kept between imports.

    Returns:
        The same values the two functions compute, from the kept summary when no sales file
        has been loaded since it was computed.
    """
    version = latest_sales_batch(db, workspace_id)
    if version is not None:
        with db.read() as s:
            kept = s.get(OverviewSummary, workspace_id)
            found = (kept.kpis_json, kept.months_json) if kept and kept.transactions_batch_id == version else None
        if found is not None:
            return _kpis_from(found[0], latest_run(db, workspace_id, any_status=True)), _months_from(found[1])
    kpis = overview_kpis(db, workspace_id)
    months = revenue_by_month(db, workspace_id, as_of=kpis.as_of)
    if version is not None and kpis.as_of is not None:
        _keep(db, workspace_id, version, kpis, months)
    return kpis, months


def latest_sales_batch(db, workspace_id: int) -> int | None:
    """Id of the newest transactions file loaded into the workspace (None before the first)."""
    with db.read() as s:
        return s.scalar(select(func.max(ImportBatch.id)).where(
            ImportBatch.workspace_id == workspace_id, ImportBatch.kind == "transactions",
            ImportBatch.status == "loaded"))


def _keep(db, workspace_id: int, version: int, kpis: OverviewKpis, months: pd.DataFrame) -> None:
    record = OverviewSummary(workspace_id=workspace_id, transactions_batch_id=version, as_of=kpis.as_of,
                             kpis_json=_kpis_json(kpis), months_json=_months_json(months))
    try:
        with db.unit_of_work() as s:
            s.execute(delete(OverviewSummary).where(OverviewSummary.workspace_id == workspace_id))
            s.add(record)
    except IntegrityError:  # another session kept the same figures first
        pass


def _kpis_json(kpis: OverviewKpis) -> dict:
    return {"as_of": kpis.as_of.isoformat(), "customers": kpis.customers, "revenue": kpis.revenue,
            "orders": kpis.orders, "active_customers": kpis.active_customers,
            "active_window_days": kpis.active_window_days, "average_order_value": kpis.average_order_value,
            "recency_bands": [[label, n] for label, n in kpis.recency_bands]}


def _kpis_from(data: dict, run) -> OverviewKpis:
    return OverviewKpis(dt.date.fromisoformat(data["as_of"]), int(data["customers"]), float(data["revenue"]),
                        int(data["orders"]), int(data["active_customers"]), int(data["active_window_days"]),
                        None if data["average_order_value"] is None else float(data["average_order_value"]), run,
                        tuple((str(label), int(n)) for label, n in data["recency_bands"]))


def _months_json(months: pd.DataFrame) -> list:
    return [[m.date().isoformat(), float(r), int(o)]
            for m, r, o in zip(months["month"], months["revenue"], months["orders"])]


def _months_from(rows: list) -> pd.DataFrame:
    return pd.DataFrame({"month": pd.to_datetime([r[0] for r in rows]).astype("datetime64[ns]"),
                         "revenue": pd.Series([r[1] for r in rows], dtype="float64"),
                         "orders": pd.Series([r[2] for r in rows], dtype="int64")})
