"""What the AppTest suites share (tests/app, tests/pages, tests/offers_page, tests/ingest's page test).

- :func:`cheap_bcrypt`: real bcrypt at cost 4 while a test logs in dozens of times;
- :func:`build_template`: the UI sample database (tests/app/sample_db.py), optionally
  after pipeline runs, built once per session;
- :func:`database_copy`: a test's own copy of a template, with the app's environment
  (database URL, credentials file, cookie key file) pointing at it;
- :func:`app_test_of`: an AppTest of a page, logged in as the sample user of a role.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from streamlit.testing.v1 import AppTest

from app.shell import SESSION_TOKEN_VERSION
from crm_core.auth import Role, passwords
from crm_core.auth.bootstrap import ENV_CREDENTIALS_FILE
from crm_core.keys import ENV_COOKIE_KEY_FILE
from crm_core.store import Database
from crm_core.store.db import ENV_URL

ROOT = Path(__file__).resolve().parents[1]
APPTEST_TIMEOUT = 60  # the first Plotly import alone can take several seconds on a loaded machine
LATEST = None  # a run as of the last transaction date


@contextlib.contextmanager
def cheap_bcrypt(rounds: int = 4):
    """Hash (and dummy-check) with the lowest bcrypt cost: the hashes stay real bcrypt."""
    saved = passwords.BCRYPT_ROUNDS
    passwords.BCRYPT_ROUNDS = rounds
    passwords.dummy_hash.cache_clear()
    try:
        yield
    finally:
        passwords.BCRYPT_ROUNDS = saved
        passwords.dummy_hash.cache_clear()


def build_template(path: Path, *, runs: Sequence[dt.date | None] = ()) -> tuple[dict, list[int]]:
    """Build the UI sample at ``path``, then one pipeline run of ``shop`` per as-of date in ``runs``.

    Returns:
        ``(ids, run_ids)``: the sample's workspace ids and the runs' ids, in order.
    """
    from tests.app.sample_db import build_sample_database

    url = f"sqlite:///{path}"
    with cheap_bcrypt():
        ids = build_sample_database(url)
    run_ids: list[int] = []
    if runs:
        from crm_core.auth import Actor
        from crm_core.config import Config
        from crm_core.services.pipeline import run_pipeline
        from crm_core.views.workspaces import get_workspace

        db = Database.open(url)
        shop = get_workspace(db, "shop")
        for as_of in runs:
            run_ids.append(run_pipeline(db, shop, Actor("analyst", Role.ANALYST), Config(), as_of=as_of).run_id)
        db.engine.dispose()
    Database._open.pop(url, None)
    return ids, run_ids


@contextlib.contextmanager
def database_copy(template: Path, tmp_path: Path, monkeypatch) -> Iterator[tuple[str, Database]]:
    """``(url, Database)`` of a fresh copy of ``template``; the app's environment points at it."""
    path = tmp_path / "app.db"
    shutil.copyfile(template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv(ENV_URL, url)
    monkeypatch.setenv(ENV_CREDENTIALS_FILE, str(tmp_path / "demo_credentials.txt"))
    monkeypatch.setenv(ENV_COOKIE_KEY_FILE, str(tmp_path / "secrets" / "cookie_key"))
    db = Database.open(url)
    try:
        yield url, db
    finally:
        db.engine.dispose()
        Database._open.pop(url, None)


def log_in_session(at: AppTest, role: str | Role | None, username: str | None = None, *,
                   token_version: int = 0) -> AppTest:
    """Put ``at``'s session in the logged-in state of ``username`` (default: the role's name) with ``role``."""
    if role is None:
        return at
    name = role.label if isinstance(role, Role) else str(role)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username or name
    at.session_state["name"] = f"Test {username or name}"
    at.session_state["roles"] = [name]
    at.session_state["logout"] = False
    at.session_state[SESSION_TOKEN_VERSION] = token_version  # a fresh user's; logouts and resets advance it
    return at


def app_test_of(target: str, role: str | Role | None = "analyst", *, workspace: str | None = None,
                username: str | None = None) -> AppTest:
    """An AppTest (not yet run) of ``target`` (``app/main.py`` or ``pages/x.py``), logged in as ``role``."""
    at = AppTest.from_file(str(ROOT / target), default_timeout=APPTEST_TIMEOUT)
    if workspace is not None:
        at.session_state["workspace"] = workspace
    return log_in_session(at, role, username)
