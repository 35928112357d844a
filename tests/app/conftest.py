"""Fixtures for AppTest page tests: a small sample database and logged-in AppTests.

Reuse from any test in tests/app/::

    def test_my_page(app_test):
        at = app_test("pages/my_page.py", "analyst").run()
        assert not at.exception

``app_test(target, role)`` returns an AppTest (not yet run) of ``target``
(a path from the project root: ``app/main.py`` or ``pages/x.py``), already
logged in as the sample user of ``role`` (``None``: logged out), with a 60 s
timeout. The database behind it is ``app_db``: a copy of a sample built once
per test session (workspaces ``shop`` with customers, products, transactions
and an import batch, and an empty ``bank``), with one user per role whose
username is the role name and whose password is ``app_db.passwords[role]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from crm_core.store import Database
from tests.app.sample_db import PASSWORDS
from tests.apptest_support import (  # noqa: F401
    APPTEST_TIMEOUT,
    app_test_of,
    build_template,
    cheap_bcrypt,
    database_copy,
    log_in_session,
)


@dataclass(frozen=True)
class AppData:
    """The sample database of one test."""

    url: str
    db: Database
    shop_id: int
    bank_id: int
    passwords: dict  # role name (= username) -> password


@pytest.fixture
def fast_bcrypt():
    """Use bcrypt cost 4 during the test (the hashes stay real bcrypt)."""
    with cheap_bcrypt():
        yield


@pytest.fixture(scope="session")
def _sample_template(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("sample") / "template.db"
    ids, _ = build_template(path)
    return path, ids


@pytest.fixture
def app_db(_sample_template, tmp_path, monkeypatch, fast_bcrypt) -> AppData:
    """A fresh copy of the sample database, with NEXTBEST_DATABASE_URL, credentials and cookie paths set.

    Password hashing runs at bcrypt cost 4 meanwhile (see :func:`fast_bcrypt`).
    """
    template, ids = _sample_template
    with database_copy(template, tmp_path, monkeypatch) as (url, db):
        yield AppData(url, db, ids["shop_id"], ids["bank_id"], dict(PASSWORDS))


@pytest.fixture
def app_test(app_db):
    """Factory: ``app_test(target="app/main.py", role="analyst")`` -> a logged-in AppTest, not yet run."""

    def make(target: str = "app/main.py", role="analyst"):
        return app_test_of(target, role)

    return make
