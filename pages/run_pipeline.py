"""Run pipeline: choose the as-of date and clustering, run with progress per stage, see the run history."""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from app.shell import KpiCard, format_count, guard_page, kpi_row, show_error, shown
from crm_core.config import Config
from crm_core.errors import NextBestError
from crm_core.segment.settings import CLUSTER_METHODS
from crm_core.services.pipeline import run_pipeline
from crm_core.views.workspaces import today_in
from crm_core.workflow.policies import active_policy, find_policy, known_policy_names
from crm_core.views import runs

ctx = guard_page("run_pipeline.py")
ws = ctx.workspace
config: Config = ctx.config
METHOD_NAMES = {"kmeans": "K-Means", "gmm": "Gaussian mixture", "hierarchical": "Hierarchical (Ward, on a sample)"}
AUTO = "auto"
LAST_RESULT = "run_pipeline_last_result"

st.title("Run pipeline")
st.caption(f"Workspace **{shown(ws.name)}**: features → RFM segments, clusters and value → offers → audit gate → "
           "stored. A run is stored entirely or not at all; a failed run leaves the previous ones as they were.")

first_day, last_day = runs.as_of_bounds(ctx.db, ws.id)
if last_day is None:
    st.info(f"Workspace **{shown(ws.name)}** has no transactions yet. Load a sales file on the Import data page first.")
    st.stop()

cluster = config.segment.cluster
k_choices = [AUTO, *range(2, max(cluster.k_max, 12) + 1)]
left, middle, right = st.columns(3)
with left:
    as_of = st.date_input("As of", value=last_day, min_value=first_day, key="run_as_of", format="YYYY-MM-DD",
                          help="Transactions dated on or before this day count. Default: the last transaction date.")
with middle:
    method = st.selectbox("Clustering method", CLUSTER_METHODS, index=CLUSTER_METHODS.index(cluster.method),
                          format_func=METHOD_NAMES.get, key="run_method")
with right:
    k = st.selectbox("Number of clusters (k)", k_choices, index=k_choices.index(cluster.k or AUTO), key="run_k",
                     format_func=lambda v: f"auto (best silhouette, {cluster.k_min}-{cluster.k_max})" if v == AUTO
                     else str(v))
gate_left, gate_right = st.columns(2)
with gate_left:
    active = active_policy(ctx.db, ws.id, config)
    names = known_policy_names(ctx.db, config)
    policy_name = st.selectbox("Gating policy", names, index=names.index(active.name), key="run_policy",
                               help="Turns each offer's flags and audit score into PASS, REVIEW or BLOCK. Default: "
                                    "the workspace's active policy (an admin sets it on the Admin page).")
with gate_right:
    contact_date = st.date_input("Contact date", value=today_in(ws), key="run_contact_date", format="YYYY-MM-DD",
                                 help="The day the offers will be used: consent, do-not-contact, the silence window "
                                      "and recent exports are judged as they stand on this day.")

chosen = dataclasses.replace(config, segment=dataclasses.replace(
    config.segment, cluster=dataclasses.replace(cluster, method=method, k=None if k == AUTO else int(k))))

if st.button("Run", key="run_start", type="primary", icon=":material/play_arrow:"):
    st.session_state.pop(LAST_RESULT, None)
    with st.status("Running the pipeline…", expanded=True) as status:
        bar = st.progress(0.0, text="starting")

        def report(fraction: float, message: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=message)

        try:
            result = run_pipeline(ctx.db, ws, ctx.actor, chosen, as_of=as_of, contact_date=contact_date,
                                  policy=find_policy(ctx.db, policy_name, config),
                                  settings_version=ctx.settings_version, progress=report)
        except NextBestError as exc:
            status.update(label="The run failed; earlier runs are unchanged.", state="error", expanded=False)
            show_error(exc)
        else:
            status.update(label=f"Run #{result.run_id} finished", state="complete", expanded=False)
            st.session_state[LAST_RESULT] = result.meta

meta = st.session_state.get(LAST_RESULT)
if meta is not None:
    counts = meta["counts"]
    quality = meta.get("quality") or {}
    st.success(f"Run #{meta['run_id']} as of {meta['as_of']} stored: {format_count(counts['customers'])} customers, "
               f"{format_count(counts['clusters'])} clusters, {format_count(counts['offers'])} offers.")
    timings = pd.DataFrame({"stage": list(meta["stage_timings"]),
                            "seconds": [float(v) for v in meta["stage_timings"].values()]})
    left, right = st.columns([2, 3])
    with left:
        st.markdown(f"**Timings** (total {timings['seconds'].sum():.2f} s)")
        st.dataframe(timings, hide_index=True, key="run_timings",
                     column_config={"stage": "Stage", "seconds": st.column_config.NumberColumn("Seconds",
                                                                                               format="%.2f")})
    with right:
        if quality:
            kpi_row([KpiCard("Offer quality", quality["level"].title(),
                             "From coverage, the share of customers with an offer scoring 80 or more, and the "
                             "share of offers with an error flag."),
                     KpiCard("Customers with a PASS offer", f"{quality['coverage']:.0%}"),
                     KpiCard("Best offer scores 80+", f"{quality['high_score_share']:.0%}"),
                     KpiCard("Offers with an error", f"{quality['error_rate']:.1%}",
                             "Blocked by the gate: opted out, do not contact, already held, no price...")])
        for note in meta.get("params", {}).get("notes", []):
            st.warning(shown(note, 600))

st.subheader("Run history")
history = runs.list_runs(ctx.db, ws.id)
if history.empty:
    st.info("No runs yet in this workspace.")
else:
    st.dataframe(
        history, hide_index=True, key="run_history",
        column_order=["id", "as_of", "status", "created_by", "started_at", "seconds", "customers", "clusters",
                      "offers", "quality", "coverage", "high_score_share", "error_rate", "policy", "contact_date",
                      "stale",
                      "transactions", "method", "k", "config_hash", "data_hash", "timings", "error"],
        column_config={
            "id": st.column_config.NumberColumn("Run", format="%d"),
            "as_of": st.column_config.DateColumn("As of"),
            "status": "Status", "created_by": "Run by",
            "started_at": st.column_config.DatetimeColumn("Started (UTC)", format="YYYY-MM-DD HH:mm"),
            "seconds": st.column_config.NumberColumn("Seconds", format="%.1f"),
            "customers": "Customers", "clusters": "Clusters", "offers": "Offers", "transactions": "Transactions",
            "method": "Clustering", "k": "k",
            "config_hash": st.column_config.TextColumn("Config hash", help="Same hash = same settings."),
            "data_hash": st.column_config.TextColumn("Data hash", help="Same hash = same transactions."),
            "timings": "Stage timings", "error": "Error",
            "quality": st.column_config.TextColumn("Quality", help="The audit gate's level for the run's offers."),
            "coverage": st.column_config.NumberColumn("With a PASS offer", format="percent"),
            "high_score_share": st.column_config.NumberColumn("Best offer 80+", format="percent"),
            "error_rate": st.column_config.NumberColumn("Error rate", format="percent"),
            "policy": "Policy", "contact_date": st.column_config.DateColumn("Contact date"),
            "stale": st.column_config.TextColumn("Stale", help="Why the run no longer matches the data: an import "
                                                               "it used was taken back."),
        })
