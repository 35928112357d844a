"""NextBest entry point: ``streamlit run app/main.py``.

The frame and router, nothing else: page config, first start (database
upgrade, demo users, cookie key), login (see app/login.py for why the
password check lives in crm_core), then ``st.navigation`` listing only the
pages the user's role may see (app/navigation.py). Every page also calls
``app.shell.guard`` itself, since navigation alone does not protect a page.
"""

from __future__ import annotations

import sys

import streamlit as st

from app.daily_backup import start_daily_backups
from app.login import authenticator, hide_cookie_frames, log_out, login_view, relogin_from_cookie, write_cookie_if_due
from app.navigation import pages_for
from app.shell import clear_login, current_user, database, shown
from crm_core.auth.bootstrap import bootstrap_users, cookie_key, default_cookie_key_path, default_credentials_path
from crm_core.logs import configure_file_logging
from crm_core.services.run_lifecycle import mark_interrupted_runs


@st.cache_resource(show_spinner=False)
def _first_start(url: str) -> None:
    """Once per process and database: the log file, the demo users and the cookie key (no-op when they
    exist), and runs an earlier process left "running" marked as interrupted."""
    configure_file_logging()
    db = database()
    bootstrap_users(db, default_credentials_path(), interactive=sys.stdin.isatty() and sys.stdout.isatty())
    cookie_key(default_cookie_key_path())
    mark_interrupted_runs(db)
    start_daily_backups(db)  # one backup a day, in the background (app/daily_backup.py)


def _navigation(user):
    sections: dict[str, list] = {}
    for spec in pages_for(user.role):
        sections.setdefault(spec.section, []).append(
            st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path, default=spec.default))
    return st.navigation(sections)


def main() -> None:
    """Run one script pass of the app."""
    st.set_page_config(page_title="NextBest", page_icon=":material/insights:", layout="wide")
    db = database()
    _first_start(db.url)
    hide_cookie_frames()
    auth = authenticator(db)
    relogin_from_cookie(db)
    user = current_user(db)
    write_cookie_if_due(db, auth)
    if user is None:
        if st.session_state.get("authentication_status"):
            clear_login()  # deactivated, deleted, or logged out elsewhere since logging in

        def log_in() -> None:
            login_view(db)

        st.navigation([st.Page(log_in, title="Log in", url_path="login", icon=":material/login:")],
                      position="hidden").run()
        return
    with st.sidebar:
        st.caption(f"Signed in as **{shown(user.display_name, 40)}** ({user.role.label})")
        if st.button("Log out", key="logout_button", icon=":material/logout:"):
            log_out(db, user)
            st.rerun()
    _navigation(user).run()


main()
