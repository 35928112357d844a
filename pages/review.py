"""Review queue: managers approve, reject or flag the offers waiting for them, one at a time or many at once.

The rules (four-eyes, blocked offers, reasons, stale screens) are crm_core's
(:func:`crm_core.workflow.decide_offers`): the page sends what was selected with
the versions it showed and says what was decided and what was skipped, and why.
The table's key changes whenever what it shows changes (filter, page, a decision),
so a selection never carries over to rows the user did not pick.
"""

from __future__ import annotations

import streamlit as st

from app.pitch_assistant import pitch_assistant
from app.shell import KpiCard, format_count, guard_page, kpi_row, show_error, shown
from crm_core.errors import NextBestError
from crm_core.store import Database
from crm_core.views import review, runs
from crm_core.views.offers import segment_label
from crm_core.workflow import decide_offers

ctx = guard_page("review.py")
ws = ctx.workspace
PAGE_SIZE = 50
TABLE_KEY = "review_table_key"  # session key holding the current table's widget key
_GENERATION, _SIGNATURE, _SHOWN, _FILTER, _RESULT = ("_review_generation", "_review_signature", "_review_shown",
                                                     "_review_filter", "_review_result")
_KNOWN_FAMILIES = "_review_known_families"  # ((url, run), product key -> family) seen on earlier pages
TABLE_COLUMNS = ["offer_id", "customer_id", "name", "product", "family", "scenario", "segment_label", "score",
                 "audit_score", "gate", "flag_titles", "state", "submitted_by", "explanation", "pitch"]


@st.cache_data(show_spinner="Reading the run's segments…", ttl=3600, max_entries=8)
def _choices(url: str, run_id: int) -> review.QueueChoices:
    return review.queue_filter_choices(Database.open(url), run_id)


@st.cache_data(show_spinner="Working out the product families from the sales lines…", ttl=3600, max_entries=8)
def _families(url: str, run_id: int):
    return review.queue_families(Database.open(url), run_id)


def _chosen(values) -> tuple | None:
    """A multiselect value as a filter: None (no filter) when nothing is chosen."""
    return tuple(values) or None


def _decide(decision: str, families) -> None:
    """Button callback: decide the selected rows (or all matching) before the page is drawn again."""
    shown_rows = st.session_state.get(_SHOWN, [])
    if st.session_state.get("review_all_matching"):
        targets = review.matching_offer_versions(ctx.db, ws.id, st.session_state[_FILTER], families=families)
    else:
        table_state = st.session_state.get(st.session_state.get(TABLE_KEY, ""), {}) or {}
        rows = (table_state.get("selection") or {}).get("rows") or []
        targets = dict(shown_rows[i] for i in rows if 0 <= i < len(shown_rows))
    if not targets:
        st.session_state[_RESULT] = ("warning",
                                     "Select rows in the table first, or tick “All … matching the filter”.")
        return
    try:
        outcome = decide_offers(ctx.db, ctx.actor, list(targets), decision,
                                reason=st.session_state.get("review_reason"), versions=targets)
    except NextBestError as exc:
        st.session_state[_RESULT] = ("error", exc)
        return
    st.session_state[_RESULT] = ("success" if outcome.decided else "warning", outcome.summary())
    st.session_state[_GENERATION] = st.session_state.get(_GENERATION, 0) + 1
    if outcome.decided:
        st.session_state["review_all_matching"] = False
        st.session_state["review_reason"] = ""


st.title("Review queue")
available = runs.succeeded_runs(ctx.db, ws.id)
if not available:
    st.info(f"Workspace **{shown(ws.name)}** has no offers to review yet. An analyst runs the pipeline on the "
            "**Run pipeline** page; its offers wait here for a manager.")
    st.stop()
labels = {r.id: r.label for r in available}
if st.session_state.get("review_run") not in labels:
    st.session_state.pop("review_run", None)
run_id = st.selectbox("Run", list(labels), format_func=labels.get, key="review_run",
                      help="Newest first. Each run's offers are reviewed on their own.")
choices = _choices(ctx.db.url, run_id)
counts = review.queue_counts(ctx.db, ws.id, run_id)
waiting = counts.waiting_by_gate
kpi_row([
    KpiCard("Waiting", format_count(counts.by_state.get("pending", 0)), "Pending offers: nobody has decided them."),
    KpiCard("Waiting · PASS", format_count(waiting.get("PASS", 0)), "Passed the audit gate."),
    KpiCard("Waiting · REVIEW", format_count(waiting.get("REVIEW", 0)), "The gate asks a person to look."),
    KpiCard("Waiting · BLOCK", format_count(waiting.get("BLOCK", 0)), "Blocked: can be rejected, never approved."),
    KpiCard("Flagged", format_count(counts.by_state.get("flagged", 0)), "Sent back to the analysts with a note."),
    KpiCard("Approved", format_count(counts.by_state.get("approved", 0))),
    KpiCard("Rejected", format_count(counts.by_state.get("rejected", 0))),
])

c1, c2, c3, c4 = st.columns(4)
states = c1.multiselect("State", choices.states, default=["pending"], key="review_states", placeholder="Any state")
gates = c2.multiselect("Gate", choices.gates, key="review_gates", placeholder="Any gate")
segments = c3.multiselect("Segment", choices.segments, format_func=segment_label, key="review_segments",
                          placeholder="Any segment")
scenarios = c4.multiselect("Scenario", choices.scenarios, key="review_scenarios", placeholder="Any scenario")
c5, c6, c7, c8 = st.columns(4)
run_families = None
if c5.toggle("Filter by product family", key="review_family_filter",
             help="Works out the family of every offered product once per run (from the sales lines when the "
                  "catalog has no families: slow on big workspaces)."):
    run_families = _families(ctx.db.url, run_id)
    families = c5.multiselect("Product family", sorted(run_families.dropna().unique()), key="review_families",
                              placeholder="Any family")
else:
    families = []
flags = c6.multiselect("Flag", list(choices.flags), format_func=lambda c: choices.flags.get(c, c),
                       key="review_flags", placeholder="Any flag", help="Offers that raised any of these flags.")
low, high = c7.slider("Audit score", 0, 100, (0, 100), key="review_audit_score",
                      help="100 = no flag; every flag takes points off.")
order = c8.selectbox("Order", list(review.ORDERS), key="review_order",
                     format_func={"score": "Best score first", "audit_score": "Lowest audit score first",
                                  "offer": "Offer id"}.get)
filt = review.QueueFilter(run_id=run_id, states=_chosen(states), gates=_chosen(gates), segments=_chosen(segments),
                          scenarios=_chosen(scenarios), families=_chosen(families), flags=_chosen(flags),
                          min_score=None if low == 0 else low, max_score=None if high == 100 else high)
if st.session_state.get(_SIGNATURE, (None,))[0] != (filt, order):
    st.session_state["review_page"] = 1
page_number = max(int(st.session_state.get("review_page", 1)), 1)
known = st.session_state.get(_KNOWN_FAMILIES)
if known is None or known[0] != (ctx.db.url, run_id):  # families worked out by earlier pages of this run
    known = st.session_state[_KNOWN_FAMILIES] = ((ctx.db.url, run_id), None)
try:
    result = review.queue_page(ctx.db, ws.id, filt, page=page_number - 1, page_size=PAGE_SIZE, order=order,
                               families=run_families, known_families=known[1])
    if page_number > result.pages:  # decisions emptied the last pages: show the new last one
        page_number = st.session_state["review_page"] = result.pages
        result = review.queue_page(ctx.db, ws.id, filt, page=page_number - 1, page_size=PAGE_SIZE, order=order,
                                   families=run_families, known_families=known[1])
except NextBestError as exc:
    show_error(exc)
    st.stop()
if result.families is not None and len(result.families):
    merged = result.families if known[1] is None else known[1].combine_first(result.families)
    st.session_state[_KNOWN_FAMILIES] = (known[0], merged)
signature = ((filt, order), page_number)
if st.session_state.get(_SIGNATURE) != signature:
    st.session_state[_SIGNATURE] = signature
    st.session_state[_GENERATION] = st.session_state.get(_GENERATION, 0) + 1
table_key = f"review_table_{st.session_state.get(_GENERATION, 0)}"
st.session_state[TABLE_KEY] = table_key
rows = result.rows
st.session_state[_SHOWN] = list(zip(rows["offer_id"].tolist(), rows["version"].tolist()))
st.session_state[_FILTER] = filt

pager, caption = st.columns([1, 4])
pager.number_input("Page", 1, result.pages, key="review_page", step=1)
caption.caption(f"{result.total:,} offers match · page {result.page + 1} of {result.pages:,}, {PAGE_SIZE} a page. "
                "Select rows to decide them, or tick “All … matching the filter” below.")
table = rows.assign(flag_titles=[", ".join(choices.flags.get(c, c) for c in str(f).split(";")) if f else ""
                                 for f in rows["flags"].fillna("").tolist()])
event = st.dataframe(
    table, key=table_key, on_select="rerun", selection_mode="multi-row", hide_index=True,
    column_order=TABLE_COLUMNS,
    column_config={
        "offer_id": st.column_config.NumberColumn("Offer", format="%d"),
        "customer_id": st.column_config.TextColumn("Customer"),
        "name": st.column_config.TextColumn("Name"),
        "product": st.column_config.TextColumn("Product"),
        "family": st.column_config.TextColumn("Family"),
        "scenario": st.column_config.TextColumn("Scenario"),
        "segment_label": st.column_config.TextColumn("Segment"),
        "score": st.column_config.NumberColumn("Score", format="%.2f"),
        "audit_score": st.column_config.ProgressColumn("Audit score", format="%d", min_value=0, max_value=100),
        "gate": st.column_config.TextColumn("Gate"),
        "flag_titles": st.column_config.TextColumn("Flags", width="medium"),
        "state": st.column_config.TextColumn("State"),
        "submitted_by": st.column_config.TextColumn("Submitted by"),
        "explanation": st.column_config.TextColumn("Why", width="large"),
        "pitch": st.column_config.TextColumn("Pitch", width="large"),
    })
selected = [i for i in (event.selection.rows if event is not None else []) if i < len(rows)]
for i in selected[:5]:
    offer = rows.iloc[i]
    with st.expander(f"Offer {offer['offer_id']}: {shown(offer['product'])} for {shown(offer['customer_id'])} "
                     f"· {offer['gate']} · audit score {offer['audit_score']}", expanded=len(selected) == 1):
        for message in offer["flag_messages"] or ["No flags."]:
            st.markdown(f"- {shown(message, 400)}")
        st.markdown(f"**Why this offer:** {shown(offer['explanation'], 600)}")
        if isinstance(offer["pitch"], str):
            st.markdown(f"**Pitch** ({shown(offer['pitch_source'])}): {shown(offer['pitch'], 2000)}")
if len(selected) > 5:
    st.caption(f"Details of the first 5 of {len(selected)} selected offers.")
if len(selected) == 1:
    with st.expander("Pitch assistant: draft, edit and save this offer's message"):
        pitch_assistant(ctx, int(rows.iloc[selected[0]]["offer_id"]), key_prefix="review_pitch")

st.checkbox(f"All {result.total:,} matching the filter", key="review_all_matching",
            help="Decide every offer the filter matches, on every page, not only the selected rows.")
st.text_input("Reason", key="review_reason", max_chars=500, placeholder="Needed to reject or flag",
              help="Recorded with each decision; the analysts see it on flagged offers.")
b1, b2, b3, _ = st.columns([1, 1, 1, 3])
b1.button("Approve", key="review_approve", type="primary", on_click=_decide, args=("approved", run_families))
b2.button("Reject", key="review_reject", on_click=_decide, args=("rejected", run_families))
b3.button("Flag", key="review_flag", on_click=_decide, args=("flagged", run_families),
          help="Send back to the analyst with the reason as a note.")
kind, message = st.session_state.pop(_RESULT, (None, None))
if kind == "error":
    show_error(message)
elif kind is not None:
    getattr(st, kind)(shown(message, 2000))
