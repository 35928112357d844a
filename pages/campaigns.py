"""Campaigns: build one from approved offers (analysts), list them, and export one (managers)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from app.page_data import offer_choices
from app.pitch_assistant import pitch_batch_panel
from app.shell import KpiCard, format_count, guard_page, kpi_row, show_error, shown
from crm_core.auth import Action, can
from crm_core.errors import NextBestError
from crm_core.views import runs
from crm_core.views.campaigns import (campaign_evidence, campaign_info, campaign_members, campaign_offers,
                                      eligible_offers, list_campaigns)
from crm_core.views.offers import segment_label
from crm_core.workflow.campaigns import MAX_HOLDOUT_SHARE, REFUSALS, create_campaign
from crm_core.workflow.export import EXCLUSION_LABELS, export_campaign_files

ctx = guard_page("campaigns.py")
ws = ctx.workspace
TABLE_ROWS = 1_000
FILES_KEY = "_campaign_export_files"  # the last export's bytes, kept across reruns for the download buttons
ALL, SELECTED = "All matching offers", "Only the rows selected below"
OFFER_COLUMNS = ["customer_id", "product_name", "family", "scenario", "segment_label", "match_pct", "gate",
                 "explanation"]


def _chosen(values: list) -> list | None:
    """A multiselect value as a filter: None (no filter) when nothing is chosen."""
    return list(values) or None


def _build_section(run_id: int) -> None:
    """Filters, the eligible offers, and the form that creates a campaign from them."""
    choices = offer_choices(ctx.db, run_id)  # kept per run until the next change (the families read every sale)
    c1, c2, c3 = st.columns(3)
    segment = c1.multiselect("Segment", choices.segments, format_func=segment_label, key="campaign_segment",
                             placeholder="All segments")
    scenario = c2.multiselect("Scenario", choices.scenarios, key="campaign_scenario", placeholder="All scenarios")
    family = c3.multiselect("Product family", choices.families, key="campaign_family", placeholder="All families")
    offers = eligible_offers(ctx.db, run_id, segment=_chosen(segment), scenario=_chosen(scenario),
                             family=_chosen(family))
    if offers.empty:
        st.info("No offer of this run can go into a campaign with these filters: a campaign takes offers a "
                "manager has approved, that passed the audit gate and are in no other campaign.")
        return
    shown_rows = offers.head(TABLE_ROWS)
    st.caption(f"{len(offers):,} approved offers for {offers['customer_id'].nunique():,} customers can go into a "
               f"campaign" + (f"; the table shows the first {TABLE_ROWS:,}." if len(offers) > TABLE_ROWS else "."))
    event = st.dataframe(shown_rows, key="campaign_offers_table", on_select="rerun", selection_mode="multi-row",
                         hide_index=True, column_order=OFFER_COLUMNS, column_config={
                             "customer_id": st.column_config.TextColumn("Customer"),
                             "product_name": st.column_config.TextColumn("Product"),
                             "family": st.column_config.TextColumn("Family"),
                             "scenario": st.column_config.TextColumn("Scenario"),
                             "segment_label": st.column_config.TextColumn("Segment"),
                             "match_pct": st.column_config.ProgressColumn("Match", format="%d %%", min_value=0,
                                                                          max_value=100),
                             "gate": st.column_config.TextColumn("Gate"),
                             "explanation": st.column_config.TextColumn("Why", width="large")})
    selected = [r for r in (event.selection.rows if event is not None else []) if r < len(shown_rows)]
    mode = st.radio("Offers in the campaign", [ALL, SELECTED], key="campaign_build_mode", horizontal=True)
    name = st.text_input("Campaign name", key="campaign_name", max_chars=200, placeholder="e.g. Spring winback")
    holdout = st.slider("Holdout share (%)", 0, int(MAX_HOLDOUT_SHARE * 100), 10, 1, key="campaign_holdout_pct",
                        help="This share of the campaign's customers is kept aside as a control group when it is "
                             "exported (drawn at random within each segment, reproducibly), so the outcomes can "
                             "show what the campaign changed.")
    if st.button("Create campaign", key="campaign_create", type="primary"):
        ids = (shown_rows.iloc[selected] if mode == SELECTED else offers)["offer_id"].tolist()
        built_from = {"run_id": run_id, "segment": _chosen(segment), "scenario": _chosen(scenario),
                      "family": _chosen(family), "selected_rows": mode == SELECTED}
        try:
            campaign_id = create_campaign(ctx.db, ctx.actor, name, ids, holdout_share=holdout / 100,
                                          built_from=built_from)
        except NextBestError as exc:
            show_error(exc)
            return
        st.session_state["campaign_pick"] = campaign_id
        st.success(f"Campaign #{campaign_id} created with {len(ids):,} offers. A manager can export it below.")


def _campaign_section(campaign_id: int) -> None:
    """One campaign: its groups, what was left out, and (managers) the export."""
    info = campaign_info(ctx.db, campaign_id)
    st.markdown(f"**{shown(info.name)}** · {info.state} · run #{info.run_id} · built by {shown(info.created_by)}"
                f" · holdout {info.holdout_share:.0%} (seed {info.seed})")
    left_out = info.selection.get("left_out") or {}
    if left_out:
        st.caption("Left out when it was built: " + "; ".join(
            f"{v['count']:,} {REFUSALS.get(code, code)}" for code, v in left_out.items()) + ".")
    members = campaign_members(ctx.db, campaign_id)
    if info.exported:
        counts = members["group"].value_counts()
        kpi_row([KpiCard("Customers contacted", format_count(int(counts.get("treatment", 0)))),
                 KpiCard("Held out", format_count(int(counts.get("holdout", 0))),
                         "The control group: not contacted, measured by the outcomes."),
                 KpiCard("Excluded", format_count(int(counts.get("excluded", 0))),
                         "Opted out or do-not-contact on the export day, or no approved offer left.")])
        st.caption(f"Exported by {shown(info.exported_by)} on {info.exported_at:%d %b %Y %H:%M} UTC.")
        st.dataframe(members.assign(excluded_reason=members["excluded_reason"].map(EXCLUSION_LABELS)),
                     key="campaign_members_table", hide_index=True)
    with st.expander("Evidence pack: who submitted and approved each offer, the policy, the flags, the pitch"):
        st.dataframe(campaign_evidence(ctx.db, campaign_id), key="campaign_evidence_table", hide_index=True)
    if not info.exported:
        with st.expander("Draft pitches for the campaign's offers"):
            pitch_batch_panel(ctx, campaign_offers(ctx.db, campaign_id)["offer_id"].tolist(),
                              key_prefix="campaign_batch")
    if not can(ctx.actor, Action.EXPORT_CAMPAIGN):
        st.caption("A manager exports campaigns.")
        return
    label = "Export (CSV and Excel)" if not info.exported else "Download the files again"
    if st.button(label, key="campaign_export", type="primary",
                 help="Checks consent again, keeps the holdout aside, records the contact dates and marks the "
                      "offers exported. A campaign is exported once; later downloads change nothing."):
        try:
            files = _export(campaign_id)
        except NextBestError as exc:
            show_error(exc)
        else:
            st.session_state[FILES_KEY] = files
            st.rerun()
    files = st.session_state.get(FILES_KEY)
    if files and files["campaign_id"] == campaign_id:
        st.success(files["summary"])
        d1, d2 = st.columns(2)
        d1.download_button("Download CSV", files["csv"], file_name=f"campaign-{campaign_id}.csv", mime="text/csv",
                           key="campaign_download_csv")
        d2.download_button("Download Excel", files["xlsx"], file_name=f"campaign-{campaign_id}.xlsx",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           key="campaign_download_xlsx")


def _export(campaign_id: int) -> dict:
    """Export to a temporary folder and keep the bytes (the use case writes files; the page offers bytes)."""
    with tempfile.TemporaryDirectory(prefix="nextbest-campaign-") as folder:
        csv_path, xlsx_path = Path(folder) / "campaign.csv", Path(folder) / "campaign.xlsx"
        result = export_campaign_files(ctx.db, ctx.actor, campaign_id, [csv_path, xlsx_path])
        return {"campaign_id": campaign_id, "summary": result.summary, "csv": csv_path.read_bytes(),
                "xlsx": xlsx_path.read_bytes()}


st.title("Campaigns")
st.subheader("Build a campaign")
available = runs.succeeded_runs(ctx.db, ws.id)
if not can(ctx.actor, Action.SUBMIT_OFFERS):
    st.caption("Analysts build campaigns.")
elif not available:
    st.info(f"Workspace **{shown(ws.name)}** has no offers yet: run the pipeline, then a manager approves offers.")
else:
    labels = {r.id: r.label for r in available}
    if st.session_state.get("campaign_run") not in labels:
        st.session_state.pop("campaign_run", None)
    _build_section(st.selectbox("Run", list(labels), format_func=labels.get, key="campaign_run",
                                help="Newest first. A campaign holds the offers of one run."))

st.subheader("Campaigns")
campaigns = list_campaigns(ctx.db, ws.id)
if campaigns.empty:
    st.info("No campaign yet in this workspace.")
else:
    st.dataframe(campaigns, key="campaigns_table", hide_index=True, column_config={
        "campaign_id": st.column_config.NumberColumn("Campaign", format="%d"),
        "holdout_share": st.column_config.NumberColumn("Holdout", format="percent"),
        "run_id": st.column_config.NumberColumn("Run", format="%d")})
    names = dict(zip(campaigns["campaign_id"].tolist(), campaigns["name"].tolist()))
    if st.session_state.get("campaign_pick") not in names:
        st.session_state.pop("campaign_pick", None)
    picked = st.selectbox("Campaign", list(names), format_func=lambda i: f"#{i} · {names[i]}", key="campaign_pick")
    _campaign_section(int(picked))
