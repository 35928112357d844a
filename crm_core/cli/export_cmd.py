"""``export``: export a campaign as CSV (the mailing list) or Excel (the mailing list and the evidence pack).

``python -m crm_core export --campaign ID --out FILE.csv|FILE.xlsx [--db URL] [--user NAME]``

The first export of a campaign checks consent and do-not-contact again, draws
the holdout group, records the contact dates and marks the offers exported;
exporting it again writes the file again from the stored groups and changes
nothing (:mod:`crm_core.workflow.export`). Exit codes: 0 written, with one
line ``Exported N offers to M customers (K held out, E excluded: ...)``;
2 for an error the user can act on (a bad suffix, an unknown campaign, a role
that may not export), one line on stderr, nothing written or changed.
"""

from __future__ import annotations

from crm_core.cli.common import acting_user, add_db_options, open_database


def add_parser(sub) -> None:
    """Register the ``export`` command on the CLI's subparsers."""
    p = sub.add_parser("export", help="export a campaign as CSV or Excel",
                       description="Export a campaign to a file for the mailing tool: .csv writes the mailing "
                                   "list, .xlsx the mailing list and an evidence sheet (who submitted and approved "
                                   "each offer, the policy, the flags, the pitch). Customers who opted out or are "
                                   "do-not-contact are left out; the holdout group is kept aside.")
    p.add_argument("--campaign", required=True, type=int, metavar="ID", help="the campaign's id")
    p.add_argument("--out", required=True, metavar="FILE", help="where to write: FILE.csv or FILE.xlsx")
    add_db_options(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    """Execute ``export``; returns 0 once the file is written (user errors raise NextBestError: exit 2)."""
    from crm_core.workflow.export import export_campaign
    from crm_core.workflow.export_files import file_kind

    file_kind(args.out)  # a bad suffix fails before the database is opened
    db = open_database(args.db)
    result = export_campaign(db, acting_user(db, args.user), args.campaign, args.out)
    print(result.summary)
    return 0
