"""``backup`` and ``restore``: a consistent copy of the whole database while the app runs, and putting one back.

``python -m crm_core backup [--db URL] [--out FILE]`` writes a SQLite copy (online
backup API) or a PostgreSQL dump (``pg_dump --format=custom``); without ``--out``
it goes to the backup folder (``[operations] backup_folder`` of the saved
settings, default data/backups). The file is 0600: it holds customer data.

``python -m crm_core restore --from FILE [--db URL] [--yes]`` checks the file (a
NextBest backup of the same kind of database, at a schema revision this code
knows) before replacing anything, saves the database it replaces to the backup
folder, restores, and upgrades an older schema. Without ``--yes`` it asks on a
terminal and refuses otherwise.

Exit codes: 0 done; 1 a restore not confirmed (nothing replaced); 2 an error
the user can act on (one line on stderr, nothing replaced).
"""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from crm_core.auth import SYSTEM_CLI
from crm_core.errors import ValidationError

NOT_CONFIRMED = 1


def add_parser(sub) -> None:
    """Register the ``backup`` and ``restore`` commands on the CLI's subparsers."""
    b = sub.add_parser("backup", help="copy the whole database to a file, while the app runs",
                       description="Write a consistent copy of the database: SQLite through its online backup API, "
                                   "PostgreSQL through pg_dump. The file is readable by you only.")
    b.add_argument("--out", metavar="FILE", help="the backup file to write (default: a new file in the backup "
                                                 "folder, [operations] backup_folder)")
    _common(b)
    b.set_defaults(handler=run_backup)
    r = sub.add_parser("restore", help="replace the whole database with a backup, after checking it",
                       description="Check FILE (a NextBest backup, same kind of database, a schema revision this "
                                   "NextBest knows), save the database it replaces to the backup folder, then "
                                   "replace it and upgrade an older schema.")
    r.add_argument("--from", dest="source", required=True, metavar="FILE", help="the backup file to restore")
    r.add_argument("--yes", action="store_true", help="do not ask before replacing the database")
    _common(r)
    r.set_defaults(handler=run_restore)


def _common(p) -> None:
    p.add_argument("--db", metavar="URL", help="SQLAlchemy database URL (default: NEXTBEST_DATABASE_URL or "
                                               "data/nextbest.db)")
    p.add_argument("--user", default=SYSTEM_CLI.username, metavar="NAME",
                   help="acting admin, recorded in the audit log (default: the system principal 'cli')")


def run_backup(args) -> int:
    """Execute ``backup``; prints the file, its size and schema revision."""
    from crm_core.cli.common import acting_user
    from crm_core.services.backup import make_backup

    db, folder = _database(args.db)
    info = make_backup(db, acting_user(db, args.user), out=Path(args.out) if args.out else None, folder=folder)
    print(f"Backed up {_shown(db.url)} to {info.path} ({info.size:,} bytes, {info.kind}, schema revision "
          f"{info.revision}{_counts(info.counts)}).")
    return 0


def run_restore(args) -> int:
    """Execute ``restore``; returns 0 restored, 1 not confirmed."""
    from crm_core.cli.common import acting_user
    from crm_core.services.backup import check_backup, restore_backup

    db, folder = _database(args.db)
    actor = acting_user(db, args.user)
    info = check_backup(Path(args.source), for_db=db)
    print(f"{info.path.name}: a NextBest {info.kind} backup at schema revision {info.revision}{_counts(info.counts)}.")
    if not args.yes:
        if not sys.stdin.isatty():
            raise ValidationError("restore replaces the whole database: add --yes to confirm. Nothing was replaced.")
        answer = input(f"Replace everything in {_shown(db.url)} with it? Type restore to go on: ")
        if answer.strip() != "restore":
            print("Nothing was replaced.")
            return NOT_CONFIRMED
    _, saved = restore_backup(db, actor, info.path, folder=folder)
    kept = f" The database it replaced was saved as {saved}." if saved else ""
    print(f"Restored {_shown(db.url)} from {info.path.name}.{kept}")
    return 0


def _database(url: str | None):
    """The Database (not upgraded: a backup copies it as it is) and the backup folder its settings name."""
    from sqlalchemy.exc import SQLAlchemyError

    from crm_core.config import Config
    from crm_core.errors import ConfigError
    from crm_core.services.backup import backup_folder
    from crm_core.services.settings_store import active_settings
    from crm_core.store import Database, default_url

    db = Database.open(url or default_url())
    try:
        config = active_settings(db)[0]
    except (ConfigError, SQLAlchemyError):  # an empty database, or saved settings that no longer read
        config = Config()
    return db, backup_folder(db, config.operations)


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _counts(counts: dict) -> str:
    return "" if not counts else " (" + ", ".join(f"{n:,} {name.replace('_', ' ')}" for name, n in counts.items()) + ")"
