"""``import``: import one file into a workspace and print the report.

``python -m crm_core import --kind KIND FILE [--db URL] [--workspace NAME] [--user NAME]
[--accept-rejects] [--mapping FILE] [--date-format FMT] [--sheet NAME]``

Exit codes: 0 loaded or duplicate (already imported: nothing added); 2 bad input, with a
message naming what is missing and the options that fix it.
"""

from __future__ import annotations

import argparse
import sys

from crm_core.errors import NextBestError


def _mapping_file(path: str) -> dict:
    from crm_core.ingest import MappingError, load_mapping_file

    try:
        return load_mapping_file(path)
    except MappingError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_reader_options(parser: argparse.ArgumentParser) -> None:
    """The reader options shared by ``run``, ``import`` and ``evaluate``: --mapping, --date-format, --sheet."""
    from crm_core.ingest import DATE_FORMAT_CHOICES

    group = parser.add_argument_group("reading files (when detection is not enough)")
    group.add_argument("--mapping", type=_mapping_file, metavar="FILE",
                       help="JSON or TOML file mapping canonical fields to your column headers, e.g. "
                            '{"customer_id": "Kundennummer", "invoice_date": "Datum", "amount": "Betrag"}')
    group.add_argument("--date-format", metavar="FMT",
                       help="how dates are written when day and month cannot be told apart: "
                            + ", ".join(f"{k} = {v}" for k, v in DATE_FORMAT_CHOICES.items())
                            + ", or a strftime pattern such as %%d/%%m/%%Y")
    group.add_argument("--sheet", metavar="NAME", help="Excel sheet to read (default: the first with the needed columns)")


def add_parser(sub) -> None:
    """Register the ``import`` command on the CLI's subparsers."""
    from crm_core.cli.common import add_db_options
    from crm_core.ingest import KINDS

    p = sub.add_parser("import", help="import one file (CSV, TSV, XLSX, Parquet) into a workspace",
                       description="Read, map and validate one export and store it all or nothing, then print "
                                   "the report (rows read, loaded, rejected, warned, and why). Re-importing the "
                                   "same file adds nothing.")
    p.add_argument("--kind", required=True, choices=KINDS, help="what the file holds")
    p.add_argument("file", metavar="FILE", help="the export to import")
    p.add_argument("--accept-rejects", action="store_true",
                   help="load the good rows even when more rows than the reject threshold (5%% by default) "
                        "would be rejected")
    p.add_argument("--config", metavar="FILE", help="TOML config (the [ingest] section sets limits)")
    p.add_argument("--issues-csv", metavar="FILE", help="also write every rejected row and warning to this CSV")
    add_db_options(p)
    add_reader_options(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    """Execute ``import``; returns the exit code (0 loaded or duplicate, 2 bad input)."""
    from crm_core.cli.common import acting_user, config_from, open_database
    from crm_core.ingest import ReaderOptions, RejectThresholdExceeded, import_file

    try:
        config = config_from(args)
        db = open_database(args.db)
        actor = acting_user(db, args.user)
        options = ReaderOptions(mapping=args.mapping, date_format=args.date_format, sheet=args.sheet)
        report = import_file(db, args.workspace, args.file, kind=args.kind, actor=actor, options=options,
                             config=config.ingest, accept_rejects=args.accept_rejects)
    except RejectThresholdExceeded as exc:
        if exc.report is not None:
            print(exc.report.to_text(), file=sys.stderr)
            _write_issues(args, exc.report)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except NextBestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.to_text())
    _write_issues(args, report)
    return 0


def _write_issues(args, report) -> None:
    path = getattr(args, "issues_csv", None)
    if path:
        with open(path, "wb") as fh:
            fh.write(report.issues_csv())
