"""Overview: the workspace's KPI cards and headline charts."""

from __future__ import annotations

import streamlit as st

from app.shell import KpiCard, format_count, format_money, guard_page, kpi_row, shown
from crm_core.charts.overview import customers_by_recency_figure, customers_by_segment_figure, revenue_by_month_figure
from crm_core.services.overview_summary import overview_figures
from crm_core.store import Database
from crm_core.views import overview

ctx = guard_page("overview.py")
ws = ctx.workspace


@st.cache_data(show_spinner="Counting…", ttl=600, max_entries=32)
def _overview(url: str, workspace_id: int, version: tuple):
    db = Database.open(url)
    kpis, months = overview_figures(db, workspace_id)  # kept in the store until the next sales import
    segments = overview.customers_by_segment(db, workspace_id)
    return kpis, months, segments


kpis, months, segments = _overview(ctx.db.url, ws.id, overview.data_version(ctx.db, ws.id))


st.title("Overview")
if kpis.as_of is None:
    st.info(f"Workspace **{shown(ws.name)}** has no transactions yet. Load a sales file on the Import data page.")
    st.stop()
st.caption(f"Workspace **{shown(ws.name)}** · as of {kpis.as_of:%d %b %Y} (the last transaction date) · "
           f"amounts in {ws.currency}, net of returns")

run = kpis.last_run
run_value = "none yet" if run is None else f"{run.as_of:%d %b %y}"
if run is not None and run.status != "succeeded":
    run_value += f" ({run.status})"
run_help = ("No pipeline run yet: an analyst starts one on the Run pipeline page." if run is None
            else f"Run #{run.id} as of {run.as_of:%d %b %Y} by {run.created_by}, status {run.status}.")
kpi_row([
    KpiCard("Customers", format_count(kpis.customers), "Ids with at least one sale up to the as-of date."),
    KpiCard("Revenue", format_money(kpis.revenue, ws, compact=True),
            f"{format_money(kpis.revenue, ws)}, net of returns and cancellations."),
    KpiCard("Active customers", format_count(kpis.active_customers),
            f"Customers with a sale in the last {kpis.active_window_days} days."),
    KpiCard("Average order value", format_money(kpis.average_order_value, ws),
            f"Net revenue over {kpis.orders:,} orders (distinct invoices)."),
    KpiCard("Last run", run_value, run_help),
])

left, right = st.columns(2)
with left:
    st.plotly_chart(revenue_by_month_figure(months, ws.currency), key="chart_revenue_by_month")
with right:
    if segments.empty:
        st.plotly_chart(customers_by_recency_figure(overview.recency_band_frame(kpis)), key="chart_customers_by_recency")
    else:
        st.plotly_chart(customers_by_segment_figure(segments), key="chart_customers_by_segment")
