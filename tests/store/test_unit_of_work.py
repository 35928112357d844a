"""Unit of work on a real SQLite file: commit, rollback, pragmas, immediate locking."""

import threading

import pytest
from sqlalchemy import func, select, text

from crm_core.store.models import Workspace


def test_commit_persists(db):
    with db.unit_of_work() as s:
        s.add(Workspace(name="shop"))
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Workspace)) == 1


def test_error_rolls_back_everything(db):
    with pytest.raises(RuntimeError):
        with db.unit_of_work() as s:
            s.add(Workspace(name="shop"))
            s.flush()
            raise RuntimeError("boom")
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Workspace)) == 0


def test_sqlite_pragmas(db):
    with db.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_unit_of_work_holds_the_write_lock_from_the_start(db):
    """A second writer cannot start while a unit of work is open (BEGIN IMMEDIATE)."""
    started, release = threading.Event(), threading.Event()

    def hold():
        with db.unit_of_work() as s:
            s.execute(text("SELECT 1"))  # a read only: deferred BEGIN would take no lock
            started.set()
            release.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    started.wait(5)
    import sqlite3
    raw = sqlite3.connect(db.engine.url.database, timeout=0.1, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        raw.execute("BEGIN IMMEDIATE")
    raw.close()
    release.set()
    t.join()
