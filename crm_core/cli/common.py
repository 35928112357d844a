"""Pieces shared by the commands: database, acting user, config."""

from __future__ import annotations

import argparse
import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from crm_core.auth import SYSTEM_CLI, Actor
from crm_core.auth.users import get_user
from crm_core.config import Config, load_config
from crm_core.errors import ConfigError, NotFound, PermissionDenied
from crm_core.store import Database, default_url


def add_db_options(parser: argparse.ArgumentParser, *, temporary_default: bool = False) -> None:
    """--db, --workspace and --user."""
    default = "a new temporary database, deleted at the end" if temporary_default \
        else "NEXTBEST_DATABASE_URL or data/nextbest.db"
    parser.add_argument("--db", metavar="URL", help=f"SQLAlchemy database URL (default: {default})")
    parser.add_argument("--workspace", default="default", metavar="NAME", help="workspace (default: default)")
    parser.add_argument("--user", default=SYSTEM_CLI.username, metavar="NAME",
                        help="acting user, recorded on every change (default: the system principal 'cli')")


def open_database(url: str | None, *, upgrade: bool = True) -> Database:
    """The Database for ``url`` (or the default), upgraded to the newest schema.

    With ``upgrade=False`` nothing is written (an auditor's copy stays as it was): a
    database at an older revision is refused with what to do instead.
    """
    db = Database.open(url or default_url())
    if upgrade:
        db.upgrade()
        return db
    found, newest = db.schema_revisions()
    if found != newest:
        raise ConfigError(f"The database is at schema revision {found or 'none'}, this NextBest expects {newest}: "
                          "upgrade a copy with 'python -m crm_core setup --db URL --no-demo' and check that.")
    return db


@contextlib.contextmanager
def database_for(url: str | None, *, temporary_default: bool = False) -> Iterator[Database]:
    """The Database for ``url``; without one and with ``temporary_default``, a new SQLite file that is
    deleted (with its folder) when the block ends, whatever happens in it."""
    if url is not None or not temporary_default:
        yield open_database(url)
        return
    folder = Path(tempfile.mkdtemp(prefix="nextbest-"))
    url = f"sqlite:///{folder / 'run.db'}"
    try:
        db = open_database(url)
        yield db
    finally:
        opened = Database._open.pop(url, None)
        if opened is not None:
            opened.engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def acting_user(db: Database, username: str) -> Actor:
    """The Actor for ``username``: the system principal, or an active user of the database."""
    if username == SYSTEM_CLI.username:
        return SYSTEM_CLI
    try:
        user = get_user(db, username)
    except NotFound:
        user = None
    if user is None or not user.is_active:
        raise PermissionDenied(f"No active user {username!r} in this database; use --user cli or an existing login.")
    return user.actor


def config_from(args) -> Config:
    """The Config from --config, or the defaults."""
    return load_config(getattr(args, "config", None))
