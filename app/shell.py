"""What every page shares: the login guard, the page context and a few widgets.

Every page starts with::

    from app.shell import guard
    from crm_core.auth import Role

    ctx = guard(Role.VIEWER)          # refuses sessions not logged in or below the role
    ... ctx.db, ctx.actor, ctx.workspace, ctx.config ...

``guard`` draws the workspace picker in the sidebar (``key="workspace"``);
pages that can work without any workspace yet (Import data) pass
``require_workspace=False`` and then get ``ctx.workspace is None`` when the
database is empty.

Customer 360 is reached with the query parameter ``customer_id`` (the
customer's id as the source gives it, e.g. ``/customer?customer_id=13085``),
so a link to a customer can be shared and bookmarked. Pages link to it with
:func:`open_customer`; the Customer page reads it with
:func:`selected_customer_id`, which falls back to ``st.session_state["customer_id"]``
(for tests and for pages that only set the session key).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import streamlit as st

from app.navigation import page_spec
from crm_core.auth import Actor, Role
from crm_core.auth.users import UserInfo, get_user
from crm_core.config import Config
from crm_core.display_text import one_line, shown  # noqa: F401 (the pages' one helper for file text)
from crm_core.errors import NextBestError, NotFound
from crm_core.services.settings_store import active_settings
from crm_core.store import Database, default_url
from crm_core.views.workspaces import WorkspaceInfo, default_workspace, list_workspaces

CUSTOMER_KEY = "customer_id"
WORKSPACE_KEY = "workspace"
_WORKSPACE_CHOICE = "_nextbest_workspace_choice"  # survives page switches, unlike widget state
_LINK_SEEN = "_nextbest_workspace_link_seen"  # a ?workspace= link applies once, then the picker rules
SESSION_TOKEN_VERSION = "_nextbest_token_version"  # the user's token version when this session logged in
AUTH_KEYS = ("authentication_status", "username", "name", "email", "roles", SESSION_TOKEN_VERSION)
_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥", "INR": "₹"}


@dataclass(frozen=True)
class PageContext:
    """What a page works with, resolved by :func:`guard`."""

    db: Database
    actor: Actor
    user: UserInfo
    workspace: WorkspaceInfo | None
    config: Config  # the saved settings runs use now (or the defaults)
    settings_version: int | None = None  # None: the built-in defaults


@dataclass(frozen=True)
class KpiCard:
    """One KPI card: a label, a formatted value and an optional explanation."""

    label: str
    value: str
    help: str | None = None
    delta: str | None = None


@st.cache_resource(show_spinner=False)
def _database(url: str) -> Database:
    db = Database.open(url)
    db.upgrade()
    return db


def database() -> Database:
    """The Database of ``NEXTBEST_DATABASE_URL`` (or data/nextbest.db), opened and upgraded once per process."""
    return _database(default_url())


def current_user(db: Database) -> UserInfo | None:
    """The logged-in, still active user of this session, read fresh from the database (None otherwise).

    The role comes from the database on every page load, so a role change or
    a deactivation by an admin takes effect at once; a session whose login was
    ended since (logout elsewhere, password reset, role change: the user's token
    version moved on) is logged out.
    """
    if not st.session_state.get("authentication_status"):
        return None
    username = st.session_state.get("username")
    if not username:
        return None
    try:
        user = get_user(db, username)
    except NotFound:
        return None
    if not user.is_active or st.session_state.get(SESSION_TOKEN_VERSION) != user.token_version:
        return None
    return user


def clear_login() -> None:
    """Forget this session's login (the re-login cookie is handled by app.login)."""
    for key in AUTH_KEYS:
        st.session_state[key] = None


def guard(min_role: Role, *, require_workspace: bool = True) -> PageContext:
    """Refuse the page unless a logged-in, active user with at least ``min_role`` is here.

    Call it first on every page. On refusal it shows a clear ``st.error`` and
    stops the script. It then draws the workspace picker; when
    ``require_workspace`` and there is no workspace yet, it explains how to
    load data and stops.
    """
    db = database()
    user = current_user(db)
    if user is None:
        st.error("You are not logged in. Open the NextBest start page and log in.")
        st.stop()
    if user.role < min_role:
        st.error(f"This page needs the {min_role.label} role; you are logged in as "
                 f"{user.username} ({user.role.label}). Ask an admin if you need access.")
        st.stop()
    workspace = workspace_picker(db)
    if workspace is None and require_workspace:
        st.info("No data is loaded yet. An analyst can load customer and sales files on the "
                "**Import data** page (or run `make run`, which loads the demo data on first start).")
        st.stop()
    config, settings_version = active_settings(db)
    return PageContext(db=db, actor=user.actor, user=user, workspace=workspace, config=config,
                       settings_version=settings_version)


def guard_page(file: str, *, require_workspace: bool = True) -> PageContext:
    """:func:`guard` with the role the page registry gives ``pages/<file>`` (one source of truth)."""
    return guard(page_spec(file).min_role, require_workspace=require_workspace)


def workspace_picker(db: Database) -> WorkspaceInfo | None:
    """The sidebar workspace selectbox (``key="workspace"``); returns the chosen workspace or None."""
    workspaces = list_workspaces(db)
    if not workspaces:
        return None
    names = [w.name for w in workspaces]
    # Widget state does not follow the user from page to page, so the choice is
    # also remembered under a plain key and written back before drawing.
    # A shared link names its workspace (?workspace=...); it wins over the session's choice once.
    linked = st.query_params.get(WORKSPACE_KEY)
    current = st.session_state.get(WORKSPACE_KEY)
    remembered = st.session_state.get(_WORKSPACE_CHOICE)
    first = default_workspace(workspaces).name
    st.session_state[WORKSPACE_KEY] = (linked if linked in names and linked != st.session_state.get(_LINK_SEEN)
                                       else current if current in names
                                       else remembered if remembered in names else first)
    if linked in names:
        st.session_state[_LINK_SEEN] = linked
    choice = st.sidebar.selectbox("Workspace", names, key=WORKSPACE_KEY,
                                  help="Each workspace is a separate data world (e.g. a shop, a bank).")
    st.session_state[_WORKSPACE_CHOICE] = choice
    return workspaces[names.index(choice)]


def format_money(amount: float | None, currency: str | WorkspaceInfo, *, decimals: int | None = None,
                 compact: bool = False) -> str:
    """``amount`` with thousands separators and the currency (``£1,234.50``, ``1,234.50 CHF``; ``–`` for None).

    With ``compact``, large amounts are shortened for KPI cards: ``£1.14M``, ``£45.2k``. A workspace
    without a known currency (``XXX``) shows plain numbers.
    """
    if isinstance(currency, WorkspaceInfo):
        decimals = currency.currency_decimals if decimals is None else decimals
        currency = currency.currency
    decimals = 2 if decimals is None else decimals
    if amount is None:
        return "–"
    sign = "-" if amount < 0 else ""
    size = abs(amount)
    body = f"{size:,.{decimals}f}"
    if compact:
        for scale, suffix, digits, threshold in ((1e9, "B", 2, 1e9), (1e6, "M", 2, 1e6), (1e3, "k", 1, 1e4)):
            if size >= threshold:
                body = f"{size / scale:,.{digits}f}{suffix}"
                break
    symbol = _SYMBOLS.get(currency.upper())
    if currency.upper() in ("", "XXX"):
        return f"{sign}{body}"
    return f"{sign}{symbol}{body}" if symbol else f"{sign}{body} {currency.upper()}"


def format_count(n: int | None) -> str:
    """An integer with thousands separators (``–`` for None)."""
    return "–" if n is None else f"{int(n):,}"


def kpi_row(cards: Sequence[KpiCard]) -> None:
    """A row of KPI cards (``st.metric`` in bordered columns)."""
    for column, card in zip(st.columns(len(cards)), cards):
        column.metric(card.label, card.value, delta=card.delta, help=card.help, border=True)


def show_error(exc: BaseException) -> None:
    """Show a NextBestError as ``st.error`` with its message; anything else is a bug and is re-raised."""
    if isinstance(exc, NextBestError):
        st.error(str(exc))
        return
    raise exc


def open_customer(customer_id: str) -> None:
    """Go to Customer 360 for ``customer_id`` (sets the query parameter and the session key)."""
    st.session_state[CUSTOMER_KEY] = str(customer_id)
    params = {CUSTOMER_KEY: str(customer_id)}
    if st.session_state.get(_WORKSPACE_CHOICE):
        params[WORKSPACE_KEY] = st.session_state[_WORKSPACE_CHOICE]
    st.switch_page(str(page_spec("customer.py").path), query_params=params)


def selected_customer_id() -> str | None:
    """The customer Customer 360 should show: ``?customer_id=`` first, else ``st.session_state["customer_id"]``."""
    value = st.query_params.get(CUSTOMER_KEY) or st.session_state.get(CUSTOMER_KEY)
    value = str(value).strip() if value is not None else ""
    return value or None
