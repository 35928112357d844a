"""One door to storage: an engine and session factory per database URL.

``Database.open(url)`` returns the same object for the same URL within a
process. Writes go through ``unit_of_work()``, which commits on success and
rolls back on any error; on SQLite it takes the write lock up front
(``BEGIN IMMEDIATE``) so that read-then-write races cannot double a decision.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from crm_core.errors import ConfigError
from crm_core.store.text_search import python_lower

_log = logging.getLogger(__name__)
DEFAULT_DB_PATH = Path(__file__).resolve().parents[2] / "data" / "nextbest.db"
ENV_URL = "NEXTBEST_DATABASE_URL"
_IMMEDIATE = "nextbest_immediate"
_CHECK_FOREIGN_KEYS = "nextbest_check_foreign_keys"
_DEFER_CHECKPOINT = "nextbest_defer_checkpoint"
WAL_AUTOCHECKPOINT_PAGES = 1000  # SQLite's default: a commit copies the log into the file past this many pages


def default_url() -> str:
    """The database URL from ``NEXTBEST_DATABASE_URL``, else the SQLite file under data/."""
    return os.environ.get(ENV_URL) or f"sqlite:///{DEFAULT_DB_PATH}"


class Database:
    """Engine, session factory and unit of work for one database URL."""

    _open: dict[str, "Database"] = {}
    _lock = threading.Lock()

    def __init__(self, url: str):
        try:
            parsed = make_url(url)
        except Exception as exc:  # sqlalchemy raises ArgumentError with a terse text
            raise ConfigError(f"Not a database URL: {url!r}. Use e.g. sqlite:///data/nextbest.db "
                              "or postgresql+psycopg2://user:pw@host/db") from exc
        self.url = url
        self._checkpoints: list[threading.Thread] = []  # log copies left to threads (bulk units of work)
        self._checkpoints_lock = threading.Lock()
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, future=True, **self._engine_args())
        if self.is_sqlite:
            _configure_sqlite(self.engine)
            # Disposing of the engine leaves the file whole, as it always did: the log's copy is finished
            # (its thread's connection, the last one, then folds the log in and removes it).
            event.listen(self.engine, "engine_disposed", lambda _engine: self.wait_for_checkpoints())
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def _engine_args(self) -> dict:
        if self.is_sqlite:
            return {"connect_args": {"timeout": 30, "check_same_thread": False}}
        return {"pool_pre_ping": True}

    @classmethod
    def open(cls, url: str | None = None) -> "Database":
        """The shared Database for ``url`` (default: :func:`default_url`)."""
        url = url or default_url()
        with cls._lock:
            db = cls._open.get(url)
            if db is None:
                db = cls._open[url] = cls(url)
            return db

    @classmethod
    def close_all(cls) -> None:
        """Dispose every engine (tests, forked processes)."""
        with cls._lock:
            for db in cls._open.values():
                db.engine.dispose()
            cls._open.clear()

    @contextlib.contextmanager
    def unit_of_work(self, *, check_foreign_keys: bool = True, bulk: bool = False) -> Iterator[Session]:
        """A session for writes: committed when the block ends, rolled back on error.

        ``check_foreign_keys=False`` (SQLite only) skips the per-row foreign key lookups for a
        bulk load whose keys all come from the same transaction (1.6 s of a 1M-line import).
        The writer lock is held throughout, so no parent row can vanish meanwhile; deletes
        inside such a unit of work would not cascade, so it must not delete anything.

        ``bulk=True`` (SQLite only; an import, a run's results) leaves copying the write-ahead
        log into the database file to a thread (:meth:`wait_for_checkpoints`) instead of the
        commit: gigabytes at a time, during which the caller can go on (reading, writing its
        output files). The commit itself is as durable as any other.
        """
        session = self._sessions()
        try:
            if self.is_sqlite:
                session.connection(execution_options={_IMMEDIATE: True, _CHECK_FOREIGN_KEYS: check_foreign_keys,
                                                      _DEFER_CHECKPOINT: bulk})
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        if bulk and self.is_sqlite:
            self._checkpoint_later()

    def _checkpoint_later(self) -> None:
        path = self.engine.url.database
        if not path or path == ":memory:":
            return
        thread = threading.Thread(target=_checkpoint, args=(path,), name="wal-checkpoint")  # not a daemon:
        thread.start()  # the process finishes the copy before it exits
        with self._checkpoints_lock:
            self._checkpoints = [t for t in self._checkpoints if t.is_alive()] + [thread]

    def wait_for_checkpoints(self) -> None:
        """Wait until the log copies that bulk units of work left to a thread are done."""
        with self._checkpoints_lock:
            pending, self._checkpoints = self._checkpoints, []
        for thread in pending:
            thread.join()

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads; never commits."""
        session = self._sessions()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def upgrade(self) -> None:
        """Create or upgrade the schema to the newest revision (keeps existing rows)."""
        from crm_core.store.migrate import upgrade

        upgrade(self)

    def schema_revisions(self) -> tuple[str | None, str]:
        """``(revision of this database, newest revision this code knows)``; reads only."""
        from crm_core.store.migrate import current_revision, head_revision

        return current_revision(self), head_revision()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy emit BEGIN itself, so a writer can ask for BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
        # SQLite's lower() folds ASCII only: searches use this one (see crm_core.store.text_search).
        dbapi_conn.create_function("nb_lower", 1, python_lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        options = conn.get_execution_options()
        # Set on every transaction (PRAGMA foreign_keys is a no-op inside one), so a pooled
        # connection never keeps a bulk load's setting.
        conn.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if options.get(_CHECK_FOREIGN_KEYS, True) else 'OFF'}")
        pages = 0 if options.get(_DEFER_CHECKPOINT) else WAL_AUTOCHECKPOINT_PAGES
        conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={pages}")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(_IMMEDIATE) else "BEGIN")


def _checkpoint(path: str) -> None:
    """Copy the write-ahead log of the SQLite file ``path`` into it (PASSIVE: never waits for a lock)."""
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except sqlite3.Error as exc:  # the next commit's automatic checkpoint copies what is left
        _log.info("background WAL checkpoint of %s not done: %s", path, exc)
