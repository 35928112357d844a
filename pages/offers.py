"""Offers: counts by scenario and segment, score distribution, the filterable offer list, and model health."""

from __future__ import annotations

import streamlit as st

from app.downloads import download_buttons
from app.page_data import run_families, run_offer_list
from app.pitch_assistant import pitch_assistant, pitch_batch_panel
from app.shell import KpiCard, format_count, guard_page, kpi_row, open_customer, show_error, shown
from crm_core.auth import Action, can
from crm_core.charts.offers import offers_by_scenario_figure, score_components_figure, score_distribution_figure
from crm_core.errors import NextBestError
from crm_core.services import model_health
from crm_core.store import Database
from crm_core.views import offers as offer_views
from crm_core.views import runs
from crm_core.views.audit_chain import last_change
from crm_core.views.downloads import offers_download_frame
from crm_core.views.model_health import latest_health_check, run_calibration
from crm_core.views.offer_list import list_choices, list_counts, list_page, list_scores

ctx = guard_page("offers.py")
ws = ctx.workspace
TABLE_ROWS = 1_000
TABLE_COLUMNS = ["customer_id", "rank", "product_name", "family", "scenario", "segment_label", "match_pct",
                 "expected_revenue", "explanation", "gate", "state"]


# head: the audit log's head (crm_core.views.audit_chain.last_change), so no entry outlives a change
@st.cache_data(show_spinner="Counting the offers…", ttl=600, max_entries=16)
def _run_summary(url: str, run_id: int, head: str):
    db = Database.open(url)
    kept = run_offer_list(db, run_id)  # the run's offers read once, for the charts, the filters and the list
    return (offer_views.offer_run(db, run_id), list_counts(kept), list_scores(kept),
            list_choices(kept, run_families(db, run_id)))


@st.cache_data(show_spinner="Filtering…", ttl=60, max_entries=32)
def _table(url: str, run_id: int, segment, scenario, family, min_score: float, head: str):
    db = Database.open(url)
    families = run_families(db, run_id)  # kept per run: without it each filter reads the sales lines again
    filters = dict(segment=segment, scenario=scenario, family=family, min_score=min_score)
    # the run's offers kept in list order: a filter is a mask over them, the rows shown read by key
    return list_page(db, run_offer_list(db, run_id), families, limit=TABLE_ROWS, **filters)


def _keep_valid(key: str, options) -> None:
    """Drop remembered filter choices that the current run does not have."""
    if key in st.session_state:
        st.session_state[key] = [v for v in st.session_state[key] if v in options]


def _chosen(values: list) -> list | None:
    """A multiselect value as a filter: None (no filter) when nothing is chosen."""
    return list(values) or None


st.title("Offers")
available = runs.succeeded_runs(ctx.db, ws.id)
run_id = None
if not available:
    st.info(f"Workspace **{shown(ws.name)}** has no offers yet. An analyst runs the pipeline on the **Run pipeline** "
            "page; its offers show here.")
else:
    labels = {r.id: r.label for r in available}
    if st.session_state.get("offers_run") not in labels:
        st.session_state.pop("offers_run", None)
    run_id = st.selectbox("Run", list(labels), format_func=labels.get, key="offers_run",
                          help="Newest first. Each run keeps the offers it made as of its date.")
    head = last_change(ctx.db)
    run, counts, scores, choices = _run_summary(ctx.db.url, run_id, head)
    st.caption(f"Workspace **{shown(ws.name)}** · run #{run.run_id} as of {run.as_of:%d %b %Y} · "
               f"up to {run.top_n} offers per customer, amounts in {ws.currency}")
    kpi_row([
        KpiCard("Offers", format_count(run.offers), "Offers the chosen run made."),
        KpiCard("Customers with offers", format_count(run.customers)),
        KpiCard("Offers per customer", "–" if not run.customers else f"{run.offers / run.customers:.1f}",
                f"At most {run.top_n}, at most one per product family."),
    ])
    info = runs.get_run(ctx.db, run_id)
    quality = info.quality
    if quality:
        kpi_row([
            KpiCard("Offer quality", quality["level"].title(),
                    f"Judged by the {info.policy_label} policy on {info.contact_date:%d %b %Y}: coverage, the share "
                    "of customers whose best offer scores 80 or more, and the error rate decide the level."),
            KpiCard("Pass / review / block", f"{quality['pass']:,} / {quality['review']:,} / {quality['block']:,}",
                    "PASS offers can go out once approved; REVIEW ones need a closer look; BLOCK ones never go out."),
            KpiCard("Customers with a PASS offer", f"{quality['coverage']:.0%}"),
            KpiCard("Best offer scores 80+", f"{quality['high_score_share']:.0%}",
                    "Share of the run's customers whose best offer has an audit score of 80 or more."),
            KpiCard("Offers with an error", f"{quality['error_rate']:.1%}",
                    "Opted out, do not contact, already held, no price, contacted in the silence window..."),
        ])
    else:
        st.caption("This run was made before the audit gate: its offers carry no gate verdict.")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(offers_by_scenario_figure(offer_views.offer_count_rows(counts), count_column="offers"),
                        key="chart_offers_by_segment")
    with right:
        st.plotly_chart(score_distribution_figure(scores), key="chart_score_distribution")
        if scores.attrs.get("sample_every", 1) > 1:
            st.caption(f"Drawn from every {scores.attrs['sample_every']}th offer.")

    st.subheader("Offer list")
    _keep_valid("offers_segment", choices.segments)
    _keep_valid("offers_scenario", choices.scenarios)
    _keep_valid("offers_family", choices.families)
    c1, c2, c3, c4 = st.columns(4)
    segment = c1.multiselect("Segment", choices.segments, format_func=offer_views.segment_label, key="offers_segment",
                             placeholder="All segments")
    scenario = c2.multiselect("Scenario", choices.scenarios, key="offers_scenario", placeholder="All scenarios")
    family = c3.multiselect("Product family", choices.families, key="offers_family", placeholder="All families")
    min_score = c4.slider("Minimum score", 0.0, 1.0, 0.0, 0.05, key="offers_min_score",
                          help="Score = weighted affinity, popularity, profit and scenario fit, each 0 to 1.")
    matching, table = _table(ctx.db.url, run_id, _chosen(segment), _chosen(scenario), _chosen(family),
                             float(min_score), head)
    showing = (f"the {len(table):,} best-scoring of {matching:,} matching offers" if matching > len(table)
             else f"{matching:,} matching offers")
    st.caption(f"Showing {showing}. Select a row to see why it scores as it does.")
    download_buttons(lambda: offers_download_frame(ctx.db, run_id, segment=_chosen(segment),
                                                   scenario=_chosen(scenario), family=_chosen(family),
                                                   min_score=float(min_score)),
                     name=f"offers_{ws.name}_run{run_id}", key_prefix="offers_download",
                     label=f"Download the {matching:,} matching offers", rows=matching)
    event = st.dataframe(
        table, key="offers_table", on_select="rerun", selection_mode="single-row", hide_index=True,
        column_order=TABLE_COLUMNS,
        column_config={
            "customer_id": st.column_config.TextColumn("Customer"),
            "rank": st.column_config.NumberColumn("Rank", format="%d"),
            "product_name": st.column_config.TextColumn("Product"),
            "family": st.column_config.TextColumn("Family"),
            "scenario": st.column_config.TextColumn("Scenario"),
            "segment_label": st.column_config.TextColumn("Segment"),
            "match_pct": st.column_config.ProgressColumn("Match", format="%d %%", min_value=0, max_value=100),
            "expected_revenue": st.column_config.NumberColumn(f"Expected revenue ({ws.currency})", format="%.2f"),
            "explanation": st.column_config.TextColumn("Why", width="large"),
            "gate": st.column_config.TextColumn("Gate"),
            "state": st.column_config.TextColumn("State"),
        })
    rows = event.selection.rows if event is not None else []
    if rows and rows[0] < len(table):
        offer = table.iloc[rows[0]]
        st.markdown(f"**{shown(offer['product_name'])}** ({shown(offer['product_id'])}) for customer "
                    f"**{shown(offer['customer_id'])}**, "
                    f"rank {offer['rank']}, {offer['scenario']} · match {offer['match_pct']} %")
        st.markdown(shown(offer["explanation"], 600))
        st.plotly_chart(score_components_figure(offer, run.weights), key="chart_offer_components")
        if st.button("Open customer 360", key="offers_open_customer"):
            open_customer(str(offer["customer_id"]))
        with st.container(border=True):
            st.markdown("**Pitch** for this offer")
            pitch_assistant(ctx, int(offer["offer_id"]), key_prefix="offers_pitch",
                            on_saved=lambda _: _table.clear())
    if can(ctx.actor, Action.DRAFT_PITCH) and len(table):
        with st.expander(f"Draft pitches for the {len(table):,} offers listed"):
            pitch_batch_panel(ctx, table["offer_id"].tolist(), key_prefix="offers_batch")

st.subheader("Model health")
may_run = can(ctx.actor, Action.RUN_PIPELINE)
failed = False
blend = run_calibration(ctx.db, run_id) if run_id is not None else None


def _blend_card(blend) -> KpiCard:
    """The chosen blend of the run shown, as a card next to the grade."""
    return KpiCard(f"Blend of run #{blend.run_id}", blend.chosen.replace("_", " ").capitalize(),
                   f"{blend.label.capitalize()}. {blend.reason}")


def _blend_details(blend) -> None:
    """Why the run's offers rank as they do: the blend chosen and the backtest figures behind it."""
    weights = ", ".join(f"{name.replace('_', ' ')} {w:.0%}" for name, w in blend.weights.items())
    st.markdown(f"**Run #{blend.run_id}** scored its offers with the **{blend.chosen.replace('_', ' ')}** blend "
                f"({shown(blend.label)}): {weights}.")
    if blend.window_start is not None:
        st.caption(f"Backtest on this shop's own history: offers as of {blend.window_start:%d %b %Y} checked against "
                   f"what {blend.customers:,} customers bought up to {blend.window_end:%d %b %Y}. "
                   f"{shown(blend.reason, 600)}"
                   + ("" if blend.seconds is None else f" Took {blend.seconds:.1f} s of {blend.budget_seconds:.1f} s."))
    else:
        st.caption(shown(blend.reason, 600))
    if blend.blends:
        st.dataframe(
            blend.blends_frame(), key="model_health_blends", hide_index=True,
            column_order=["label", "all_hit_rate", "all_vs_best", "new_hit_rate", "new_vs_best", "chosen"],
            column_config={
                "label": st.column_config.TextColumn("Blend or rule", width="large"),
                "all_hit_rate": st.column_config.NumberColumn("All products: hit-rate", format="percent"),
                "all_vs_best": st.column_config.NumberColumn("All: × best rule", format="%.2f"),
                "new_hit_rate": st.column_config.NumberColumn("New products: hit-rate", format="percent"),
                "new_vs_best": st.column_config.NumberColumn("New: × best rule", format="%.2f"),
                "chosen": st.column_config.CheckboxColumn("Chosen"),
            })


with st.container(border=True):
    st.caption("Would these offers have found buyers? The engine is trained on the data up to a cutoff and its top "
               "offers are checked against what customers bought in the days after, next to two simple rules: "
               "the bestsellers, and each customer's own favourites.")
    if may_run:
        h1, h2 = st.columns(2)
        horizon = h1.number_input("Days after the cutoff", 7, 365, 90, 1, key="health_horizon_days",
                                  help="The cutoff is the last transaction date minus this many days.")
        top_n = h2.number_input("Offers per customer", 1, 10, 3, 1, key="health_top_n")
        if st.button("Check model health", key="model_health_run", type="primary"):
            with st.spinner("Training on the past and checking against what customers bought next…"):
                try:
                    model_health.check_model_health(ctx.db, ws.id, actor=ctx.actor, config=ctx.config,
                                                    horizon_days=int(horizon), top_n=int(top_n))
                except NextBestError as exc:
                    failed = True
                    show_error(exc)
    check = latest_health_check(ctx.db, ws.id)
    health = check.health if check is not None else None
    if health is None and not failed:
        st.info("No model-health check for this workspace yet."
                + ("" if may_run else " An analyst can run one; its result shows here for everyone."))
        if blend is not None:
            kpi_row([_blend_card(blend)])
    elif health is not None:
        st.caption(f"Checked by {check.checked_by} on {check.checked_at:%d %b %Y %H:%M} UTC."
                   + (" Data was imported since: check again to include it." if check.out_of_date else ""))
        cards = [KpiCard("Grade", health.grade, model_health.GRADE_MEANINGS[health.grade])]
        if blend is not None:
            cards.append(_blend_card(blend))
        for t in health.tracks().itertuples():
            cards.append(KpiCard(f"{t.track_label}: engine vs best rule",
                                 f"{t.engine_hit_rate:.1%} vs {t.baseline_hit_rate:.1%}",
                                 f"Share of {t.customers:,} customers who bought an offered product: the engine's "
                                 f"offers vs {t.baseline_label.lower()}."
                                 + ("" if t.ratio != t.ratio else f" Ratio {t.ratio:.2f}.")))
        kpi_row(cards)
        st.write(health.meaning)
        cut = health.cutoff
        st.caption(f"Trained on data up to {cut:%d %b %Y}; bought in the {health.horizon_days} days after; "
                   f"{health.top_n} offers per customer. Hit-rate = share of customers who bought at least one "
                   "offered product.")
        comparison = health.comparison()
        st.dataframe(
            comparison, key="model_health_table", hide_index=True,
            column_order=["track_label", "method_label", "customers", "hit_rate", "precision", "recall", "coverage",
                          "vs_best_baseline"],
            column_config={
                "track_label": st.column_config.TextColumn("Track"),
                "method_label": st.column_config.TextColumn("Offers from"),
                "customers": st.column_config.NumberColumn("Customers", format="%d"),
                "hit_rate": st.column_config.NumberColumn("Hit-rate", format="percent"),
                "precision": st.column_config.NumberColumn("Precision", format="percent"),
                "recall": st.column_config.NumberColumn("Recall", format="percent"),
                "coverage": st.column_config.NumberColumn("Coverage", format="percent"),
                "vs_best_baseline": st.column_config.NumberColumn("× best rule", format="%.2f"),
            })
        for note in health.notes:
            st.warning(shown(note, 600))
    if blend is not None:
        _blend_details(blend)
