"""Backups of the whole database while the app runs, and restoring one after checking it.

- **A consistent copy.** SQLite: the online backup API copies every page in
  one step inside a read transaction, so the copy is the database as of one
  commit (an import in progress is either absent or whole); the copy is then
  switched to an ordinary rollback journal and checked (``quick_check``).
  PostgreSQL: ``pg_dump --format=custom`` (one snapshot).
- **Checked before anything is replaced.** :func:`check_backup` reads the
  file alone: a SQLite file or a PostgreSQL dump, with NextBest's tables, at a
  schema revision this code knows (a newer one is refused: upgrade NextBest
  first). An older revision is restored, then upgraded.
- **Replacing.** SQLite: the backup API again, from the file into the live
  database, under SQLite's own locks (other connections see the old or the new
  database, never a mix). PostgreSQL: the dump as SQL, run by ``psql`` in one
  transaction that first empties the ``public`` schema. Before either, the
  database being replaced is itself backed up (``<name>-before-restore-...``).
- **Private.** Backups hold customer data: files are 0600, the folder 0700
  (a folder others can read is refused) with a ``.gitignore`` of ``*``.

Backing up and restoring are admin actions (``Action.MANAGE_WORKSPACES``),
recorded in the audit log (a restore in the restored database); the daily
automatic backup (:func:`ensure_daily_backup`) is the system's and goes to the
server log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import hashlib
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import make_url

from crm_core.auth import Action, Actor, require
from crm_core.config import OperationsConfig
from crm_core.errors import ConfigError, ValidationError
from crm_core.store.audit_log import record_event

log = logging.getLogger(__name__)
PROJECT_ROOT = Path(__file__).resolve().parents[2]
SQLITE, POSTGRESQL = "sqlite", "postgresql"
SUFFIX = {SQLITE: ".db", POSTGRESQL: ".dump"}
NEXTBEST_TABLES = ("alembic_version", "workspaces", "users", "audit_events")
_MAGIC = {b"SQLite format 3\x00": SQLITE, b"PGDMP": POSTGRESQL}


@dataclass(frozen=True)
class BackupInfo:
    """A backup file as checked: its kind (sqlite or postgresql), schema revision and a few row counts (SQLite)."""

    path: Path
    kind: str
    revision: str
    size: int
    counts: dict


def database_kind(db) -> str:
    """``sqlite`` or ``postgresql`` (anything else cannot be backed up here)."""
    name = make_url(db.url).get_backend_name()
    if name not in SUFFIX:
        raise ConfigError(f"Backups are made of SQLite and PostgreSQL databases, not {name}.")
    return name


def backup_folder(db, operations: OperationsConfig) -> Path:
    """Where backups go: ``backup_folder`` as given when absolute, else taken from the project folder (or, for a
    SQLite file kept outside the project, from the folder that holds it)."""
    folder = Path(operations.backup_folder).expanduser()
    if folder.is_absolute():
        return folder
    home = PROJECT_ROOT
    if database_kind(db) == SQLITE:
        path = _sqlite_path(db)
        if not path.is_relative_to(PROJECT_ROOT):
            home = path.parent
    return home / folder


def make_backup(db, actor: Actor, *, out: Path | None = None, folder: Path | None = None) -> BackupInfo:
    """Back up the whole database to ``out`` (or a new, time-stamped file in ``folder``); returns it, checked.

    Raises:
        PermissionDenied; ValidationError (the file exists, the folder is not private); ConfigError
        (pg_dump missing or failing).
    """
    require(actor, Action.MANAGE_WORKSPACES)
    if out is None:
        if folder is None:
            raise ValidationError("Say where the backup goes: a file (--out) or the backup folder.")
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        out = private_folder(folder) / f"{database_label(db)}-{stamp}{SUFFIX[database_kind(db)]}"
    out = Path(out)
    if out.exists():
        raise ValidationError(f"{out} exists already; give a new file name (a backup never overwrites a file).")
    _write(db, out)
    info = check_backup(out)
    with db.unit_of_work() as s:
        record_event(s, actor=actor, action="database.backed_up", entity="database", entity_id=database_label(db),
                     after={"file": out.name, "bytes": info.size, "sha256": _sha256(out), "revision": info.revision})
    return info


def ensure_daily_backup(db, folder: Path, keep: int, *, today: dt.date | None = None) -> Path | None:
    """Today's automatic backup of ``db`` in ``folder``, unless there is one; keeps the newest ``keep`` of them.

    Args:
        today: the day the file is named after (default: the machine's local date).
    Returns:
        The new file, or None when today's exists already.
    """
    kind, label = database_kind(db), database_label(db)
    folder = private_folder(folder)
    target = folder / f"{label}-daily-{today or dt.date.today():%Y-%m-%d}{SUFFIX[kind]}"
    if target.exists():
        return None
    _write(db, target)
    daily = sorted(folder.glob(f"{label}-daily-????-??-??{SUFFIX[kind]}"), reverse=True)
    for old in daily[max(int(keep), 1):]:
        old.unlink(missing_ok=True)
    log.info("daily backup %s written (%d bytes); %d kept", target, target.stat().st_size, min(len(daily), keep))
    return target


def backup_table(folder: Path) -> pd.DataFrame:
    """The backup files in ``folder``, newest first: ``file, kind, daily, megabytes, modified`` (UTC), not opened."""
    found = [p for p in Path(folder).iterdir() if p.is_file() and p.suffix in SUFFIX.values()] \
        if Path(folder).is_dir() else []
    stats = [(p, p.stat()) for p in found]
    stats.sort(key=lambda item: item[1].st_mtime, reverse=True)
    return pd.DataFrame({
        "file": pd.array([p.name for p, _ in stats], dtype="string"),
        "kind": pd.array([SQLITE if p.suffix == SUFFIX[SQLITE] else POSTGRESQL for p, _ in stats], dtype="string"),
        "daily": pd.array(["-daily-" in p.name for p, _ in stats], dtype="bool"),
        "megabytes": pd.array([round(st.st_size / 1e6, 2) for _, st in stats], dtype="float64"),
        "modified": pd.to_datetime(pd.Series([st.st_mtime for _, st in stats], dtype="float64"), unit="s", utc=True),
    })


def check_backup(path: Path, *, for_db=None) -> BackupInfo:
    """Read ``path`` alone and say what it is; refuse what cannot be restored (into ``for_db`` when given).

    Raises:
        ValidationError: not a NextBest backup, damaged, from a newer NextBest, or of the other database kind.
    """
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"There is no file {path}.")
    with path.open("rb") as fh:
        head = fh.read(16)
    kind = next((k for magic, k in _MAGIC.items() if head.startswith(magic)), None)
    if kind is None:
        raise ValidationError(f"{path.name} is not a NextBest backup: it is neither a SQLite database nor a "
                              "PostgreSQL dump (pg_dump --format=custom).")
    revision, counts = _read_sqlite(path) if kind == SQLITE else (_read_dump(path), {})
    known = known_revisions()
    if revision not in known:
        raise ValidationError(f"{path.name} was made by a newer NextBest (schema revision {revision}); this one knows "
                              f"revisions up to {known[0]}. Upgrade NextBest, then restore it.")
    if for_db is not None and database_kind(for_db) != kind:
        raise ValidationError(f"{path.name} is a {kind} backup and this database is {database_kind(for_db)}: "
                              f"restore it into a {kind} database (--db).")
    return BackupInfo(path, kind, revision, path.stat().st_size, counts)


def restore_backup(db, actor: Actor, path: Path, *, folder: Path) -> tuple[BackupInfo, Path | None]:
    """Replace the whole database with backup ``path`` (checked first); the database replaced is backed up to
    ``folder`` first. Returns ``(the backup's info, the copy of what was replaced or None when it was empty)``.

    Raises:
        PermissionDenied; ValidationError (see :func:`check_backup`); ConfigError (a tool failed:
        nothing was replaced).
    """
    require(actor, Action.MANAGE_WORKSPACES)
    info = check_backup(path, for_db=db)
    before = None
    if _has_tables(db):
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        before = private_folder(folder) / f"{database_label(db)}-before-restore-{stamp}{SUFFIX[info.kind]}"
        _write(db, before)
    if info.kind == SQLITE:
        with contextlib.closing(sqlite3.connect(f"file:{info.path}?mode=ro", uri=True)) as src, \
                contextlib.closing(sqlite3.connect(_sqlite_path(db), timeout=60)) as dst:
            src.backup(dst)
    else:
        _psql_restore(db, info.path)
    db.engine.dispose()  # pooled connections may hold the old schema's statements
    db.upgrade()
    with db.unit_of_work() as s:
        record_event(s, actor=actor, action="database.restored", entity="database", entity_id=database_label(db),
                     after={"file": info.path.name, "sha256": _sha256(info.path), "revision": info.revision,
                            "replaced_copy": before.name if before else None})
    return info, before


def known_revisions() -> list[str]:
    """The schema revisions this code knows, newest first."""
    from alembic.script import ScriptDirectory

    from crm_core.store.migrate import alembic_config

    return [r.revision for r in ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()]


def database_label(db) -> str:
    """A file-name-safe name of the database: the SQLite file's stem or the PostgreSQL database's name."""
    name = _sqlite_path(db).stem if database_kind(db) == SQLITE else make_url(db.url).database or "postgres"
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name) or "nextbest"


def private_folder(folder: Path) -> Path:
    """``folder``, created 0700 when missing, with a ``.gitignore`` of ``*``; a folder others may read is refused."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = folder.stat().st_mode & 0o777
    if mode & 0o077:
        raise ValidationError(f"The backup folder {folder} can be read by other users (mode {mode:o}); backups hold "
                              f"customer data. Make it private (chmod 700 {folder}) or choose another folder.")
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# backups hold customer data: never in git\n*\n", encoding="utf-8")
    return folder


# --------------------------------------------------------------------------- the two kinds of database


def _write(db, target: Path) -> None:
    """Write the backup to a private temporary file next to ``target``, check it, then move it into place."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)  # mode 0600
    os.close(fd)
    try:
        if database_kind(db) == SQLITE:
            with contextlib.closing(sqlite3.connect(_sqlite_path(db), timeout=60)) as src, \
                    contextlib.closing(sqlite3.connect(tmp)) as dst:
                src.backup(dst)  # one step: every page as of one commit
                dst.execute("PRAGMA journal_mode=DELETE")
                if dst.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise ConfigError(f"The copy of {_sqlite_path(db)} does not pass SQLite's quick_check.")
        else:
            _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={tmp}",
                  f"--dbname={_conninfo(db)}"], db, "pg_dump")
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _read_sqlite(path: Path) -> tuple[str, dict]:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as c:
            if c.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise ValidationError(f"{path.name} is damaged (SQLite's quick_check fails); use another backup.")
            tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not set(NEXTBEST_TABLES) <= tables:
                raise ValidationError(f"{path.name} is a SQLite database but not a NextBest one (it lacks the "
                                      f"tables {', '.join(sorted(set(NEXTBEST_TABLES) - tables))}).")
            revision = c.execute("SELECT version_num FROM alembic_version").fetchone()
            counts = {t: c.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                      for t in ("workspaces", "customers", "transactions", "pipeline_runs", "audit_events")
                      if t in tables}
    except sqlite3.DatabaseError as exc:
        raise ValidationError(f"{path.name} cannot be read as a SQLite database ({exc}).") from None
    if revision is None:
        raise ValidationError(f"{path.name} has no schema revision: it is not a NextBest backup.")
    return revision[0], counts


def _read_dump(path: Path) -> str:
    try:
        toc = _run([_pg_tool("pg_restore"), "--list", str(path)], None, "pg_restore")
    except ConfigError as exc:
        raise ValidationError(f"{path.name} cannot be read as a PostgreSQL dump ({exc}).") from None
    missing = [t for t in NEXTBEST_TABLES if not re.search(rf"\bTABLE public {t}\b", toc)]
    if missing:
        raise ValidationError(f"{path.name} is a PostgreSQL dump but not of a NextBest database (it lacks the "
                              f"tables {', '.join(missing)}).")
    data = _run([_pg_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(path)], None,
                "pg_restore")
    found = re.search(r"COPY public\.alembic_version \(version_num\) FROM stdin;\n([^\n\\]+)\n", data)
    if found is None:
        raise ValidationError(f"{path.name} has no schema revision: it is not a NextBest backup.")
    return found.group(1).strip()


def _psql_restore(db, dump: Path) -> None:
    """The dump as SQL, run in one transaction after emptying ``public``: all of it replaces the data, or nothing."""
    with tempfile.TemporaryDirectory(prefix="nextbest-restore-") as work:
        script, wrapper = Path(work) / "dump.sql", Path(work) / "restore.sql"
        _run([_pg_tool("pg_restore"), "--no-owner", "--no-privileges", f"--file={script}", str(dump)], None,
             "pg_restore")
        wrapper.write_text("SET lock_timeout = '60s';\nDROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n"
                           f"\\i {script}\n", encoding="utf-8")
        _run([_pg_tool("psql"), "--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1",
              f"--file={wrapper}", f"--dbname={_conninfo(db)}"], db, "psql")


def _has_tables(db) -> bool:
    from sqlalchemy import inspect

    return "alembic_version" in inspect(db.engine).get_table_names()


def _sqlite_path(db) -> Path:
    name = make_url(db.url).database
    if not name or name == ":memory:":
        raise ConfigError("An in-memory SQLite database has no file to back up.")
    return Path(name).resolve()


def _conninfo(db) -> str:
    """The libpq URI of the database, without its password (given to the tools through PGPASSWORD)."""
    return make_url(db.url).set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _pg_tool(name: str) -> str:
    """Path of a PostgreSQL client tool: on PATH, else the newest under /usr/lib/postgresql/*/bin."""
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)),
                                        None)
    if found is None:
        raise ConfigError(f"{name} is not installed; backups of PostgreSQL need the PostgreSQL client tools "
                          "(apt-get install postgresql-client).")
    return found


def _run(cmd: list[str], db, tool: str) -> str:
    env = dict(os.environ)
    password = make_url(db.url).password if db is not None else None
    if password:
        env["PGPASSWORD"] = str(password)
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise ConfigError(f"{tool} failed (exit {done.returncode}): {done.stderr.strip()[-1500:]}")
    return done.stdout


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
