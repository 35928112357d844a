"""Compare runs: segment migration between two runs, cluster stability, valuable customers who slipped;
CSV and Excel downloads of the migration matrix and of the slipped list."""

from __future__ import annotations

import streamlit as st

from app.downloads import download_buttons
from app.page_data import run_comparison
from app.shell import KpiCard, format_count, guard_page, kpi_row, open_customer, show_error, shown
from crm_core.charts.segments import migration_sankey
from crm_core.errors import NextBestError
from crm_core.views import runs
from crm_core.views.downloads import migration_download, slipped_download

ctx = guard_page("compare_runs.py")
ws = ctx.workspace

st.title("Compare runs")
available = runs.succeeded_runs(ctx.db, ws.id)
if len(available) < 2:
    st.info(f"Workspace **{shown(ws.name)}** has {len(available)} succeeded run(s); comparing needs two. "
            "An analyst starts "
            "runs on the **Run pipeline** page (e.g. as of two different dates).")
    st.stop()
by_id = {r.id: r for r in available}
ids = list(by_id)  # newest first
left, right = st.columns(2)
before_id = left.selectbox("Before", ids, index=1, format_func=lambda i: by_id[i].label, key="cmp_before")
after_id = right.selectbox("After", ids, index=0, format_func=lambda i: by_id[i].label, key="cmp_after")
if before_id == after_id:
    st.warning("Pick two different runs.")
    st.stop()
try:
    view = run_comparison(ctx.db, before_id, after_id)  # kept until the next change (a deleted run included)
except NextBestError as exc:
    show_error(exc)
    st.stop()

st.caption(f"Run #{view.before.id} as of {view.before.as_of:%d %b %Y} → run #{view.after.id} as of "
           f"{view.after.as_of:%d %b %Y} · workspace **{shown(ws.name)}**")
kpi_row([
    KpiCard("Stability (ARI)", "–" if view.stability is None else f"{view.stability:.2f}",
            "Adjusted Rand index of the clusters of customers in both runs: 1 = the same grouping, "
            "0 = no more alike than chance."),
    KpiCard("In both runs", format_count(view.customers_both)),
    KpiCard("Only before", format_count(view.only_before), "Customers of the earlier run missing from the later one."),
    KpiCard("New in after", format_count(view.only_after), "Customers whose first sale falls between the two dates."),
    KpiCard("Valuable who slipped", format_count(len(view.slipped)),
            "Champions or Loyal before, At Risk or Can't Lose Them after."),
])
st.plotly_chart(migration_sankey(view.migration), key="cmp_sankey")

st.subheader("Valuable customers who slipped")
if view.slipped.empty:
    st.success("No Champion or Loyal customer of the earlier run slipped to At Risk or Can't Lose Them.")
else:
    st.dataframe(view.slipped, hide_index=True, key="cmp_slipped", column_config={
        "customer_id": "Customer", "name": "Name", "segment_before": "Before", "segment_after": "After",
        "monetary_before": st.column_config.NumberColumn(f"Net total before {ws.currency}", format="%.2f"),
        "monetary_after": st.column_config.NumberColumn(f"Net total after {ws.currency}", format="%.2f"),
        "clv_before": st.column_config.NumberColumn(f"CLV before {ws.currency}", format="%.2f"),
        "clv_after": st.column_config.NumberColumn(f"CLV after {ws.currency}", format="%.2f"),
        "churn_risk_before": "Churn risk before", "churn_risk_after": "Churn risk after",
    })
    download_buttons(lambda: slipped_download(view, ws.currency), key_prefix="cmp_download",
                     name=f"slipped_{ws.name}_run{view.before.id}_to_run{view.after.id}", label="Download the list")
    b2, b3 = st.columns([4, 1], vertical_alignment="bottom")
    pick = b2.selectbox("Customer", view.slipped["customer_id"].tolist(), key="cmp_pick_customer")
    if b3.button("Open customer 360", key="cmp_open_customer"):
        open_customer(pick)

with st.expander("Migration table"):
    st.dataframe(view.migration_table(), key="cmp_migration")
    download_buttons(lambda: migration_download(view), key_prefix="cmp_migration_dl", label="Download the matrix",
                     name=f"migration_{ws.name}_run{view.before.id}_to_run{view.after.id}")
