"""The Admin page's Workspaces, Imports and Runs sections: what the database holds, and taking it back.

Workspaces: the list with what each holds, a form to change one (name, kind,
currency, decimals, time zone), a form to create one, and deleting one once
its name is typed. Imports and Runs work on the workspace chosen in the
sidebar: take an import back as a whole with a reason; delete a run nobody
acted on. Every change is a ``crm_core`` use case (admin-only, audited); the
tables come from ``crm_core.views.workspace_admin``, kept by ``app.page_data``
until the next change (an audit event). Widget keys start with ``admin_ws_``,
``admin_revert_`` and ``admin_run_``.
"""

from __future__ import annotations

import streamlit as st

from app.page_data import imports_table, runs_table, workspaces_table
from app.shell import PageContext, show_error, shown
from crm_core.errors import NextBestError
from crm_core.services.import_revert import revert_import
from crm_core.services.run_admin import delete_run
from crm_core.services.workspace_admin import KINDS, create_workspace, delete_workspace, update_workspace
from crm_core.services.workspaces import machine_timezone, timezone_choices

TABLE_NAMES = {"transactions": "sales lines", "customer_attributes": "dated customer attributes"}


def workspaces(ctx: PageContext) -> None:
    """The workspaces, changing one, creating one, deleting one."""
    st.subheader("Workspaces")
    st.caption("Each workspace is a separate data world with one currency and one time zone. Amounts are stored "
               "as whole minor units, so the decimals of a workspace that holds money cannot change.")
    table = st.container()
    frame = workspaces_table(ctx.db)  # kept until the next change (counting at 10M lines: seconds)
    left, right = st.columns(2)
    with left:
        changed = _change(ctx, frame)
    with right:
        changed = _create(ctx) or changed
    if changed:
        frame = workspaces_table(ctx.db)
    if _delete(ctx, frame):
        frame = workspaces_table(ctx.db)
    table.dataframe(frame, hide_index=True, key="admin_ws_table",
                    column_config={"created_at": st.column_config.DatetimeColumn("created (UTC)")})


def _change(ctx: PageContext, frame) -> bool:
    """The form that changes a workspace of ``frame`` (the workspace table); True when one was saved."""
    if frame.empty:
        st.caption("No workspace yet.")
        return False
    st.markdown("**Change a workspace**")
    ids = frame["id"].tolist()
    picked = st.selectbox("Workspace", ids, key="admin_ws_pick",
                          format_func=lambda i: frame.set_index("id").loc[i, "name"])
    row = frame.set_index("id").loc[picked]
    zones = timezone_choices()
    with st.form(f"admin_ws_form_{picked}"):
        name = st.text_input("Name", value=row["name"], key=f"admin_ws_name_{picked}")
        kind = st.selectbox("Kind", KINDS, index=KINDS.index(row["kind"]) if row["kind"] in KINDS else 0,
                            key=f"admin_ws_kind_{picked}")
        currency = st.text_input("Currency (ISO code; XXX: none)", value=row["currency"],
                                 key=f"admin_ws_currency_{picked}")
        decimals = st.number_input("Currency decimals", 0, 4, value=int(row["currency_decimals"]), step=1,
                                   key=f"admin_ws_decimals_{picked}",
                                   help="Refused once the workspace holds amounts: they are stored in minor units.")
        zone = st.selectbox("Time zone", zones, index=zones.index(row["timezone"]) if row["timezone"] in zones else 0,
                            key=f"admin_ws_timezone_{picked}")
        saved = st.form_submit_button("Save changes", key="admin_ws_save")
    if saved:
        try:
            ws = update_workspace(ctx.db, ctx.actor, int(picked), name=name, kind=kind, currency=currency,
                                  currency_decimals=int(decimals), timezone=zone)
        except NextBestError as exc:
            show_error(exc)
        else:
            st.success(f"Saved workspace {shown(ws.name)}.")
            return True
    return False


def _create(ctx: PageContext) -> bool:
    st.markdown("**New workspace**")
    zones = timezone_choices()
    here = machine_timezone()
    with st.form("admin_ws_new", clear_on_submit=True):
        name = st.text_input("Name", key="admin_ws_new_name")
        kind = st.selectbox("Kind", KINDS, key="admin_ws_new_kind")
        currency = st.text_input("Currency (ISO code; XXX: none)", value="XXX", key="admin_ws_new_currency")
        decimals = st.number_input("Currency decimals", 0, 4, value=2, step=1, key="admin_ws_new_decimals")
        zone = st.selectbox("Time zone", zones, index=zones.index(here) if here in zones else 0,
                            key="admin_ws_new_timezone")
        created = st.form_submit_button("Create workspace", key="admin_ws_create")
    if created:
        try:
            ws = create_workspace(ctx.db, ctx.actor, name, kind=kind, currency=currency,
                                  currency_decimals=int(decimals), timezone=zone)
        except NextBestError as exc:
            show_error(exc)
        else:
            st.success(f"Created workspace {shown(ws.name)} ({ws.currency}, {ws.timezone}).")
            return True
    return False


def _delete(ctx: PageContext, frame) -> bool:
    if frame.empty:
        return False
    with st.expander("Delete a workspace and everything in it"):
        st.caption("Its customers, sales, runs, offers and campaigns are deleted for good; its audit events stay. "
                   "Make a backup first.")
        names = dict(zip(frame["id"], frame["name"]))
        picked = st.selectbox("Workspace to delete", list(names), format_func=names.get, index=None,
                              key="admin_ws_delete_pick")
        typed = st.text_input("Type its name to confirm", key="admin_ws_delete_name")
        ready = picked is not None and typed.strip() == names.get(picked)
        if st.button("Delete for good", key="admin_ws_delete", type="primary", disabled=not ready):
            try:
                counts = delete_workspace(ctx.db, ctx.actor, int(picked), confirm_name=typed)
            except NextBestError as exc:
                show_error(exc)
            else:
                st.success(f"Deleted workspace {shown(names[picked])}: {_removed(counts)}.")
                return True
    return False


def imports(ctx: PageContext) -> None:
    """The chosen workspace's imports; taking one back as a whole, with a reason."""
    st.subheader("Imports")
    ws = ctx.workspace
    if ws is None:
        st.caption("No workspace yet.")
        return
    st.caption(f"Imports into {shown(ws.name)} (choose the workspace in the sidebar). Taking one back removes its "
               "rows, and the customers and products that came only with it; runs built on it are marked stale. "
               "A product catalog updates products in place and cannot be taken back.")
    table, form = st.container(), st.container()
    with form:
        frame = imports_table(ctx.db, ws.id)  # kept until the next change
        open_ = frame[(frame["status"] == "loaded") & (frame["kind"] != "products")]
        labels = {int(r.id): f"#{r.id} · {r.kind} · {r.source} · {r.rows_loaded:,} rows · by {r.created_by}"
                  for r in open_.itertuples()}
        picked = st.selectbox("Import to take back", list(labels), format_func=labels.get, index=None,
                              key="admin_revert_batch")
        reason = st.text_input("Why (kept with the import and in the audit log)", key="admin_revert_reason")
        if st.button("Take back this import", key="admin_revert_go", disabled=picked is None):
            try:
                result = revert_import(ctx.db, ctx.actor, int(picked), reason=reason)
            except NextBestError as exc:
                show_error(exc)
            else:
                stale = (f" Runs {', '.join(f'#{r}' for r in result.stale_runs)} are marked stale."
                         if result.stale_runs else "")
                st.success(f"Import #{result.batch_id} taken back: {_removed(result.removed)}.{stale}")
                frame = imports_table(ctx.db, ws.id)
    table.dataframe(frame, hide_index=True, key="admin_imports_table",
                    column_config={"created_at": st.column_config.DatetimeColumn("imported (UTC)"),
                                   "reverted_at": st.column_config.DatetimeColumn("taken back (UTC)")})


def runs(ctx: PageContext) -> None:
    """The chosen workspace's runs; deleting one whose offers nobody acted on."""
    st.subheader("Runs")
    ws = ctx.workspace
    if ws is None:
        st.caption("No workspace yet.")
        return
    st.caption(f"Runs of {shown(ws.name)}. A run whose offers were decided, exported, put in a campaign or have "
               "outcomes stays: it is the record of what was sent and why (the last column says why).")
    table, form = st.container(), st.container()
    with form:
        frame = runs_table(ctx.db, ws.id)  # kept until the next change
        free = frame[frame["deletable"]]
        labels = {int(r.id): f"#{r.id} · as of {r.as_of:%Y-%m-%d} · {r.status} · {r.offers:,} offers · by "
                             f"{r.created_by}" for r in free.itertuples()}
        picked = st.selectbox("Run to delete", list(labels), format_func=labels.get, index=None, key="admin_run_pick")
        reason = st.text_input("Why (optional, kept in the audit log)", key="admin_run_reason")
        if st.button("Delete this run", key="admin_run_delete", disabled=picked is None):
            try:
                counts = delete_run(ctx.db, ctx.actor, int(picked), reason=reason)
            except NextBestError as exc:
                show_error(exc)
            else:
                st.success(f"Run #{picked} deleted: {_removed(counts)}.")
                frame = runs_table(ctx.db, ws.id)
    table.dataframe(frame, hide_index=True, key="admin_runs_table",
                    column_config={"started_at": st.column_config.DatetimeColumn("started (UTC)"),
                                   "as_of": st.column_config.DateColumn("as of"),
                                   "why_not": st.column_config.TextColumn("why it stays")})


def _removed(counts: dict) -> str:
    """``402 sales lines, 3 customers`` (nothing: ``nothing else``)."""
    parts = [f"{n:,} {TABLE_NAMES.get(t, t.replace('_', ' '))}" for t, n in counts.items() if n]
    return ", ".join(parts) or "nothing else"
