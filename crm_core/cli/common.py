"""Pieces shared by the commands: database, acting user, config."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from sqlalchemy import select

from crm_core.auth import SYSTEM_CLI, Actor
from crm_core.config import Config, load_config
from crm_core.errors import PermissionDenied
from crm_core.store import Database, default_url
from crm_core.store.models import User


def add_db_options(parser: argparse.ArgumentParser, *, temporary_default: bool = False) -> None:
    """--db, --workspace and --user."""
    default = "a new temporary database" if temporary_default else "NEXTBEST_DATABASE_URL or data/nextbest.db"
    parser.add_argument("--db", metavar="URL", help=f"SQLAlchemy database URL (default: {default})")
    parser.add_argument("--workspace", default="default", metavar="NAME", help="workspace (default: default)")
    parser.add_argument("--user", default=SYSTEM_CLI.username, metavar="NAME",
                        help="acting user, recorded on every change (default: the system principal 'cli')")


def open_database(url: str | None, *, temporary_default: bool = False) -> Database:
    """The Database for ``url`` (or the default / a temporary file), upgraded to the newest schema."""
    if url is None and temporary_default:
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='nextbest-')) / 'run.db'}"
    db = Database.open(url or default_url())
    db.upgrade()
    return db


def acting_user(db: Database, username: str) -> Actor:
    """The Actor for ``username``: the system principal, or an active user of the database."""
    if username == SYSTEM_CLI.username:
        return SYSTEM_CLI
    with db.read() as s:
        user = s.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active:
        raise PermissionDenied(f"No active user {username!r} in this database; use --user cli or an existing login.")
    return Actor(user.username, user.role)


def config_from(args) -> Config:
    """The Config from --config, or the defaults."""
    return load_config(getattr(args, "config", None))
