"""The login form, cookie re-login and logout.

Design (why the authenticator does not check passwords here):
streamlit-authenticator 0.4 stores roles but enforces nothing, counts failed
logins only after a correct password, skips bcrypt for unknown users (a
timing leak) and rewrites its YAML when given a path. So the password check
and the lockout are done by :func:`crm_core.auth.login.check_login`, and the
authenticator is used for what it is good at: the signed re-login cookie
(set after a successful login, read on a new session) and logout. It gets a
fresh credentials dict built from the active users (pre-hashed,
``auto_hash=False``), never a file path, so it writes nothing to disk.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities.exceptions import LoginError

from app.shell import clear_login
from crm_core.auth.bootstrap import cookie_key, default_cookie_key_path
from crm_core.auth.login import LoginFailed, check_login
from crm_core.auth.users import authenticator_credentials, get_user
from crm_core.store import Database

COOKIE_NAME = "nextbest_auth"
COOKIE_EXPIRY_DAYS = 7
_SET_COOKIE = "_nextbest_set_login_cookie"


def authenticator(db: Database) -> stauth.Authenticate:
    """An Authenticate over the active users of ``db`` (built on every run: roles and status stay current)."""
    return stauth.Authenticate(authenticator_credentials(db), COOKIE_NAME, cookie_key(default_cookie_key_path()),
                               COOKIE_EXPIRY_DAYS, auto_hash=False, login_sleep_time=0)


_HIDE_COOKIE_FRAMES = """<style>
div[data-testid="stElementContainer"]:has(iframe[title*="cookie_manager"]) { display: none; }
</style>"""


def hide_cookie_frames() -> None:
    """Keep the invisible cookie components from taking up space at the top of every page."""
    st.html(_HIDE_COOKIE_FRAMES)


def relogin_from_cookie(auth: stauth.Authenticate) -> None:
    """Log the session in from a valid re-login cookie, if the browser sent one for an active user."""
    if st.session_state.get("authentication_status"):
        return
    try:
        auth.login(location="unrendered")
    except LoginError:  # a cookie for a user who was deactivated or deleted meanwhile
        clear_login()


def set_cookie_if_due(auth: stauth.Authenticate) -> None:
    """Write the re-login cookie in the first run after a password login.

    Done one run later because the cookie is set by a browser component that
    must get drawn before the script reruns.
    """
    if st.session_state.pop(_SET_COOKIE, False):
        auth.cookie_controller.set_cookie()


def log_out(auth: stauth.Authenticate) -> None:
    """End the session's login and delete the re-login cookie."""
    auth.logout(location="unrendered")
    clear_login()


def login_view(db: Database) -> None:
    """The login page: a form (keys ``login_username``, ``login_password``, ``login_submit``)."""
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        _login_form(db)


def _login_form(db: Database) -> None:
    st.title("NextBest")
    st.caption("Customer segments and next best offers. Log in to continue.")
    with st.form("login", clear_on_submit=True):
        username = st.text_input("Username", key="login_username", autocomplete="username")
        password = st.text_input("Password", type="password", key="login_password", autocomplete="current-password")
        submitted = st.form_submit_button("Log in", key="login_submit", type="primary")
    if submitted:
        try:
            actor = check_login(db, username, password, now=dt.datetime.now(dt.timezone.utc))
        except LoginFailed as exc:
            st.error(str(exc))
        else:
            user = get_user(db, actor.username)
            st.session_state.update({"authentication_status": True, "username": user.username,
                                     "name": user.display_name, "email": user.email,
                                     "roles": [user.role.label], "logout": False, _SET_COOKIE: True})
            st.rerun()
    st.caption("First start? The demo logins are in `data/demo_credentials.txt` (readable only by you).")
