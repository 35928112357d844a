"""Fixtures for AppTest page tests: a small sample database and logged-in AppTests.

Reuse from any test in tests/app/::

    def test_my_page(app_test):
        at = app_test("pages/my_page.py", "analyst").run()
        assert not at.exception

``app_test(target, role)`` returns an AppTest (not yet run) of ``target``
(a path from the project root: ``app/main.py`` or ``pages/x.py``), already
logged in as the sample user of ``role`` (``None``: logged out), with a 30 s
timeout. The database behind it is ``app_db``: a copy of a sample built once
per test session (workspaces ``shop`` with customers, products, transactions
and an import batch, and an empty ``bank``), with one user per role whose
username is the role name and whose password is ``app_db.passwords[role]``.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from sample_db import PASSWORDS, build_sample_database  # tests/app is on sys.path (rootdir conftest mode)
from streamlit.testing.v1 import AppTest

from crm_core.auth import Role, passwords
from crm_core.auth.bootstrap import ENV_COOKIE_KEY_FILE, ENV_CREDENTIALS_FILE
from crm_core.store import Database
from crm_core.store.db import ENV_URL

ROOT = Path(__file__).resolve().parents[2]
APPTEST_TIMEOUT = 30  # the first Plotly import alone can take several seconds


@dataclass(frozen=True)
class AppData:
    """The sample database of one test."""

    url: str
    db: Database
    shop_id: int
    bank_id: int
    passwords: dict  # role name (= username) -> password


@contextlib.contextmanager
def cheap_bcrypt(rounds: int = 4):
    """Hash (and dummy-check) with the lowest bcrypt cost: tests log in dozens of times."""
    saved = passwords.BCRYPT_ROUNDS
    passwords.BCRYPT_ROUNDS = rounds
    passwords.dummy_hash.cache_clear()
    try:
        yield
    finally:
        passwords.BCRYPT_ROUNDS = saved
        passwords.dummy_hash.cache_clear()


@pytest.fixture
def fast_bcrypt():
    """Use bcrypt cost 4 during the test (the hashes stay real bcrypt)."""
    with cheap_bcrypt():
        yield


@pytest.fixture(scope="session")
def _sample_template(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("sample") / "template.db"
    with cheap_bcrypt():
        ids = build_sample_database(f"sqlite:///{path}")
    return path, ids


@pytest.fixture
def app_db(_sample_template, tmp_path, monkeypatch, fast_bcrypt) -> AppData:
    """A fresh copy of the sample database, with NEXTBEST_DATABASE_URL, credentials and cookie paths set.

    Password hashing runs at bcrypt cost 4 meanwhile (see :func:`fast_bcrypt`).
    """
    template, ids = _sample_template
    path = tmp_path / "app.db"
    shutil.copyfile(template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv(ENV_URL, url)
    monkeypatch.setenv(ENV_CREDENTIALS_FILE, str(tmp_path / "demo_credentials.txt"))
    monkeypatch.setenv(ENV_COOKIE_KEY_FILE, str(tmp_path / "secrets" / "cookie_key"))
    db = Database.open(url)
    yield AppData(url, db, ids["shop_id"], ids["bank_id"], dict(PASSWORDS))
    db.engine.dispose()


def log_in_session(at: AppTest, role: str | Role | None) -> AppTest:
    """Put ``at``'s session in the logged-in state of the sample user of ``role`` (None: logged out)."""
    if role is None:
        return at
    name = role.label if isinstance(role, Role) else str(role)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = name
    at.session_state["name"] = f"Test {name}"
    at.session_state["roles"] = [name]
    at.session_state["logout"] = False
    return at


@pytest.fixture
def app_test(app_db):
    """Factory: ``app_test(target="app/main.py", role="analyst")`` -> a logged-in AppTest, not yet run."""

    def make(target: str = "app/main.py", role: str | Role | None = "analyst") -> AppTest:
        at = AppTest.from_file(str(ROOT / target), default_timeout=APPTEST_TIMEOUT)
        return log_in_session(at, role)

    return make
