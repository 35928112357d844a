"""``report``: write the report of a pipeline run as a PDF executive report or an Excel workbook.

``python -m crm_core report --run ID --out FILE.pdf|FILE.xlsx [--db URL] [--user NAME]``

The PDF holds the key figures, the quality level, the segments, each exported campaign's
uplift with its 95 % interval and verdict, the funnel and the run's parameters; its charts
are drawn by a headless Chromium (where there is none the PDF says the charts are
unavailable and is written all the same). The workbook has one sheet per subject with
native Excel charts. Conversions are inferred from the sales after each export
(``--window`` days, ``--match`` product or family). Exit codes: 0 written, with one line
saying what; 2 for an error the user can act on (a bad suffix, an unknown run, an unknown
user), one line on stderr and nothing written.
"""

from __future__ import annotations

from crm_core.auth import SYSTEM_CLI
from crm_core.cli.common import acting_user, open_database


def add_parser(sub) -> None:
    """Register the ``report`` command on the CLI's subparsers."""
    p = sub.add_parser("report", help="write a run's report as PDF or Excel",
                       description="Write the report of a pipeline run: FILE.pdf (an executive report with charts) "
                                   "or FILE.xlsx (a workbook: summary, segments, offers, campaigns and their results, "
                                   "funnel, quality, audit summary). Nothing is changed.")
    p.add_argument("--run", required=True, type=int, metavar="ID", help="the pipeline run's id")
    p.add_argument("--out", required=True, metavar="FILE", help="where to write: FILE.pdf or FILE.xlsx")
    p.add_argument("--window", type=int, default=30, metavar="DAYS",
                   help="days after a campaign's export in which a purchase counts as a conversion (default 30)")
    p.add_argument("--match", choices=("product", "family"), default="product",
                   help="a conversion is a purchase of the offered product, or of any product of its family")
    p.add_argument("--db", metavar="URL", help="SQLAlchemy database URL (default: NEXTBEST_DATABASE_URL or "
                                               "data/nextbest.db)")
    p.add_argument("--user", default=SYSTEM_CLI.username, metavar="NAME",
                   help="acting user (default: the system principal 'cli')")
    p.set_defaults(handler=run)


def run(args) -> int:
    """Execute ``report``; returns 0 once the file is written (user errors raise NextBestError: exit 2)."""
    from crm_core.outcomes.attribution import AttributionRule
    from crm_core.reports.service import report_format, write_report

    kind = report_format(args.out)  # a bad suffix fails before the database is opened
    rule = AttributionRule.from_dict({"window_days": args.window, "match": args.match})
    db = open_database(args.db)
    path = write_report(db, acting_user(db, args.user), args.run, args.out, rule=rule)
    print(f"Wrote {path}: the {'PDF' if kind == 'pdf' else 'Excel'} report of run #{args.run} "
          f"({path.stat().st_size:,} bytes).")
    return 0
