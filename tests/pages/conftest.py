"""Fixtures of the issue-4 page tests: the AppTest sample database, plus a copy that already holds two runs.

The AppTest fixtures of tests/app/conftest.py (``app_db``, ``app_test``,
``fast_bcrypt``) are loaded from that file and re-exported here, so both
folders test against the same sample. ``runs_app`` is the same sample after
two pipeline runs of the ``shop`` workspace (as of ``FIRST_AS_OF`` and of the
last transaction date), built once per session and copied per test.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP_TESTS = ROOT / "tests" / "app"
FIRST_AS_OF = dt.date(2023, 4, 30)


def _load(name: str, path: Path):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


sample_db = _load("sample_db", APP_TESTS / "sample_db.py")
_app_fixtures = _load("tests_app_conftest", APP_TESTS / "conftest.py")
app_db = _app_fixtures.app_db
app_test = _app_fixtures.app_test
fast_bcrypt = _app_fixtures.fast_bcrypt
_sample_template = _app_fixtures._sample_template
log_in_session = _app_fixtures.log_in_session
APPTEST_TIMEOUT = _app_fixtures.APPTEST_TIMEOUT


@dataclass(frozen=True)
class RunsApp:
    """The sample database of one test, with its two runs."""

    url: str
    db: object  # crm_core.store.Database
    shop_id: int
    first_run: int  # as of FIRST_AS_OF
    last_run: int  # as of the last transaction date


@pytest.fixture(scope="session")
def _runs_template(tmp_path_factory):
    from crm_core.auth import Actor, Role
    from crm_core.config import Config
    from crm_core.pipeline import run_pipeline
    from crm_core.store import Database
    from crm_core.workspaces import get_workspace

    path = tmp_path_factory.mktemp("runs_sample") / "template.db"
    url = f"sqlite:///{path}"
    with _app_fixtures.cheap_bcrypt():
        ids = sample_db.build_sample_database(url)
    db = Database.open(url)
    shop = get_workspace(db, "shop")
    analyst = Actor("analyst", Role.ANALYST)
    first = run_pipeline(db, shop, analyst, Config(), as_of=FIRST_AS_OF).run_id
    last = run_pipeline(db, shop, analyst, Config()).run_id
    db.engine.dispose()
    Database._open.pop(url, None)
    return path, ids, first, last


@pytest.fixture
def runs_app(_runs_template, tmp_path, monkeypatch, fast_bcrypt) -> RunsApp:
    """A fresh copy of the two-run sample, with NEXTBEST_DATABASE_URL pointing at it."""
    from crm_core.auth.bootstrap import ENV_COOKIE_KEY_FILE, ENV_CREDENTIALS_FILE
    from crm_core.store import Database
    from crm_core.store.db import ENV_URL

    template, ids, first, last = _runs_template
    path = tmp_path / "app.db"
    shutil.copyfile(template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv(ENV_URL, url)
    monkeypatch.setenv(ENV_CREDENTIALS_FILE, str(tmp_path / "demo_credentials.txt"))
    monkeypatch.setenv(ENV_COOKIE_KEY_FILE, str(tmp_path / "secrets" / "cookie_key"))
    db = Database.open(url)
    yield RunsApp(url, db, ids["shop_id"], first, last)
    db.engine.dispose()


@pytest.fixture
def page_test(runs_app):
    """Factory: ``page_test("pages/segments.py", "viewer")`` -> a logged-in AppTest over ``runs_app``, not yet run."""
    from streamlit.testing.v1 import AppTest

    def make(target: str, role="analyst"):
        at = AppTest.from_file(str(ROOT / target), default_timeout=APPTEST_TIMEOUT)
        at.session_state["workspace"] = "shop"
        return log_in_session(at, role)

    return make
