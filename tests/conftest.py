"""Shared fixtures: a fresh, migrated SQLite file per test."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from crm_core.auth import Actor, Role
from crm_core.store import Database

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
TEST_DATA = ROOT / "tests" / "data"

# The audit chain's key lives outside the database; the tests (and the apps and commands they start)
# share one key of their own instead of the developer's data/secrets/audit_key.
_TEST_HOME = Path(tempfile.mkdtemp(prefix="nextbest-tests-"))
os.environ.setdefault("NEXTBEST_AUDIT_KEY_FILE", str(_TEST_HOME / "keys" / "audit_key"))
os.environ.setdefault("NEXTBEST_LOG_DIR", str(_TEST_HOME / "logs"))  # and their log file


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
    """../shared/data, or skip: a user's fresh clone has no ../shared (CI has it: there its absence fails)."""
    if not (SHARED_DATA / "online_retail_II_2009-2010.parquet").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("../shared/data is missing in CI, where the real-data tests must run")
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


@pytest.fixture
def pg_db(postgres_url):
    """A fresh, migrated database of its own on the session's PostgreSQL server."""
    import uuid

    from sqlalchemy import create_engine, text

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name}"))
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    database = Database.open(url)
    database.upgrade()
    yield database
    database.engine.dispose()
    Database._open.pop(url, None)
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()
