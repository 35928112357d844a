"""Unit of work on a real SQLite file: commit, rollback, pragmas, immediate locking."""

import contextlib
import threading
import time
from pathlib import Path

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


def _write_megabytes(s, megabytes: int) -> None:
    s.execute(text("CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, body TEXT)"))
    s.execute(text("INSERT INTO filler (body) SELECT printf('%.1000c', 'x') FROM "
                   "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows) SELECT i FROM n)"),
              {"rows": megabytes * 1000})


def test_a_commit_copies_the_log_into_the_file_itself(db):
    path = Path(db.engine.url.database)
    before = path.stat().st_size
    with db.unit_of_work() as s:
        _write_megabytes(s, 8)
    assert path.stat().st_size > before + 7_000_000  # copied at the commit


def test_a_bulk_commit_leaves_the_copy_to_a_thread_and_the_next_commit_copies_again(db, monkeypatch):
    """A bulk unit of work commits without copying its log (a thread does it); the setting does not
    stick to the pooled connection: the next ordinary commit copies at once again."""
    import crm_core.store.db as db_module

    release, real = threading.Event(), db_module._checkpoint
    threads = []

    def held_checkpoint(p):
        threads.append(threading.current_thread().name)
        release.wait(10)
        real(p)

    monkeypatch.setattr(db_module, "_checkpoint", held_checkpoint)
    path = Path(db.engine.url.database)
    before = path.stat().st_size
    with db.unit_of_work(bulk=True) as s:
        _write_megabytes(s, 8)
    assert path.stat().st_size < before + 1_000_000  # committed, not yet copied into the file
    with db.read() as s:  # ...and committed: every reader sees the rows
        assert s.execute(text("SELECT count(*) FROM filler")).scalar() == 8000
    release.set()
    db.wait_for_checkpoints()
    assert threads == ["wal-checkpoint"]
    assert path.stat().st_size > before + 7_000_000  # the thread copied it

    monkeypatch.setattr(db_module, "_checkpoint", lambda p: None)  # a bulk commit whose copy never happens...
    with db.unit_of_work(bulk=True) as s:
        _write_megabytes(s, 8)
    size = path.stat().st_size
    with db.unit_of_work() as s:  # ...is copied by the next ordinary commit on the same pooled connection
        s.execute(text("INSERT INTO filler (body) VALUES ('y')"))
    assert path.stat().st_size > size + 7_000_000


def test_the_file_alone_holds_a_bulk_commit_once_the_engine_is_disposed(tmp_path, monkeypatch):
    """Copying the file after disposing of the engine (what the test templates and a closed app do)
    keeps a bulk commit whose log copy was still running."""
    import shutil
    import sqlite3

    import crm_core.store.db as db_module
    from crm_core.store import Database

    real = db_module._checkpoint

    connected = threading.Event()

    def slow_checkpoint(p):  # busy in the file, as a long copy is: the engine's closing cannot fold the log in
        with contextlib.closing(sqlite3.connect(p, isolation_level=None)) as busy:
            busy.execute("BEGIN")
            busy.execute("SELECT count(*) FROM sqlite_master").fetchall()
            connected.set()
            time.sleep(0.5)
            busy.execute("COMMIT")
        real(p)

    monkeypatch.setattr(db_module, "_checkpoint", slow_checkpoint)
    url = f"sqlite:///{tmp_path / 'bulk.db'}"
    db = Database.open(url)
    with db.unit_of_work(bulk=True) as s:
        _write_megabytes(s, 8)
    assert connected.wait(5)
    Database.close_all()  # disposes of the engine: waits for the copy (and must not deadlock on its lock)
    shutil.copyfile(tmp_path / "bulk.db", tmp_path / "copy.db")
    with contextlib.closing(sqlite3.connect(tmp_path / "copy.db")) as copy:
        assert copy.execute("SELECT count(*) FROM filler").fetchone()[0] == 8000


def test_a_log_copy_that_cannot_run_is_logged_and_left_to_the_next_commit(tmp_path, caplog):
    import logging

    from crm_core.store.db import _checkpoint

    with caplog.at_level(logging.INFO, logger="crm_core.store.db"):
        _checkpoint(str(tmp_path / "no such folder" / "x.db"))  # cannot open: no exception escapes the thread
    assert "background WAL checkpoint" in caplog.text and "not done" in caplog.text
