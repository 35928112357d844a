"""Fixtures of the offers-page tests: hand-built offer and evaluation databases, and logged-in AppTests.

The AppTests reuse the UI sample database of tests/app (``sample_db``) and add
one real pipeline run over its ``shop`` workspace, built once per session and
copied for each test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_core.store import Database
from tests.apptest_support import LATEST, app_test_of, build_template, cheap_bcrypt, database_copy
from tests.offers_page.builders import build_evaluation_world, build_offer_run


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
    path = tmp_path_factory.mktemp("offers_sample") / "template.db"
    build_template(path, runs=(LATEST,))
    return path


@pytest.fixture
def page_db(_page_template, tmp_path, monkeypatch) -> Database:
    """A fresh copy of the page template, with NEXTBEST_DATABASE_URL and the credential paths set."""
    with cheap_bcrypt(), database_copy(_page_template, tmp_path, monkeypatch) as (_, db):
        yield db


@pytest.fixture
def offers_page(page_db):
    """Factory: ``offers_page("viewer")`` -> an AppTest of pages/offers.py on the ``shop`` workspace, not yet run."""

    def make(role: str = "analyst"):
        return app_test_of("pages/offers.py", role, workspace="shop")

    return make
