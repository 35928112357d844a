"""Segments: KPI cards, treemap and R×F heatmap, segment -> action table, filters -> customer list -> Customer 360,
clusters, value; CSV and Excel downloads of the summary and of every customer of the run."""

from __future__ import annotations

import streamlit as st

from app.downloads import download_buttons
from app.page_data import run_segment_summary
from app.shell import KpiCard, format_count, format_money, guard_page, kpi_row, open_customer, shown
from crm_core.charts.segments import (churn_risk_distribution, cluster_scatter, clv_distribution, is_edge_note,
                                      recency_caption, rf_heatmap, segment_treemap)
from crm_core.store import Database
from crm_core.views import runs
from crm_core.views.downloads import customers_download, segment_summary_download
from crm_core.views.segments import (CHURN_LEVELS, VALUE_COLUMNS, CustomerFilter, customer_list, explorer_kpis,
                                     filter_choices, filter_customers, persona_cards)

ctx = guard_page("segments.py")
ws = ctx.workspace
LIST_LIMIT = 1_000
_LIST_IDS = "_seg_list_ids"  # ids of the rows the customer list shows, for its selection callback
_SEGMENTS_PRESENT = "_seg_segments_present"


@st.cache_resource(show_spinner="Reading the run…", max_entries=8)
def _run_data(url: str, run_id: int, run_uuid: str):  # run_uuid: a recreated database never hits old entries
    """The run's customers and clusters, one shared copy: read, never changed, by this page (a test checks
    that its functions leave the frame as it was). From st.cache_data every rerun unpickled a new copy,
    0.35 s at a million customers."""
    db = Database.open(url)
    return runs.run_customers(db, run_id), runs.run_clusters(db, run_id)


@st.cache_data(show_spinner=False, max_entries=16)
def _whole_run(url: str, run_id: int, run_uuid: str, currency: str, value_note: str | None):
    """What no filter changes: the filters' choices, the KPIs, the R×F heatmap, the CLV and churn-risk charts."""
    customers, clusters = _run_data(url, run_id, run_uuid)
    return (filter_choices(customers, clusters), explorer_kpis(customers), rf_heatmap(customers),
            clv_distribution(customers, currency=currency, reason=value_note),
            churn_risk_distribution(customers, reason=value_note))


@st.cache_data(show_spinner=False, max_entries=16)
def _treemap(url: str, run_id: int, run_uuid: str, measure: str, currency: str):
    return segment_treemap(_run_data(url, run_id, run_uuid)[0], measure=measure, currency=currency)


@st.cache_data(show_spinner="Projecting the clusters…", max_entries=8)
def _points(url: str, run_id: int, run_uuid: str):
    return runs.cluster_points(Database.open(url), run_id)


def _treemap_clicked() -> None:
    """A click on a treemap tile filters the customer list to that segment."""
    points = (st.session_state.get("seg_treemap") or {}).get("selection", {}).get("points", [])
    code = points[0].get("id") if points else None
    if code in st.session_state.get(_SEGMENTS_PRESENT, ()):
        st.session_state["seg_filter_segment"] = [code]


def _row_selected() -> None:
    """Selecting a row of the customer list picks that customer for "Open customer 360"."""
    rows = (st.session_state.get("seg_customers") or {}).get("selection", {}).get("rows", [])
    ids = st.session_state.get(_LIST_IDS, [])
    if rows and rows[0] < len(ids):
        st.session_state["seg_pick_customer"] = ids[rows[0]]


def _keep_valid(key: str, options) -> None:
    """Drop remembered choices that the current run does not offer (another run or workspace)."""
    if key in st.session_state:
        st.session_state[key] = [v for v in st.session_state[key] if v in options]


st.title("Segments")
available = runs.succeeded_runs(ctx.db, ws.id)
if not available:
    st.info(f"Workspace **{shown(ws.name)}** has no pipeline run yet. An analyst starts one on the "
            "**Run pipeline** page.")
    st.stop()
by_id = {r.id: r for r in available}
run_id = st.selectbox("Run", list(by_id), format_func=lambda i: by_id[i].label, key="seg_run",
                      help="Newest first. Each run keeps the segments as of its date.")
run = by_id[run_id]
customers, clusters = _run_data(ctx.db.url, run.id, run.run_uuid)
choices, kpis, heatmap, clv_chart, churn_chart = _whole_run(ctx.db.url, run.id, run.run_uuid, ws.currency,
                                                            run.value_model_note)
st.caption(f"Workspace **{shown(ws.name)}** · run #{run.id} as of {run.as_of:%d %b %Y} · amounts in "
           f"{ws.currency}, net of returns")
for note in run.notes:  # a legitimate edge fit describes the shop: information, not a warning
    (st.info if is_edge_note(note) else st.warning)(shown(note, 600))

kpi_row([
    KpiCard("Customers", format_count(kpis.customers), "Customers with a sale up to the run's date."),
    KpiCard("Revenue", format_money(kpis.revenue, ws, compact=True),
            f"Net total of these customers: {format_money(kpis.revenue, ws)}."),
    KpiCard("Mean predicted value", format_money(kpis.mean_clv, ws, decimals=0),
            run.value_model_note or "Mean CLV over the value horizon."),
    KpiCard("High churn risk", "–" if kpis.high_churn_share is None else f"{kpis.high_churn_share:.0%}",
            "Share of customers in the high churn-risk band."),
    KpiCard("At risk or can't lose", f"{kpis.slipping_share:.0%}", "Once-good customers who have gone quiet."),
])

st.session_state[_SEGMENTS_PRESENT] = [code for code, _ in choices.segments]
left, right = st.columns(2)
with left:
    measure = st.radio("Size tiles by", ["customers", "revenue"], horizontal=True, key="seg_treemap_measure",
                       format_func=str.capitalize)
    st.plotly_chart(_treemap(ctx.db.url, run.id, run.run_uuid, measure, ws.currency), key="seg_treemap",
                    on_select=_treemap_clicked, selection_mode="points")
    st.caption("Click a segment to list its customers below.")
with right:
    st.plotly_chart(heatmap, key="seg_heatmap")
    caption = recency_caption(run.params.get("rfm"))
    if caption:
        st.caption(caption)  # built from the run's figures, with bold scores: not file text

st.subheader("Segments and what to do")
summary = run_segment_summary(ctx.db, run.id)  # kept until the next change
st.dataframe(summary.drop(columns="segment"), hide_index=True, key="seg_summary", column_config={
    "label": "Segment", "action": st.column_config.TextColumn("Suggested action", width="large"),
    "customers": st.column_config.NumberColumn("Customers", format="%d"),
    "share": st.column_config.NumberColumn("Share", format="percent"),
    "revenue": st.column_config.NumberColumn(f"Revenue {ws.currency}", format="%.2f"),
    "mean_clv": st.column_config.NumberColumn(f"Mean CLV {ws.currency}", format="%.2f")})
download_buttons(lambda: segment_summary_download(ctx.db, run.id), name=f"segments_{ws.name}_run{run.id}",
                 key_prefix="seg_summary_dl", label="Download the summary")

st.subheader("Customers")
segment_codes = [code for code, _ in choices.segments]
segment_labels = dict(choices.segments)
cluster_labels = dict(choices.clusters)
for key, options in (("seg_filter_segment", segment_codes), ("seg_filter_cluster", list(cluster_labels)),
                     ("seg_filter_churn", list(CHURN_LEVELS)), ("seg_filter_region", list(choices.regions))):
    _keep_valid(key, options)
f1, f2, f3, f4 = st.columns(4)
picked_segments = f1.multiselect("Segment", segment_codes, format_func=segment_labels.get, key="seg_filter_segment",
                                 placeholder="All segments")
picked_clusters = f2.multiselect("Cluster", list(cluster_labels), format_func=cluster_labels.get,
                                 key="seg_filter_cluster", placeholder="All clusters")
picked_risks = f3.multiselect("Churn risk", list(CHURN_LEVELS), format_func=str.capitalize, key="seg_filter_churn",
                              placeholder="All", disabled=not choices.churn_risks,
                              help=None if choices.churn_risks else run.value_model_note)
picked_regions = f4.multiselect("Region", list(choices.regions), key="seg_filter_region", placeholder="All regions")
v1, v2, v3 = st.columns([2, 1, 1])
value_column = v1.radio("Value", list(VALUE_COLUMNS), format_func=VALUE_COLUMNS.get, horizontal=True,
                        key="seg_value_column")
bounds = choices.value_bounds.get(value_column)
value_min = v2.number_input(f"Min {ws.currency}", value=None, key="seg_value_min", disabled=bounds is None,
                            placeholder="no minimum" if bounds is None else f"{bounds[0]:,.0f}")
value_max = v3.number_input(f"Max {ws.currency}", value=None, key="seg_value_max", disabled=bounds is None,
                            placeholder="no maximum" if bounds is None else f"{bounds[1]:,.0f}")
chosen = CustomerFilter(tuple(picked_segments), tuple(picked_clusters), tuple(picked_risks), tuple(picked_regions),
                        value_column, value_min if bounds else None, value_max if bounds else None)
filtered = filter_customers(customers, chosen)
listed = customer_list(filtered, limit=LIST_LIMIT)
st.session_state[_LIST_IDS] = listed["customer_id"].tolist()
summary = explorer_kpis(filtered)
st.caption(f"**{format_count(summary.customers)}** of {format_count(kpis.customers)} customers · revenue "
           f"{format_money(summary.revenue, ws, decimals=0)}"
           + (f" · the {LIST_LIMIT:,} highest net totals are listed" if len(filtered) > LIST_LIMIT else "")
           + " · select a row to open the customer.")
st.dataframe(
    listed, hide_index=True, key="seg_customers", on_select=_row_selected, selection_mode="single-row",
    column_config={
        "customer_id": "Customer", "name": "Name", "segment": "Segment", "persona_name": "Persona",
        "recency_days": st.column_config.NumberColumn("Days since last", format="%d"),
        "frequency": st.column_config.NumberColumn("Orders", format="%d"),
        "monetary": st.column_config.NumberColumn(f"Net total {ws.currency}", format="%.2f"),
        "clv": st.column_config.NumberColumn(f"CLV {ws.currency}", format="%.2f"),
        "p_alive": st.column_config.NumberColumn("P(alive)", format="%.2f"),
        "churn_risk": "Churn risk", "region": "Region", "city": "City",
    })
ids = st.session_state[_LIST_IDS]
if ids:
    if st.session_state.get("seg_pick_customer") not in ids:
        st.session_state.pop("seg_pick_customer", None)
    names = dict(zip(ids, listed["name"].fillna("").tolist()))
    o1, o2 = st.columns([3, 1], vertical_alignment="bottom")
    pick = o1.selectbox("Customer", ids, key="seg_pick_customer",
                        format_func=lambda c: f"{c} · {names[c]}".rstrip(" ·"))
    if o2.button("Open customer 360", key="seg_open_customer", icon=":material/person_search:"):
        open_customer(pick)
else:
    st.info("No customer matches these filters.")
download_buttons(lambda: customers_download(ctx.db, run.id), name=f"customers_{ws.name}_run{run.id}",
                 key_prefix="seg_customers_dl", label=f"Download all {format_count(kpis.customers)} customers",
                 rows=kpis.customers)

st.subheader("Clusters and personas")
personas = clusters["persona_name"] if len(clusters) else None
left, right = st.columns([3, 2])
with left:
    st.plotly_chart(cluster_scatter(_points(ctx.db.url, run.id, run.run_uuid), personas), key="seg_clusters")
with right:
    for card in persona_cards(clusters).itertuples(index=False):
        with st.container(border=True):
            st.markdown(f"**{card.cluster} · {shown(card.persona_name)}** — {format_count(card.size)} customers "
                        f"({card.share:.0%})")
            st.caption(card.description)
st.subheader("Predicted value and churn risk")
left, right = st.columns(2)
with left:
    st.plotly_chart(clv_chart, key="seg_clv")
with right:
    st.plotly_chart(churn_chart, key="seg_churn")
