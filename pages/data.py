"""Data: what the workspace holds, and its import history."""

from __future__ import annotations

import streamlit as st

from app.page_data import workspace_loaded_data
from app.shell import KpiCard, format_count, guard_page, kpi_row, shown
from crm_core.views import overview

ctx = guard_page("data.py")
ws = ctx.workspace

st.title("Data")
st.caption(f"Workspace **{shown(ws.name)}** · {ws.kind} · currency {shown(ws.currency)} · "
           f"time zone {shown(ws.timezone)}")

loaded = workspace_loaded_data(ctx.db, ws.id)  # counts every row: kept until the next change
rows = dict(zip(loaded.counts["table"], loaded.counts["rows"]))
kpi_row([
    KpiCard("Transactions", format_count(rows.get("transactions"))),
    KpiCard("Customers", format_count(rows.get("customers")), "Customer records (master data and ids seen in sales)."),
    KpiCard("Products", format_count(rows.get("products"))),
    KpiCard("Imports", format_count(rows.get("imports"))),
])
if loaded.first_transaction is None:
    st.markdown("No transactions yet.")
else:
    st.markdown(f"Transactions from **{loaded.first_transaction:%d %b %Y}** to "
                f"**{loaded.last_transaction:%d %b %Y}** (local business time).")

st.subheader("Rows per table")
st.dataframe(loaded.counts, hide_index=True, key="data_counts",
             column_config={"table": "Table", "rows": st.column_config.NumberColumn("Rows", format="localized")})

st.subheader("Import history")
history = overview.import_history(ctx.db, ws.id)
if history.empty:
    st.info("Nothing imported into this workspace yet.")
else:
    st.dataframe(
        history, hide_index=True, key="data_import_history",
        column_config={
            "id": None,
            "created_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm"),
            "created_by": "By", "kind": "Dataset", "source_name": "File", "status": "Status",
            "rows_read": "Read", "rows_loaded": "Loaded", "rows_rejected": "Rejected",
            "rows_warned": "Warnings", "rows_skipped": "Skipped",
        })
