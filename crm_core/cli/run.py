"""``run``: import the given files, run the pipeline, write customers.csv, offers.csv, run.json.

With ``--inbox DIR`` (a scheduled run): import every new file of DIR into the database, file each
away under DIR/processed or DIR/rejected with its report, run the pipeline once when anything new
was loaded (:mod:`crm_core.services.inbox`); exit code 1 when a file was rejected.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from crm_core.cli.common import acting_user, add_db_options, config_from, database_for
from crm_core.errors import ValidationError

# Catalog and customers first, so that transactions and holdings find them.
_KIND_ORDER = ("products", "customers", "transactions", "holdings")


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="import files and run the whole pipeline",
                       description="Import the given files into --db/--workspace, run the pipeline "
                                   "(features, segments, offers, audit gate) and write DIR/customers.csv, "
                                   "DIR/offers.csv and DIR/run.json. With --inbox DIR instead of the files: "
                                   "import every new file of DIR (kind from a kind_ name prefix or the headers), "
                                   "move each to DIR/processed or DIR/rejected with its report, run the pipeline "
                                   "once; exit code 1 when a file was rejected.")
    p.add_argument("--transactions", metavar="FILE",
                   help="transactions export (CSV, TSV, XLSX, Parquet); required unless --inbox is given")
    p.add_argument("--inbox", metavar="DIR",
                   help="import every new file of DIR instead (a scheduled run); --db defaults to the app's "
                        "database here, --out is optional")
    p.add_argument("--customers", metavar="FILE", help="customers export")
    p.add_argument("--products", metavar="FILE", help="product catalog")
    p.add_argument("--holdings", metavar="FILE", help="product holdings (banking)")
    p.add_argument("--as-of", type=_date, metavar="YYYY-MM-DD",
                   help="transactions dated on or before this day count (default: the last transaction's date)")
    p.add_argument("--contact-date", type=_date, metavar="YYYY-MM-DD",
                   help="the day the offers will be used: consent, do-not-contact and the silence window are "
                        "judged as of this day (default: today; pin it to reproduce a run)")
    p.add_argument("--policy", metavar="NAME|FILE.toml",
                   help="gating policy: strict, standard (default), permissive, a custom one of the config's "
                        "[gate.policies], or a TOML file with one policy")
    p.add_argument("--config", metavar="FILE",
                   help="TOML config (sections [ingest], [segment], [recommend], [gate], [pitch], [pipeline]); "
                        "default: the settings saved in the database (Settings page), else the built-in defaults")
    p.add_argument("--out", metavar="DIR", help="folder for customers.csv, offers.csv, run.json "
                                                "(required unless --inbox is given)")
    p.add_argument("--accept-rejects", action="store_true",
                   help="load the good rows even when more rows than the threshold are rejected")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    add_db_options(p, temporary_default=True)
    from crm_core.cli.import_cmd import add_reader_options

    add_reader_options(p)
    p.set_defaults(handler=run)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None


def run(args) -> int:
    """Execute the ``run`` command (a temporary database, when --db is not given, is deleted at the end).

    With ``--inbox`` the default database is the app's (NEXTBEST_DATABASE_URL or data/nextbest.db): a
    scheduled run keeps what it imports.
    """
    inbox = getattr(args, "inbox", None)
    if inbox and any(getattr(args, kind) for kind in _KIND_ORDER):
        raise ValidationError("Give either --inbox DIR or the files (--transactions FILE ...), not both.")
    if not inbox and not args.transactions:
        raise ValidationError("Give --transactions FILE (and optionally --customers, --products, --holdings), or "
                              "--inbox DIR to import every new file of a folder.")
    if not inbox and not args.out:
        raise ValidationError("Give --out DIR: the folder for customers.csv, offers.csv and run.json.")
    with database_for(args.db, temporary_default=not inbox) as db:
        if getattr(args, "config", None):
            config, settings_version = config_from(args), None
        else:  # the settings an admin saved in this database, else the defaults
            from crm_core.services.settings_store import active_settings

            config, settings_version = active_settings(db)
        if inbox:
            return _run_inbox(db, args, config, settings_version)
        return _run(db, args, config, settings_version)


def _run(db, args, config, settings_version: int | None) -> int:
    from crm_core.cli.run_output import write_run_outputs
    from crm_core.ingest import ReaderOptions, import_file
    from crm_core.memory import release_freed
    from crm_core.services.pipeline import run_pipeline
    from crm_core.views.workspaces import get_workspace
    from crm_core.workflow.policies import resolve_policy

    actor = acting_user(db, args.user)
    say = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    options = ReaderOptions(mapping=args.mapping, date_format=args.date_format, sheet=args.sheet)

    imports, t0 = {}, time.perf_counter()
    for kind in _KIND_ORDER:
        path = getattr(args, kind)
        if not path:
            continue
        say(f"importing {kind}: {path}")
        report = import_file(db, args.workspace, path, kind=kind, actor=actor, options=options, config=config.ingest,
                             accept_rejects=args.accept_rejects)
        say(report.to_text())
        imports[kind] = report.summary()
        del report  # its issues, hundreds of thousands at ten million lines
    release_freed()  # what the imports freed, before the pipeline reads the lines
    import_seconds = time.perf_counter() - t0

    workspace = get_workspace(db, args.workspace)
    policy = resolve_policy(db, workspace.id, args.policy, config)
    result = run_pipeline(db, workspace, actor, config, as_of=args.as_of, contact_date=args.contact_date,
                          policy=policy, settings_version=settings_version,
                          progress=lambda fraction, message: say(message))
    tx = imports.get("transactions", {})
    meta = dict(result.meta)
    meta["stage_timings"] = {"import": round(import_seconds, 4), **meta["stage_timings"]}
    meta.update({"rows": {k: tx.get(k) for k in ("read", "loaded", "rejected")}, "imports": imports,
                 "customers": int(len(result.customers)), "workspace": workspace.name, "user": actor.username})
    out = write_run_outputs(args.out, result.customers, result.offers, meta)
    say(f"wrote {out}/customers.csv ({len(result.customers)} customers), offers.csv ({len(result.offers)} offers), run.json")
    return 0


def _run_inbox(db, args, config, settings_version: int | None) -> int:
    """The inbox mode: one line per file and for the run; 1 when a file was rejected or the run failed."""
    from crm_core.cli.run_output import write_run_outputs
    from crm_core.ingest import ReaderOptions
    from crm_core.services.inbox import process_inbox

    actor = acting_user(db, args.user)
    say = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    options = ReaderOptions(mapping=args.mapping, date_format=args.date_format, sheet=args.sheet)
    result = process_inbox(db, args.inbox, actor=actor, config=config, workspace=args.workspace, options=options,
                           accept_rejects=args.accept_rejects, settings_version=settings_version, as_of=args.as_of,
                           contact_date=args.contact_date, policy=args.policy, say=say)
    for f in result.files:
        print(f"{f.status:<9} {f.name} ({f.kind or 'unknown kind'}) -> {f.moved_to}")
    if result.run is not None:
        run = result.run
        print(f"run #{run.run_id} as of {run.as_of:%Y-%m-%d}: {len(run.customers):,} customers, "
              f"{len(run.offers):,} offers")
        if args.out:
            meta = {**run.meta, "customers": int(len(run.customers)), "workspace": result.workspace,
                    "user": actor.username, "imports": {f.name: f.report.summary() for f in result.files if f.report}}
            print(f"wrote {write_run_outputs(args.out, run.customers, run.offers, meta)}")
    elif result.run_error:
        print(f"error: the pipeline did not run: {result.run_error}", file=sys.stderr)
    else:
        print("nothing new was loaded: no pipeline run")
    if result.rejected:
        print(f"{len(result.rejected)} file(s) rejected: see the .report.txt beside each in "
              f"{Path(args.inbox) / 'rejected'}", file=sys.stderr)
    return 0 if result.ok else 1
