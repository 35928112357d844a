"""Admin: users, roles, password resets, lockouts; workspaces, imports and runs; gating policies; backups; the
audit log check; the server log. The pipeline settings have their own page (Settings).

Users go through crm_core.auth.users; workspaces, imports and runs are drawn by app/admin_workspaces.py, the
other sections by app/admin_sections.py.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from app import admin_sections, admin_workspaces
from app.shell import PageContext, guard_page, show_error
from crm_core.auth import Role
from crm_core.auth import users as user_store
from crm_core.errors import NextBestError

ROLES = [r.label for r in Role]


def _show_once(title: str, username: str, password: str) -> None:
    st.success(f"{title} Give it to {username} through a safe channel: it is shown only this once.")
    st.code(password, language=None)


def _change_user(ctx: PageContext, users: list) -> None:
    """Role, password reset, unlock and (de)activation of one chosen user."""
    st.markdown("**Change a user**")
    chosen = st.selectbox("User", [u.username for u in users], key="admin_user")
    target = next(u for u in users if u.username == chosen)
    new_role = st.selectbox("Role", ROLES, index=ROLES.index(target.role.label), key="admin_role")
    buttons = st.container(horizontal=True)
    try:
        if buttons.button("Set role", key="admin_set_role"):
            user_store.set_role(ctx.db, ctx.actor, chosen, new_role)
            st.success(f"{chosen} is now {new_role}.")
        if buttons.button("Reset password", key="admin_reset_password"):
            _show_once(f"New password for {chosen}:", chosen, user_store.reset_password(ctx.db, ctx.actor, chosen))
        if buttons.button("Unlock", key="admin_unlock", disabled=target.locked_until is None):
            user_store.unlock_user(ctx.db, ctx.actor, chosen)
            st.success(f"{chosen} is unlocked.")
        label = "Deactivate" if target.is_active else "Reactivate"
        if buttons.button(label, key="admin_toggle_active", disabled=chosen == ctx.actor.username):
            user_store.set_active(ctx.db, ctx.actor, chosen, not target.is_active)
            st.success(f"{chosen} is {'deactivated' if target.is_active else 'active again'}.")
    except NextBestError as exc:
        show_error(exc)


def _new_user(ctx: PageContext) -> None:
    """The form creating a login; its one-time password is shown once."""
    st.markdown("**New user**")
    with st.form("admin_create", clear_on_submit=True):
        username = st.text_input("Username", key="admin_new_username", help="2-64 characters: a-z, 0-9, . _ -")
        display_name = st.text_input("Display name", key="admin_new_display_name")
        email = st.text_input("Email (optional)", key="admin_new_email")
        role = st.selectbox("Role", ROLES, key="admin_new_role")
        created = st.form_submit_button("Create user", key="admin_create_submit")
    if created:
        try:
            info, password = user_store.create_user(ctx.db, ctx.actor, username, role,
                                                    display_name=display_name or None, email=email or None)
        except NextBestError as exc:
            show_error(exc)
        else:
            _show_once(f"Created {info.username} ({info.role.label}). Password:", info.username, password)


def _users_table(ctx: PageContext, where) -> None:
    """Every user, read after any change above."""
    now = dt.datetime.now(dt.timezone.utc)
    fresh = user_store.list_users(ctx.db, ctx.actor)
    where.dataframe(pd.DataFrame({
        "username": [u.username for u in fresh],
        "name": [u.display_name for u in fresh],
        "role": [u.role.label for u in fresh],
        "active": [u.is_active for u in fresh],
        "locked": [u.is_locked(now) for u in fresh],
        "failed logins": [u.failed_logins for u in fresh],
        "created": [u.created_at for u in fresh],
    }), hide_index=True, key="admin_users")


def users_section(ctx: PageContext) -> None:
    """Users: the table, changing one, creating one."""
    st.subheader("Users")
    table = st.container()
    left, right = st.columns(2)
    with left:
        _change_user(ctx, user_store.list_users(ctx.db, ctx.actor))
    with right:
        _new_user(ctx)
    _users_table(ctx, table)


ctx = guard_page("admin.py", require_workspace=False)
st.title("Admin")
users_section(ctx)
st.divider()
admin_workspaces.workspaces(ctx)
st.divider()
admin_workspaces.imports(ctx)
st.divider()
admin_workspaces.runs(ctx)
st.divider()
admin_sections.gating_policies(ctx)
st.divider()
admin_sections.backups(ctx)
st.divider()
admin_sections.audit_log(ctx)
st.divider()
admin_sections.server_log()
