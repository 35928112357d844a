"""Duplicate customers: proposed merges with their evidence (analysts and up), confirmed or undone by managers."""

from __future__ import annotations

import streamlit as st

from app.shell import KpiCard, format_count, format_money, guard_page, kpi_row, show_error, shown
from crm_core.auth import Action, can
from crm_core.errors import NextBestError
from crm_core.services.merges import dismiss_proposal, merge_customers, propose_merges, undo_merge
from crm_core.store import Database
from crm_core.views.merges import ACTIVE, merge_history, merges_version
from crm_core.views.overview import data_version

ctx = guard_page("customers.py")
ws = ctx.workspace
may_decide = can(ctx.actor, Action.DECIDE_OFFERS)
_FLASH = "_dup_flash"  # the last decision's message (or its error), shown once after the rerun it caused
TABLE_COLUMNS = ["survivor", "survivor_name", "merged", "merged_name", "strength", "rules", "survivor_lines",
                 "merged_lines", "survivor_revenue", "merged_revenue", "survivor_last_purchase", "merged_last_purchase"]


@st.cache_data(show_spinner="Looking for duplicates…", max_entries=8)
def _proposals(url: str, workspace_id: int, version: tuple):
    return propose_merges(Database.open(url), workspace_id)


def _act(action, success: str) -> None:
    """Run a decision (a callback: the page then draws the new state) and keep what came of it."""
    try:
        outcome = action()
    except NextBestError as exc:
        st.session_state[_FLASH] = exc
        return
    st.session_state[_FLASH] = success.format(outcome=outcome)


def _merge(row: dict, keep_first: bool) -> None:
    survivor, merged = (row["survivor"], row["merged"]) if keep_first else (row["merged"], row["survivor"])
    evidence = {"rules": row["rules"], "text": row["evidence"]}
    _act(lambda: merge_customers(ctx.db, ctx.actor, ws.id, survivor, merged, evidence=evidence,
                                 reason=st.session_state.get("dup_reason")),
         f"Merge #{{outcome}}: {merged} is now part of {survivor}. It can be undone below.")


def _dismiss(row: dict) -> None:
    _act(lambda: dismiss_proposal(ctx.db, ctx.actor, ws.id, row["survivor"], row["merged"],
                                  evidence={"rules": row["rules"], "text": row["evidence"]},
                                  reason=st.session_state.get("dup_reason")),
         f"{row['survivor']} and {row['merged']} are kept apart and will not be proposed again.")


def _undo(merge_id: int) -> None:
    _act(lambda: undo_merge(ctx.db, ctx.actor, merge_id, reason=st.session_state.get("dup_undo_reason")),
         f"Merge #{merge_id} undone: each record has its own rows back.")


st.title("Duplicate customers")
st.caption(f"Workspace **{shown(ws.name)}** · records that share an e-mail (any case), a phone number (digits "
           "only; +44 and 0044 are the same, a national 0 number is not matched with its +44 form) or a name "
           "with a postcode (the city when no postcode is on file: weaker evidence).")
flash = st.session_state.pop(_FLASH, None)
if isinstance(flash, BaseException):
    show_error(flash)
elif flash:
    st.success(shown(flash, 600))

version = (*data_version(ctx.db, ws.id), *merges_version(ctx.db, ws.id))
proposals = _proposals(ctx.db.url, ws.id, version)
strong = int((proposals["strength"] == "strong").sum())
kpi_row([
    KpiCard("Proposed pairs", format_count(len(proposals)), "Pairs not yet merged or dismissed."),
    KpiCard("Strong evidence", format_count(strong), "Same e-mail, phone, or name and postcode."),
    KpiCard("Placeholders skipped", format_count(proposals.attrs.get("placeholders", 0)),
            "Values shared by more than 5 records (e.g. noemail@…): not a person, so not proposed."),
])

if proposals.empty:
    st.success("No duplicate customer records found.")
else:
    st.dataframe(proposals[TABLE_COLUMNS], hide_index=True, key="dup_table", column_config={
        "survivor": "Keep", "survivor_name": "Name", "merged": "Merge", "merged_name": "Name (merged)",
        "strength": "Evidence", "rules": "Rules",
        "survivor_lines": st.column_config.NumberColumn("Sales lines (keep)", format="%d"),
        "merged_lines": st.column_config.NumberColumn("Sales lines (merge)", format="%d"),
        "survivor_revenue": st.column_config.NumberColumn(f"Net total (keep) {ws.currency}", format="%.2f"),
        "merged_revenue": st.column_config.NumberColumn(f"Net total (merge) {ws.currency}", format="%.2f"),
        "survivor_last_purchase": st.column_config.DateColumn("Last purchase (keep)"),
        "merged_last_purchase": st.column_config.DateColumn("Last purchase (merge)"),
    })
    rows = proposals.to_dict("records")
    pick = st.selectbox("Pair", range(len(rows)), key="dup_pick",
                        format_func=lambda i: f"{rows[i]['merged']} → {rows[i]['survivor']} · {rows[i]['rules']}")
    row = rows[pick]
    with st.container(border=True):
        st.markdown(f"**Evidence:** {shown(row['evidence'], 800)}")
        st.markdown(f"**{shown(row['survivor'])}** {shown(row['survivor_name'] or '')}: "
                    f"{format_count(row['survivor_lines'])} sales lines, "
                    f"{format_money(row['survivor_revenue'], ws)} · **{shown(row['merged'])}** "
                    f"{shown(row['merged_name'] or '')}: {format_count(row['merged_lines'])} sales lines, "
                    f"{format_money(row['merged_revenue'], ws)}")
        if may_decide:
            keep = st.radio("Keep", [row["survivor"], row["merged"]], horizontal=True, key=f"dup_keep_{pick}",
                            help="The record that stays: the other one's sales, holdings, outcomes, consent, "
                                 "campaign memberships and offers move to it.")
            st.text_input("Reason (optional)", key="dup_reason", max_chars=500)
            b1, b2 = st.columns(2)
            b1.button("Merge", key="dup_merge", type="primary", icon=":material/merge:",
                      on_click=_merge, args=(row, keep == row["survivor"]))
            b2.button("Not the same person", key="dup_dismiss", on_click=_dismiss, args=(row,))
            st.caption("The most restrictive consent of the two records wins (an opt-out, do-not-contact, the later "
                       "contact). Past runs keep their results; the next run sees one customer.")
        else:
            st.info("A manager confirms merges; you can see the proposals and their evidence.")

st.subheader("Merges")
history = merge_history(ctx.db, ws.id)
if history.empty:
    st.caption("No merge yet.")
else:
    st.dataframe(history, hide_index=True, key="dup_history", column_config={
        "merge_id": st.column_config.NumberColumn("Merge", format="%d"), "state": "State", "survivor": "Kept",
        "merged": "Merged", "rules": "Rules", "moved_rows": st.column_config.NumberColumn("Rows moved", format="%d"),
        "created_by": "By", "created_at": st.column_config.DatetimeColumn("When (UTC)", format="D MMM YYYY HH:mm"),
        "reason": "Reason", "undone_by": "Undone by",
        "undone_at": st.column_config.DatetimeColumn("Undone (UTC)", format="D MMM YYYY HH:mm")})
    in_force = history.loc[history["state"] == ACTIVE, "merge_id"].tolist()
    if may_decide and in_force:
        u1, u2, u3 = st.columns([1, 2, 1], vertical_alignment="bottom")
        chosen = u1.selectbox("Merge to undo", in_force, key="dup_undo_pick", format_func=lambda i: f"#{i}")
        u2.text_input("Why undo (optional)", key="dup_undo_reason", max_chars=500)
        u3.button("Undo merge", key="dup_undo", on_click=_undo, args=(int(chosen),), icon=":material/undo:")
