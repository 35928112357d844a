"""``setup``: create or upgrade the database, first logins, demo data on first start."""

from __future__ import annotations

import sys
from pathlib import Path

from crm_core.cli.common import add_db_options, open_database
from crm_core.services.run_lifecycle import mark_interrupted_runs


def add_parser(sub) -> None:
    p = sub.add_parser("setup", help="prepare the database, logins and demo data (run by 'make run')",
                       description="Create or upgrade the database schema; on first start create the admin "
                                   "and demo logins (passwords written to data/demo_credentials.txt, "
                                   "readable only by you) and load the demo shop and bank when the "
                                   "database has no workspace yet.")
    add_db_options(p)
    p.add_argument("--no-demo", action="store_true", help="do not load the demo worlds")
    p.add_argument("--credentials", metavar="FILE",
                   help="where first-start passwords are written (default: data/demo_credentials.txt, "
                        "or NEXTBEST_CREDENTIALS_FILE)")
    p.set_defaults(handler=run)


def run(args) -> int:
    """Execute ``setup``."""
    from crm_core.auth.bootstrap import bootstrap_users, cookie_key, default_cookie_key_path, default_credentials_path
    from crm_core.demo.load import load_demo_worlds
    from crm_core.views.workspaces import list_workspaces

    db = open_database(args.db)
    print("database ready (schema at the newest revision)", flush=True)
    interrupted = mark_interrupted_runs(db)
    if interrupted:
        print(f"{interrupted} run(s) left running by an earlier process marked as interrupted")
    cookie_key(default_cookie_key_path())
    credentials = Path(args.credentials) if args.credentials else default_credentials_path()
    created = bootstrap_users(db, credentials, interactive=sys.stdout.isatty())
    if created:
        print(f"created {len(created)} logins; passwords are in {credentials} (readable only by you)")
    if not args.no_demo and not list_workspaces(db):
        load_demo_worlds(db, progress=lambda msg: print(msg, flush=True))
    return 0
