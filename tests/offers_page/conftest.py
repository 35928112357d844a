"""Fixtures of the offers-page tests: hand-built offer and evaluation databases, and logged-in AppTests.

The AppTests reuse the UI sample database of tests/app (``sample_db``) and add
one real pipeline run over its ``shop`` workspace, built once per session and
copied for each test.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from crm_core.auth import Actor, Role
from crm_core.auth.bootstrap import ENV_COOKIE_KEY_FILE, ENV_CREDENTIALS_FILE
from crm_core.store import Database
from crm_core.store.db import ENV_URL
from tests.offers_page.builders import build_evaluation_world, build_offer_run

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "app"))  # sample_db lives there (a folder without __init__.py)
from sample_db import build_sample_database  # noqa: E402

from tests.app.conftest import cheap_bcrypt, log_in_session  # noqa: E402

APPTEST_TIMEOUT = 60  # the first Plotly import alone can take several seconds


@pytest.fixture
def offer_run(db):
    """(db, OfferRunIds) of the hand-built run of :func:`tests.offers_page.builders.build_offer_run`."""
    return db, build_offer_run(db)


@pytest.fixture
def eval_world(db):
    """(db, workspace id) of :func:`tests.offers_page.builders.build_evaluation_world`."""
    return db, build_evaluation_world(db)


@pytest.fixture(scope="session")
def _page_template(tmp_path_factory) -> Path:
    """The tests/app sample database plus one succeeded pipeline run over ``shop``."""
    from crm_core.config import Config
    from crm_core.pipeline import run_pipeline
    from crm_core.workspaces import get_workspace

    path = tmp_path_factory.mktemp("offers_sample") / "template.db"
    url = f"sqlite:///{path}"
    with cheap_bcrypt():
        build_sample_database(url)
    db = Database.open(url)
    run_pipeline(db, get_workspace(db, "shop"), Actor("analyst", Role.ANALYST), Config())
    db.engine.dispose()
    Database._open.pop(url, None)
    return path


@pytest.fixture
def page_db(_page_template, tmp_path, monkeypatch) -> Database:
    """A fresh copy of the page template, with NEXTBEST_DATABASE_URL and the credential paths set."""
    path = tmp_path / "app.db"
    shutil.copyfile(_page_template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv(ENV_URL, url)
    monkeypatch.setenv(ENV_CREDENTIALS_FILE, str(tmp_path / "demo_credentials.txt"))
    monkeypatch.setenv(ENV_COOKIE_KEY_FILE, str(tmp_path / "secrets" / "cookie_key"))
    with cheap_bcrypt():
        db = Database.open(url)
        yield db
    db.engine.dispose()
    Database._open.pop(url, None)


@pytest.fixture
def offers_page(page_db):
    """Factory: ``offers_page("viewer")`` -> an AppTest of pages/offers.py on the ``shop`` workspace, not yet run."""

    def make(role: str = "analyst") -> AppTest:
        at = AppTest.from_file(str(ROOT / "pages" / "offers.py"), default_timeout=APPTEST_TIMEOUT)
        log_in_session(at, role)
        at.session_state["workspace"] = "shop"
        return at

    return make
