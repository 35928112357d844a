"""Outcomes: what exported campaigns achieved against their holdout, what to learn, outcome and experiment files,
and the reports to forward."""

from __future__ import annotations

import streamlit as st

from app.shell import KpiCard, format_count, guard_page, kpi_row, show_error, shown
from crm_core.auth import Action, can
from crm_core.charts.outcomes import conversions_over_time_figure, funnel_figure, uplift_figure
from crm_core.errors import NextBestError
from crm_core.ingest import DATE_FORMAT_CHOICES, ReaderOptions, import_file
from crm_core.outcomes.attribution import MATCHES, AttributionRule
from crm_core.outcomes.evidence import learning_evidence
from crm_core.outcomes.experiment import analyse_experiment_file, read_experiment
from crm_core.outcomes.learning import conversion_leaders, propose
from crm_core.outcomes.results import (SOURCE_LABELS, campaign_outcome, compare_sources, exported_campaigns,
                                       run_funnel_frame)
from crm_core.outcomes.service import apply_proposal
from crm_core.outcomes.uplift import uplift_table
from crm_core.reports.service import MIME_TYPES, build_report
from crm_core.services.settings_store import active_settings
from crm_core.views.outcomes import SOURCES
from crm_core.views.runs import succeeded_runs

ctx = guard_page("outcomes.py")
ws = ctx.workspace
REPORT_KEY = "_outcomes_report"  # the last built report's bytes, kept across reruns for its download button
NONE = "(none)"
AUTO = "auto"
TABLE_CONFIG = {
    "value": st.column_config.TextColumn("Split"), "group": None,
    "treatment_customers": st.column_config.NumberColumn("Treated", format="%d"),
    "treatment_conversions": st.column_config.NumberColumn("Treated converted", format="%d"),
    "treatment_rate": st.column_config.NumberColumn("Treated rate", format="percent"),
    "control_customers": st.column_config.NumberColumn("Holdout", format="%d"),
    "control_conversions": st.column_config.NumberColumn("Holdout converted", format="%d"),
    "control_rate": st.column_config.NumberColumn("Holdout rate", format="percent"),
    "uplift_points": st.column_config.NumberColumn("Uplift", format="percent"),
    "uplift_low": st.column_config.NumberColumn("95 % low", format="percent"),
    "uplift_high": st.column_config.NumberColumn("95 % high", format="percent"),
    "relative_uplift": st.column_config.NumberColumn("Relative", format="percent"),
    "treatment_revenue_per_customer": st.column_config.NumberColumn("Treated revenue / customer", format="%.2f"),
    "control_revenue_per_customer": st.column_config.NumberColumn("Holdout revenue / customer", format="%.2f"),
    "revenue_uplift": st.column_config.NumberColumn("Revenue uplift", format="%.2f"),
    "revenue_low": st.column_config.NumberColumn("Revenue 95 % low", format="%.2f"),
    "revenue_high": st.column_config.NumberColumn("Revenue 95 % high", format="%.2f"),
    "needed_per_group": st.column_config.NumberColumn("Needed per group", format="%d"),
    "verdict": st.column_config.TextColumn("Verdict", width="large"),
}


def _rule() -> AttributionRule:
    """The attribution rule chosen at the top of the page."""
    with st.expander("How conversions are counted", expanded=False):
        c1, c2 = st.columns(2)
        days = c1.number_input("Attribution window (days after the export)", min_value=0, max_value=366, value=30,
                               step=1, key="outcomes_window",
                               help="The export day is day 0; a purchase up to this many days later counts.")
        match = c2.selectbox("A conversion is a purchase of", MATCHES, key="outcomes_match",
                             format_func={"product": "the offered product",
                                          "family": "any product of the offered product's family"}.get)
    rule = AttributionRule(window_days=int(days), match=match)
    st.caption(f"Inferred from later sales: a customer converted when they {rule.label}; the holdout group is "
               "measured from the same day by the same rule.")
    return rule


def _results(rule: AttributionRule) -> None:
    """One exported campaign: treatment against holdout, the splits, the timeline, the funnel, the sources."""
    campaigns = exported_campaigns(ctx.db, ws.id)
    if campaigns.empty:
        st.info("No campaign has been exported yet. A manager exports a campaign on the Campaigns page; its holdout "
                "group is kept aside then, and the results appear here as sales (or an outcome file) come in.")
        return
    names = dict(zip(campaigns["campaign_id"].tolist(), campaigns["name"].tolist()))
    picked = st.selectbox("Campaign", list(names), format_func=lambda i: f"#{i} · {names[i]}", key="outcomes_campaign")
    source = st.radio("Outcomes from", SOURCES, format_func=SOURCE_LABELS.get, key="outcomes_source", horizontal=True)
    try:
        outcome = campaign_outcome(ctx.db, int(picked), source=source, rule=rule)
    except NextBestError as exc:
        show_error(exc)
        return
    row = outcome.table()
    counts = outcome.counts.set_index("group")
    treated = outcome.overall.groups[0] if outcome.overall.groups else None
    kpi_row([KpiCard("Treated customers", format_count(int(counts["customers"].get("treatment", 0)))),
             KpiCard("Holdout customers", format_count(int(counts["customers"].get("holdout", 0)))),
             KpiCard("Treated conversion", "–" if treated is None else f"{treated.rate:.1%}"),
             KpiCard("Holdout conversion", f"{outcome.overall.control.rate:.1%}" if outcome.overall.control.n else "–"),
             KpiCard("Uplift (points)", "–" if treated is None or treated.diff != treated.diff else
                     f"{treated.diff * 100:+.1f}", "Treated rate minus holdout rate, in percentage points.")])
    low, high = (treated.diff_ci if treated else (float("nan"),) * 2)
    shout = st.success if low > 0 else st.warning if high < 0 else st.info
    shout(outcome.verdict)
    for note in outcome.notes:
        st.caption(note)
    st.dataframe(row, key="outcomes_overall_table", hide_index=True, column_config={**TABLE_CONFIG, "value": None})
    c1, c2 = st.columns(2)
    c1.plotly_chart(uplift_figure(outcome.table("scenario"), title="Uplift by scenario (95 % interval)"),
                    key="outcomes_uplift_scenario")
    c2.plotly_chart(uplift_figure(outcome.table("segment"), title="Uplift by segment (95 % interval)"),
                    key="outcomes_uplift_segment")
    c1.plotly_chart(conversions_over_time_figure(outcome.timeline), key="outcomes_timeline")
    if outcome.campaign.run_id is not None:
        c2.plotly_chart(funnel_figure(run_funnel_frame(ctx.db, outcome.campaign.run_id, source=source, rule=rule),
                                      title=f"Run #{outcome.campaign.run_id}: proposed to converted"),
                        key="outcomes_funnel")
    with st.expander("By product family, scenario and segment"):
        for split in ("family", "scenario", "segment"):
            st.dataframe(outcome.table(split), key=f"outcomes_table_{split}", hide_index=True,
                         column_config={**TABLE_CONFIG, "value": st.column_config.TextColumn(split.capitalize())})
    st.subheader("Outcome file against later sales")
    comparison = compare_sources(ctx.db, int(picked), rule=rule)
    if int(comparison["in_file"].sum()) == 0:
        st.caption("No outcome file rows for this campaign yet: an analyst imports one below (Outcome and "
                   "experiment files).")
    st.dataframe(comparison, key="outcomes_comparison", hide_index=True)


def _learning(rule: AttributionRule) -> None:
    """What converts best, and the proposals the evidence supports (an admin applies one)."""
    leaders = conversion_leaders(learning_evidence(ctx.db, ws.id, rule=rule))
    if leaders.empty:
        st.info("Nothing to learn from yet: export a campaign with a holdout group and wait for the sales.")
        return
    st.dataframe(leaders, key="outcomes_leaders", hide_index=True,
                 column_config={**TABLE_CONFIG, "dimension": st.column_config.TextColumn("By")})
    try:
        config, version = active_settings(ctx.db)
    except NextBestError as exc:
        show_error(exc)
        return
    evidence = learning_evidence(ctx.db, ws.id, rule=rule, settings_version=version)
    st.caption(f"Active settings: {'the defaults' if version is None else f'version {version}'}. Proposals use the "
               f"{len(evidence.campaigns)} exported campaign(s) whose run used them, so a change once applied is "
               "not proposed again from the same evidence.")
    proposals = propose(evidence, config.recommend, version)
    if not proposals:
        st.caption("No proposal: no difference is clear enough yet (every interval spans zero).")
    for number, proposal in enumerate(proposals):
        with st.container(border=True):
            st.markdown(f"**{shown(proposal.title, 300)}**")
            for line in proposal.evidence:
                st.caption(shown(line, 600))
            if can(ctx.actor, Action.MANAGE_POLICIES):
                if st.button("Apply as a new settings version", key=f"outcomes_apply_{number}"):
                    try:
                        saved = apply_proposal(ctx.db, ctx.actor, proposal)
                    except NextBestError as exc:
                        show_error(exc)
                    else:
                        st.success(f"Saved as settings version {saved}. The next pipeline run uses it.")
            else:
                st.caption("An admin applies proposals.")


def _outcome_file() -> None:
    """Import an outcome file through the import use case."""
    upload = st.file_uploader("Outcome file (customer, campaign or offer, converted, revenue, date)",
                              type=["csv", "tsv", "txt", "xlsx", "parquet"], key="outcomes_upload")
    c1, c2 = st.columns(2)
    date_format = c1.selectbox("Date format", [AUTO, *DATE_FORMAT_CHOICES], key="outcomes_date_format",
                               format_func=lambda k: "detect from the file" if k == AUTO else DATE_FORMAT_CHOICES[k],
                               help="Needed when every date reads both ways, like 04.04.2024.")
    accept = c2.checkbox("Load the good rows even if many are rejected", key="outcomes_accept_rejects")
    if upload is None or not st.button("Import the outcome file", key="outcomes_import", type="primary"):
        return
    try:
        report = import_file(ctx.db, ws.name, (upload.getvalue(), upload.name), kind="outcomes", actor=ctx.actor,
                             accept_rejects=accept,
                             options=ReaderOptions(date_format=None if date_format == AUTO else date_format))
    except NextBestError as exc:
        show_error(exc)
        return
    st.success(shown(report.message, 400))
    if len(report.issues):
        st.dataframe(report.issues, key="outcomes_import_issues", hide_index=True)


def _experiment_file() -> None:
    """Any experiment file (an e-mail tool's A/B export): every group against its control."""
    upload = st.file_uploader("Experiment file (one row per customer)", type=["csv", "tsv", "txt", "xlsx", "parquet"],
                              key="experiment_upload")
    if upload is None:
        return
    source = (upload.getvalue(), upload.name)
    try:
        frame, _ = read_experiment(source)
    except NextBestError as exc:
        show_error(exc)
        return
    columns = [str(c) for c in frame.columns]
    c1, c2, c3 = st.columns(3)
    group = c1.selectbox("Group column", columns, key="experiment_group")
    values = sorted(frame[group].dropna().astype(str).str.strip().unique().tolist())[:200]
    control = c2.selectbox("Control value", values, key="experiment_control")
    converted = c3.selectbox("Converted column", columns, key="experiment_converted")
    revenue = c1.selectbox("Revenue column", [NONE, *columns], key="experiment_revenue")
    by = c2.selectbox("Compare within", [NONE, *columns], key="experiment_by")
    if not st.button("Analyse", key="experiment_analyse"):
        return
    try:
        result = analyse_experiment_file(source, group=group, control=control, converted=converted,
                                         revenue=None if revenue == NONE else revenue, by=None if by == NONE else by)
    except NextBestError as exc:
        show_error(exc)
        return
    table = uplift_table(result)
    table["label"] = [f"{g} [{b}]" if by != NONE else str(g) for g, b in zip(table["group"], table["value"])]
    st.plotly_chart(uplift_figure(table, title="Uplift over the control (95 % interval)", label_column="label"),
                    key="experiment_uplift")
    st.dataframe(table, key="experiment_table", hide_index=True,
                 column_config={**TABLE_CONFIG, "group": st.column_config.TextColumn("Group")})


def _reports(rule: AttributionRule) -> None:
    """Build a run's report (PDF or Excel) and offer it for download."""
    available = succeeded_runs(ctx.db, ws.id)
    if not available:
        st.info("No pipeline run yet: a report describes one run.")
        return
    labels = {r.id: r.label for r in available}
    run_id = st.selectbox("Run", list(labels), format_func=labels.get, key="report_run")
    c1, c2 = st.columns(2)
    for column, fmt, label in ((c1, "pdf", "Build the PDF report"), (c2, "xlsx", "Build the Excel workbook")):
        if column.button(label, key=f"report_build_{fmt}"):
            try:
                with st.spinner("Building the report (charts take a few seconds)"):
                    data = build_report(ctx.db, ctx.actor, int(run_id), fmt, rule=rule)
            except NextBestError as exc:
                show_error(exc)
            else:
                st.session_state[REPORT_KEY] = {"run": int(run_id), "fmt": fmt, "data": data}
    built = st.session_state.get(REPORT_KEY)
    if built and built["run"] == int(run_id):
        fmt = built["fmt"]
        st.download_button(f"Download the {'PDF report' if fmt == 'pdf' else 'Excel workbook'}", built["data"],
                           file_name=f"nextbest-run-{built['run']}.{fmt}", mime=MIME_TYPES[fmt],
                           key=f"report_download_{fmt}")


st.title("Outcomes")
chosen_rule = _rule()
results_tab, learning_tab, files_tab, reports_tab = st.tabs(
    ["Campaign results", "Learning", "Outcome and experiment files", "Reports"])
with results_tab:
    _results(chosen_rule)
with learning_tab:
    _learning(chosen_rule)
with files_tab:
    if can(ctx.actor, Action.IMPORT_DATA):
        st.subheader("Outcome file")
        _outcome_file()
        st.subheader("Experiment file")
        _experiment_file()
    else:
        st.caption("Analysts import outcome and experiment files.")
with reports_tab:
    _reports(chosen_rule)
