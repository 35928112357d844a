"""Overview: the workspace's KPI cards and headline charts; cohort retention and the revenue flow on request."""

from __future__ import annotations

import streamlit as st

from app.shell import KpiCard, format_count, format_money, guard_page, kpi_row, shown
from crm_core.charts.cohorts import COHORT_CAPTION, WATERFALL_CAPTION, cohort_heatmap, revenue_waterfall
from crm_core.charts.overview import customers_by_recency_figure, customers_by_segment_figure, revenue_by_month_figure
from crm_core.services.overview_summary import overview_figures
from crm_core.store import Database
from crm_core.views import overview
from crm_core.views.cohorts import cohort_figures
from crm_core.views.merges import merges_version

ctx = guard_page("overview.py")
ws = ctx.workspace
_COHORTS_ON = "_ov_cohorts_on"  # the toggle's choice, kept across page switches (widget state is not)


@st.cache_data(show_spinner="Counting…", ttl=600, max_entries=32)
def _overview(url: str, workspace_id: int, version: tuple):
    db = Database.open(url)
    kpis, months = overview_figures(db, workspace_id)  # kept in the store until the next sales import
    segments = overview.customers_by_segment(db, workspace_id)
    return kpis, months, segments


@st.cache_data(show_spinner="Reading every sales line for the cohorts…", max_entries=8)
def _cohorts(url: str, workspace_id: int, version: tuple):
    return cohort_figures(Database.open(url), workspace_id)  # ~4 s per million lines: kept until the data changes


version = overview.data_version(ctx.db, ws.id)
kpis, months, segments = _overview(ctx.db.url, ws.id, version)


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

st.subheader("Cohorts and revenue flow")
if "ov_cohorts" not in st.session_state:
    st.session_state["ov_cohorts"] = bool(st.session_state.get(_COHORTS_ON, False))
show = st.toggle("Show cohort retention and the revenue flow", key="ov_cohorts",
                 help="Reads every sales line of the workspace (about 4 s per million lines, 84 s for ten million); "
                      "then kept until the next import, run or customer merge.")
st.session_state[_COHORTS_ON] = show
if show:
    figures = _cohorts(ctx.db.url, ws.id, (*version, *merges_version(ctx.db, ws.id)))
    st.plotly_chart(cohort_heatmap(figures.cohorts), key="chart_cohorts")
    st.caption(COHORT_CAPTION)
    shown_months = st.select_slider("Months in the revenue flow", [3, 6, 12, 24], value=6, key="ov_flow_months")
    st.plotly_chart(revenue_waterfall(figures.flow, ws.currency, months=shown_months), key="chart_revenue_flow")
    st.caption(WATERFALL_CAPTION)
