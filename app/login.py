"""The login form, cookie re-login and logout.

Design (why the authenticator neither checks passwords nor reads cookies here):
streamlit-authenticator 0.4 stores roles but enforces nothing, counts failed
logins only after a correct password, skips bcrypt for unknown users (a
timing leak), cannot revoke a cookie (logout left it working for 7 days), and
an ``alg: none`` cookie broke every page. So the password check and lockout
are :func:`crm_core.auth.login.check_login`, and the cookie's content is a
token of :mod:`crm_core.auth.sessions`, signed with the cookie key and bound
to the user's token version: logging out (here), a password reset, a role
change or a deactivation makes every earlier cookie useless, in every
browser. The authenticator is used for what it does well: the browser cookie
component that writes and deletes the cookie. Cookies are read from the
request (``st.context.cookies``).
"""

from __future__ import annotations

import datetime as dt

import streamlit as st
import streamlit_authenticator as stauth

from app.shell import SESSION_TOKEN_VERSION, clear_login
from crm_core.auth.bootstrap import cookie_key, default_cookie_key_path
from crm_core.auth.login import LoginFailed, check_login
from crm_core.auth.sessions import TOKEN_LIFETIME, TokenRefused, check_token, end_sessions, issue_token
from crm_core.auth.users import UserInfo, authenticator_credentials, get_user
from crm_core.store import Database

COOKIE_NAME = "nextbest_auth"
_SET_COOKIE = "_nextbest_set_login_cookie"
_CLEAR_COOKIE = "_nextbest_clear_login_cookie"
_LOGGED_OUT = "_nextbest_logged_out"  # this browser session logged out: the request's old cookie is not tried


def authenticator(db: Database) -> stauth.Authenticate:
    """An Authenticate over the active users of ``db``; it draws the invisible cookie component."""
    return stauth.Authenticate(authenticator_credentials(db), COOKIE_NAME, cookie_key(default_cookie_key_path()),
                               TOKEN_LIFETIME.days, auto_hash=False, login_sleep_time=0)


_HIDE_COOKIE_FRAMES = """<style>
div[data-testid="stElementContainer"]:has(iframe[title*="cookie_manager"]) { display: none; }
</style>"""


def hide_cookie_frames() -> None:
    """Keep the invisible cookie components from taking up space at the top of every page."""
    st.html(_HIDE_COOKIE_FRAMES)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _start_session(user: UserInfo) -> None:
    st.session_state.update({"authentication_status": True, "username": user.username, "name": user.display_name,
                             "email": user.email, "roles": [user.role.label], "logout": False,
                             SESSION_TOKEN_VERSION: user.token_version})


def relogin_from_cookie(db: Database) -> None:
    """Log the session in from the request's re-login cookie when it is valid (refused cookies are ignored)."""
    if st.session_state.get("authentication_status") or st.session_state.get(_LOGGED_OUT):
        return
    token = st.context.cookies.get(COOKIE_NAME)
    if not token:
        return
    try:
        who = check_token(db, token, _now())
    except TokenRefused:
        st.session_state[_CLEAR_COOKIE] = True  # a dead cookie: take it out of the browser too
        return
    _start_session(get_user(db, who.actor.username))


def write_cookie_if_due(db: Database, auth: stauth.Authenticate) -> None:
    """Write or delete the browser cookie when a login or logout asked for it.

    Done one run after the change, on a run that ends normally: the cookie
    component must reach the browser, which a rerun right away would prevent.
    """
    manager = auth.cookie_controller.cookie_model.cookie_manager
    if st.session_state.pop(_SET_COOKIE, False) and st.session_state.get("username"):
        token = issue_token(db, st.session_state["username"], _now())
        manager.set(COOKIE_NAME, token, expires_at=dt.datetime.now() + TOKEN_LIFETIME)
    if st.session_state.pop(_CLEAR_COOKIE, False):
        try:
            manager.delete(COOKIE_NAME)
        except KeyError:  # the component deletes it in the browser; only its own list lacked it
            pass


def log_out(db: Database, user: UserInfo) -> None:
    """End the user's login everywhere (every cookie refused from now on) and forget it in this session."""
    end_sessions(db, user.actor)
    clear_login()
    st.session_state[_LOGGED_OUT] = True
    st.session_state[_CLEAR_COOKIE] = True


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
            actor = check_login(db, username, password, now=_now())
        except LoginFailed as exc:
            st.error(str(exc))
        else:
            _start_session(get_user(db, actor.username))
            st.session_state[_SET_COOKIE] = True
            st.session_state.pop(_LOGGED_OUT, None)
            st.rerun()
    st.caption("First start? The demo logins are in `data/demo_credentials.txt` (readable only by you).")
