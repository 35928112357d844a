"""The Admin page's sections beyond users: gating policies, backups, the audit log check, the server log.

Each section is one function drawing into the page; every change goes
through a ``crm_core`` use case (which checks the admin role itself), every
figure comes from the read side. Widget keys start with ``admin_``.
"""

from __future__ import annotations

import streamlit as st

from app.shell import PageContext, show_error, shown
from crm_core.errors import NextBestError
from crm_core.logs import log_tail
from crm_core.services.backup import backup_folder, backup_table, make_backup, restore_backup
from crm_core.views.audit_chain import MISSING, OLDER, verify_audit_chain
from crm_core.views.policies import flag_choices, flag_label, latest_policies, policy_table, workspace_policies
from crm_core.workflow.policies import save_policy, set_active_policy

LOG_LINES = 200
NEW_POLICY = "(new policy)"
_FORM_DEFAULTS = {"admin_policy_name": "", "admin_policy_description": "", "admin_policy_review_below": 80,
                  "admin_policy_block_below": 30, "admin_policy_review_on": [], "admin_policy_escalate": []}


def gating_policies(ctx: PageContext) -> None:
    """Policies and their versions, the active one per workspace, and the form for a custom policy."""
    st.subheader("Gating policies")
    st.caption("A policy turns an offer's flags and audit score into PASS, REVIEW or BLOCK; an ERROR flag blocks "
               "under every policy. Saving never edits a policy: it adds a version. Changing a workspace's policy, "
               "or saving a new version of it, re-gates the offers nobody has decided yet.")
    table, active, form = st.container(), st.container(), st.container()
    with form:  # drawn first, shown last: a save shows in the list and the choices above at once
        _policy_form(ctx)
    with active:
        _active_policies(ctx)
    table.dataframe(policy_table(ctx.db), hide_index=True, key="admin_policies",
                    column_config={"saved_at": st.column_config.DatetimeColumn("saved at (UTC)")})


def _active_policies(ctx: PageContext) -> None:
    """Per workspace: its policy in a selectbox and an Apply button that re-gates."""
    st.markdown("**Active policy per workspace**")
    names = list(latest_policies(ctx.db))
    for ws in workspace_policies(ctx.db):
        name_col, choice_col, button_col = st.columns([2, 2, 1], vertical_alignment="bottom")
        name_col.markdown(shown(ws.workspace))
        index = names.index(ws.policy_name) if ws.policy_name in names else None
        choice = choice_col.selectbox(f"Policy of {ws.workspace}", names, index=index,
                                      key=f"admin_policy_ws_{ws.workspace_id}", label_visibility="collapsed")
        if button_col.button("Apply", key=f"admin_policy_apply_{ws.workspace_id}", disabled=choice is None):
            try:
                result = set_active_policy(ctx.db, ctx.actor, ws.workspace_id, choice)
            except NextBestError as exc:
                show_error(exc)
            else:
                st.success(f"{shown(ws.workspace)} now gates with {shown(result.policy_name)} version "
                           f"{result.policy_version}: {result.changed:,} of {result.considered:,} undecided "
                           f"offers re-gated ({_gate_counts(result.gates_after)}).")


def _gate_counts(counts: dict) -> str:
    """``PASS 114, REVIEW 0, BLOCK 6`` (no offers: ``no undecided offers``)."""
    if not counts:
        return "no undecided offers"
    return ", ".join(f"{gate} {counts.get(gate, 0):,}" for gate in ("PASS", "REVIEW", "BLOCK"))


def _policy_form(ctx: PageContext) -> None:
    """Create a custom policy, or a new version of one (pre-filled from its newest version)."""
    st.markdown("**Create or edit a custom policy**")
    policies = latest_policies(ctx.db)
    custom = [name for name, p in policies.items() if name not in ("strict", "standard", "permissive")]
    st.selectbox("Start from", [NEW_POLICY, *custom], key="admin_policy_base", on_change=_load_base,
                 args=(policies,), help="Pick a custom policy to save a new version of it.")
    review_on, escalate = flag_choices()
    for key, value in _FORM_DEFAULTS.items():  # set through the state, never as widget defaults as well
        st.session_state.setdefault(key, value)
    with st.form("admin_policy_form"):
        st.text_input("Name", key="admin_policy_name", help="lower-case letters, digits, - or _ (e.g. careful)")
        st.text_input("Description", key="admin_policy_description")
        left, right = st.columns(2)
        left.number_input("Review below audit score", 0, 100, step=1, key="admin_policy_review_below")
        right.number_input("Block below audit score", 0, 100, step=1, key="admin_policy_block_below")
        st.multiselect("Review on these flags or severities", review_on, key="admin_policy_review_on",
                       format_func=flag_label)
        st.multiselect("Escalate these flags to ERROR (they block)", escalate, key="admin_policy_escalate",
                       format_func=flag_label)
        saved = st.form_submit_button("Save policy", key="admin_policy_save")
    if saved:
        _save(ctx)


def _load_base(policies: dict) -> None:
    """Fill the form with the chosen policy's newest version (or empty it for a new one)."""
    base = policies.get(st.session_state.get("admin_policy_base"))
    values = dict(_FORM_DEFAULTS) if base is None else dict(zip(_FORM_DEFAULTS, (
        base.name, base.description, int(base.review_below), int(base.block_below), list(base.review_on),
        list(base.escalate))))
    st.session_state.update(values)


def _save(ctx: PageContext) -> None:
    """Save the form's policy; a validation error is shown next to the form."""
    state = st.session_state
    body = {"name": state.get("admin_policy_name", ""), "description": state.get("admin_policy_description", ""),
            "review_below": state.get("admin_policy_review_below"), "block_below": state.get("admin_policy_block_below"),
            "review_on": list(state.get("admin_policy_review_on", [])),
            "escalate": list(state.get("admin_policy_escalate", []))}
    try:
        policy = save_policy(ctx.db, ctx.actor, body)
    except NextBestError as exc:
        show_error(exc)
        return
    users = [shown(w.workspace) for w in workspace_policies(ctx.db) if w.policy_name == policy.name]
    regated = f" Re-gated the undecided offers of {', '.join(users)}." if users else ""
    st.success(f"Saved policy {shown(policy.name)} version {policy.version}.{regated}")


def backups(ctx: PageContext) -> None:
    """Back up now, the backups kept, and restoring one of them (typed confirmation)."""
    st.subheader("Backups")
    ops = ctx.config.operations
    folder = backup_folder(ctx.db, ops)
    st.caption(f"A backup is a consistent copy of the whole database, made while everyone works. One is made "
               f"automatically each day and the newest {ops.backup_keep} of those are kept, in {shown(folder, 300)} "
               "(the [operations] settings on the Settings page). Backups hold customer data: the folder is "
               "readable by the account running NextBest only.")
    if st.button("Back up now", key="admin_backup_now", icon=":material/backup:"):
        try:
            info = make_backup(ctx.db, ctx.actor, folder=folder)
        except NextBestError as exc:
            show_error(exc)
        else:
            st.success(f"Backed up to {shown(info.path.name)} ({info.size / 1e6:,.1f} MB).")
    table = backup_table(folder)
    st.dataframe(table, hide_index=True, key="admin_backups_table",
                 column_config={"modified": st.column_config.DatetimeColumn("written (UTC)")})
    with st.expander("Restore a backup"):
        st.caption("Replaces everything in the database with the backup, for every user; the database replaced is "
                   "backed up first. The file is checked before anything is replaced. For a file kept elsewhere, "
                   "copy it into the folder above, or use python -m crm_core restore --from FILE.")
        name = st.selectbox("Backup", table["file"].tolist(), index=None, key="admin_restore_file")
        typed = st.text_input("Type restore to confirm", key="admin_restore_confirm")
        if st.button("Restore this backup", key="admin_restore_go", type="primary",
                     disabled=name is None or typed.strip() != "restore"):
            try:
                info, replaced = restore_backup(ctx.db, ctx.actor, folder / name, folder=folder)
            except NextBestError as exc:
                show_error(exc)
            else:
                st.cache_data.clear()
                kept = f" The database it replaced was saved as {shown(replaced.name)}." if replaced else ""
                st.success(f"Restored {shown(info.path.name)} (schema revision {info.revision}).{kept} Reload the "
                           "page: everyone now sees the restored data.")


def audit_log(ctx: PageContext) -> None:
    """Recompute the audit chain on demand and say whether it is intact, naming the first bad event."""
    st.subheader("Audit log")
    st.caption("Every change is an event whose hash covers the one before. Verifying recomputes every hash: an "
               "edited or deleted event shows as the first that does not match. Keep the head hash: giving it to a "
               "later check shows whether events were removed since.")
    expected = st.text_input("Head hash kept earlier (optional)", key="admin_audit_expect_head").strip()
    if not st.button("Verify the audit chain", key="admin_audit_verify"):
        return
    try:
        report = verify_audit_chain(ctx.db, expect_head=expected or None)
    except NextBestError as exc:
        show_error(exc)
        return
    if report.intact:
        st.success(f"The audit chain is intact: {report.events:,} events.")
    else:
        others = f" ({len(report.bad):,} events do not match)" if len(report.bad) > 1 else ""
        st.error(f"The audit chain is broken: event #{report.first_bad} is the first that does not match its hash "
                 f"or the event before it{others}.")
    st.caption("Head hash")
    st.code(report.head, language=None)
    if report.expected_at == MISSING:
        st.error("The hash you kept is neither the head nor any event's hash: the log was truncated or rewritten "
                 "since.")
    elif report.expected_at == OLDER:
        st.info(f"The hash you kept is event #{report.expected_event}'s; {report.events_after:,} events came after.")
    elif expected:
        st.info("The hash you kept is still the head: no event was added or removed since.")


def server_log() -> None:
    """The newest lines of the server's log file (tracebacks of failed runs land there)."""
    st.subheader("Server log")
    with st.expander(f"The last {LOG_LINES} lines of the log file"):
        st.text(log_tail(LOG_LINES) or "The log is empty.")  # preformatted, never read as Markdown
