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
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.apptest_support import LATEST, app_test_of, build_template, database_copy

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


_app_fixtures = _load("tests_app_conftest", APP_TESTS / "conftest.py")
app_db = _app_fixtures.app_db
app_test = _app_fixtures.app_test
fast_bcrypt = _app_fixtures.fast_bcrypt
_sample_template = _app_fixtures._sample_template


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
    path = tmp_path_factory.mktemp("runs_sample") / "template.db"
    ids, (first, last) = build_template(path, runs=(FIRST_AS_OF, LATEST))
    return path, ids, first, last


@pytest.fixture
def runs_app(_runs_template, tmp_path, monkeypatch, fast_bcrypt) -> RunsApp:
    """A fresh copy of the two-run sample, with NEXTBEST_DATABASE_URL pointing at it."""
    template, ids, first, last = _runs_template
    with database_copy(template, tmp_path, monkeypatch) as (url, db):
        yield RunsApp(url, db, ids["shop_id"], first, last)


@pytest.fixture
def page_test(runs_app):
    """Factory: ``page_test("pages/segments.py", "viewer")`` -> a logged-in AppTest over ``runs_app``, not yet run."""

    def make(target: str, role="analyst"):
        return app_test_of(target, role, workspace="shop")

    return make
