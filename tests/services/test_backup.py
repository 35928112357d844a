"""Backups while the app works, and restores that check the file first (SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import sqlite3
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from crm_core.auth import Actor, Role
from crm_core.config import OperationsConfig
from crm_core.errors import PermissionDenied, ValidationError
from crm_core.ingest.service import import_file
from crm_core.services.backup import (PROJECT_ROOT, backup_folder, backup_table, check_backup, ensure_daily_backup,
                                      make_backup, restore_backup)
from crm_core.store import Database
from crm_core.store.migrate import current_revision, head_revision, upgrade
from crm_core.store.models import AuditEvent, ImportBatch, Transaction, Workspace
from tests.app.sample_db import build_sample_database

ANALYST = Actor("ann", Role.ANALYST)
HEAD = "customer_id,invoice_id,invoice_date,product_id,quantity,unit_price\n"


def _sales(n: int, tag: str) -> bytes:
    return (HEAD + "".join(f"C{i % 500},{tag}{i},2024-02-{1 + i % 28:02d},P{i % 40},1,{1 + i % 9}.25\n"
                           for i in range(n))).encode()


def _rows(path_or_db) -> tuple[int, dict[int, int]]:
    """``(sales lines, {batch id: lines})`` of a backup file or a database."""
    if isinstance(path_or_db, Path):
        with contextlib.closing(sqlite3.connect(path_or_db)) as c:
            return (c.execute("SELECT count(*) FROM transactions").fetchone()[0],
                    dict(c.execute("SELECT batch_id, count(*) FROM transactions GROUP BY batch_id").fetchall()))
    with path_or_db.read() as s:
        return (s.scalar(select(func.count()).select_from(Transaction)),
                dict(s.execute(select(Transaction.batch_id, func.count()).group_by(Transaction.batch_id)).all()))


@pytest.fixture
def live(tmp_path):
    """The UI sample as 'the live database' (users, a shop with 402 sales lines, a bank)."""
    url = f"sqlite:///{tmp_path / 'live.db'}"
    build_sample_database(url)
    db = Database.open(url)
    yield db
    db.engine.dispose()
    Database._open.pop(url, None)


def _fresh(tmp_path, name: str) -> Database:
    return Database.open(f"sqlite:///{tmp_path / name}")


def test_a_backup_taken_in_the_middle_of_an_import_holds_none_of_it_and_one_after_holds_all(live, tmp_path, admin):
    before, _ = _rows(live)
    folder = tmp_path / "backups"
    taken: list[Path] = []

    def backup_now(fraction, message):
        if message == "saving the report":  # every line is in, the unit of work not committed yet
            taken.append(ensure_daily_backup(live, folder, keep=3))

    report = import_file(live, "shop", (_sales(6_000, "M"), "big.csv"), kind="transactions", actor=ANALYST,
                         progress=backup_now)
    assert report.rows_loaded == 6_000 and taken[0] is not None
    after = make_backup(live, admin, folder=folder)
    for backup, expected in ((taken[0], before), (after.path, before + 6_000)):
        target = _fresh(tmp_path, f"restored-{backup.stem}.db")
        restore_backup(target, admin, backup, folder=folder)
        lines, per_batch = _rows(target)
        assert lines == expected
        assert per_batch.get(report.batch_id, 0) in (0, 6_000)
        with target.read() as s:
            assert (s.get(ImportBatch, report.batch_id) is None) == (expected == before)


def test_backups_taken_while_imports_run_each_hold_every_import_whole_or_not_at_all(live, tmp_path, admin):
    files = [(_sales(3_000, f"T{k}-"), f"part{k}.csv") for k in range(3)]
    loaded: dict[int, int] = {}

    def importer():
        for data, name in files:
            report = import_file(live, "shop", (data, name), kind="transactions", actor=ANALYST)
            loaded[report.batch_id] = report.rows_loaded

    worker = threading.Thread(target=importer)
    worker.start()
    backups = []
    while worker.is_alive() or len(backups) < 2:
        backups.append(make_backup(live, admin, out=tmp_path / "many" / f"b{len(backups)}.db").path)
    worker.join()
    assert len(loaded) == 3
    for path in backups:
        _, per_batch = _rows(path)
        assert all(per_batch[batch] == n for batch, n in loaded.items() if batch in per_batch), path


def test_a_restore_replaces_everything_and_is_recorded_in_the_restored_log(live, tmp_path, admin):
    folder = tmp_path / "backups"
    backup = make_backup(live, admin, folder=folder)
    assert backup.counts == {"workspaces": 2, "customers": 40, "transactions": 402, "pipeline_runs": 0,
                             "audit_events": 4}
    with live.unit_of_work() as s:
        s.execute(text("DELETE FROM transactions"))
        s.add(Workspace(name="made later", currency="EUR"))
    info, replaced = restore_backup(live, admin, backup.path, folder=folder)
    assert _rows(live)[0] == 402 and info.revision == head_revision()
    with live.read() as s:
        assert sorted(s.scalars(select(Workspace.name))) == ["bank", "shop"]
        actions = list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions[-1] == "database.restored" and "database.backed_up" not in actions  # recorded after the copy
    assert _rows(replaced)[0] == 0  # the database it replaced was kept, as it was
    with contextlib.closing(sqlite3.connect(replaced)) as c:
        assert c.execute("SELECT count(*) FROM workspaces WHERE name = 'made later'").fetchone()[0] == 1


def test_backups_are_private_and_never_go_into_git(live, tmp_path, admin):
    folder = tmp_path / "private"
    info = make_backup(live, admin, folder=folder)
    assert info.path.stat().st_mode & 0o777 == 0o600 and folder.stat().st_mode & 0o777 == 0o700
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    with pytest.raises(ValidationError, match="can be read by other users \\(mode 755\\).*chmod 700"):
        make_backup(live, admin, folder=shared)
    assert list(shared.iterdir()) == []


def _newer(path: Path) -> Path:
    with contextlib.closing(sqlite3.connect(path)) as c:
        c.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
        c.commit()
    return path


def _not_nextbest(path: Path) -> Path:
    path.unlink()
    with contextlib.closing(sqlite3.connect(path)) as c:
        c.execute("CREATE TABLE notes (x)")
        c.commit()
    return path


def _text(path: Path) -> Path:
    path.write_text("customer_id,amount\n1,2\n")
    return path


def _cut(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


@pytest.mark.parametrize("spoil, said", [
    (_newer, "made by a newer NextBest \\(schema revision 0099_from_the_future\\); this one knows revisions up to"),
    (_not_nextbest, "is a SQLite database but not a NextBest one"),
    (_text, "is not a NextBest backup: it is neither a SQLite database nor a PostgreSQL dump"),
    (_cut, "damaged|cannot be read as a SQLite database"),
])
def test_a_file_that_cannot_be_restored_is_refused_before_anything_is_replaced(live, tmp_path, admin, spoil, said):
    folder = tmp_path / "backups"
    spoiled = spoil(shutil.copy(make_backup(live, admin, folder=folder).path, tmp_path / "candidate.db"))
    with live.unit_of_work() as s:
        s.execute(text("DELETE FROM transactions WHERE id % 2 = 0"))
    kept = _rows(live)
    before_files = sorted(p.name for p in folder.iterdir())
    with pytest.raises(ValidationError, match=said):
        restore_backup(live, admin, Path(spoiled), folder=folder)
    assert _rows(live) == kept
    assert sorted(p.name for p in folder.iterdir()) == before_files  # not even the copy of what it would replace


def test_a_backup_of_an_older_schema_is_restored_and_upgraded(tmp_path, admin):
    old = Database.open(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(old, "0006")
    with old.unit_of_work() as s:
        s.execute(text("INSERT INTO workspaces (name, currency, currency_decimals, timezone, kind, policy_name, "
                       "language, created_at) VALUES ('old shop', 'EUR', 2, 'UTC', 'retail', 'standard', 'en', "
                       "'2024-01-01')"))
    backup = make_backup(old, admin, folder=tmp_path / "b")
    assert backup.revision == "0006"
    target = _fresh(tmp_path, "new.db")
    restore_backup(target, admin, backup.path, folder=tmp_path / "b")
    assert current_revision(target) == head_revision()
    with target.read() as s:
        assert list(s.scalars(select(Workspace.name))) == ["old shop"]


def test_one_daily_backup_a_day_and_only_the_newest_are_kept(live, tmp_path, admin):
    folder = tmp_path / "daily"
    folder.mkdir(mode=0o700)
    for day in range(1, 6):
        (folder / f"live-daily-2020-01-0{day}.db").write_bytes(b"old")
    (folder / "live-20200101T000000Z.db").write_bytes(b"a manual backup")
    (folder / "other-daily-2020-01-01.db").write_bytes(b"another database's")
    first = ensure_daily_backup(live, folder, keep=3)
    assert first == folder / f"live-daily-{dt.date.today():%Y-%m-%d}.db"
    assert ensure_daily_backup(live, folder, keep=3) is None
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".db") == sorted(
        ["live-daily-2020-01-04.db", "live-daily-2020-01-05.db", first.name, "live-20200101T000000Z.db",
         "other-daily-2020-01-01.db"])
    table = backup_table(folder)
    assert table["file"].iloc[0] == first.name and table.set_index("file").loc[first.name, "daily"]
    assert check_backup(first).revision == head_revision()


def test_the_backup_folder_is_the_projects_unless_the_database_lives_elsewhere(live, tmp_path):
    assert backup_folder(live, OperationsConfig()) == tmp_path / "data" / "backups"
    assert backup_folder(live, OperationsConfig(backup_folder="/srv/b")) == Path("/srv/b")
    inside = Database(f"sqlite:///{PROJECT_ROOT / 'data' / 'nextbest.db'}")
    assert backup_folder(inside, OperationsConfig()) == PROJECT_ROOT / "data" / "backups"
    inside.engine.dispose()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ANALYST, Role.MANAGER])
def test_only_an_admin_backs_up_or_restores(live, tmp_path, admin, role):
    backup = make_backup(live, admin, folder=tmp_path / "b")
    with pytest.raises(PermissionDenied):
        make_backup(live, Actor("x", role), folder=tmp_path / "b")
    with pytest.raises(PermissionDenied):
        restore_backup(live, Actor("x", role), backup.path, folder=tmp_path / "b")


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture
def pg_target(postgres_url):
    """A second, empty database on the session's PostgreSQL server."""
    name = f"r_{uuid.uuid4().hex[:12]}"
    server = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with server.connect() as c:
        c.execute(text(f"CREATE DATABASE {name}"))
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    db = Database.open(url)
    yield db
    db.engine.dispose()
    Database._open.pop(url, None)
    with server.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    server.dispose()


@pytest.mark.postgres
def test_a_dump_taken_in_the_middle_of_an_import_holds_none_of_it_on_postgresql(pg_db, pg_target, tmp_path, admin):
    build_sample_database(pg_db.url)
    folder = tmp_path / "backups"
    taken: list[Path] = []
    report = import_file(pg_db, "shop", (_sales(2_000, "P"), "big.csv"), kind="transactions", actor=ANALYST,
                         progress=lambda f, m: taken.append(ensure_daily_backup(pg_db, folder, keep=3))
                         if m == "saving the report" else None)
    assert check_backup(taken[0]).kind == "postgresql"
    with pg_target.unit_of_work() as s:  # something to replace
        s.execute(text("CREATE TABLE leftover (x int)"))
    restore_backup(pg_target, admin, taken[0], folder=folder)
    assert _rows(pg_target) == (402, {1: 402}) and report.rows_loaded == 2_000
    after = make_backup(pg_db, admin, folder=folder)
    restore_backup(pg_target, admin, after.path, folder=folder)
    assert _rows(pg_target) == (2_402, {1: 402, report.batch_id: 2_000})
    with pg_target.read() as s:
        assert s.scalar(select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(1)) == "database.restored"
        assert s.execute(text("SELECT to_regclass('public.leftover')")).scalar() is None


@pytest.mark.postgres
def test_a_sqlite_backup_is_not_restored_into_postgresql(live, pg_db, tmp_path, admin):
    backup = make_backup(live, admin, folder=tmp_path / "b")
    with pytest.raises(ValidationError, match="is a sqlite backup and this database is postgresql"):
        restore_backup(pg_db, admin, backup.path, folder=tmp_path / "b")
