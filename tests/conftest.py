"""Shared fixtures: a fresh, migrated SQLite file per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crm_core.auth import Actor, Role
from crm_core.store import Database

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
TEST_DATA = ROOT / "tests" / "data"


@pytest.fixture
def db(tmp_path) -> Database:
    """A real SQLite file, upgraded to the newest schema."""
    database = Database.open(f"sqlite:///{tmp_path / 'test.db'}")
    database.upgrade()
    yield database
    database.engine.dispose()


@pytest.fixture
def analyst() -> Actor:
    return Actor("ann", Role.ANALYST)


@pytest.fixture
def manager() -> Actor:
    return Actor("max", Role.MANAGER)


@pytest.fixture
def viewer() -> Actor:
    return Actor("val", Role.VIEWER)


@pytest.fixture
def admin() -> Actor:
    return Actor("ada", Role.ADMIN)


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip: a user's fresh clone has no ../shared."""
    if not (SHARED_DATA / "online_retail_II_2009-2010.parquet").exists():
        pytest.skip("../shared/data is absent (real-data tests run only next to the shared folder)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server on loopback; skipped without its binaries, except in CI where it must exist."""
    from tests.pg_server import PostgresServer, find_bin

    bindir = find_bin()
    if bindir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL server binaries are missing in CI: .ci/run should install 'postgresql'")
        pytest.skip("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    server = PostgresServer(bindir).start()
    yield server.url
    server.stop()
