"""Command-line interface: ``python -m crm_core COMMAND``.

Commands: ``setup`` (prepare the database, logins and demo data), ``run``
(import files and run the pipeline, writing customers.csv, offers.csv and
run.json), ``import`` (import one file), ``evaluate`` (offline evaluation
of the offer engine against baselines), ``uplift`` (compare each group of an
experiment file with its control, writing JSON), ``export`` (export a campaign as
CSV or Excel), ``pitch`` (draft and save pitches for a run's offers), ``audit verify`` (check the
audit log's hash chain: exit 0 intact, 1 naming the first bad event), ``report`` (a run's report as PDF or
Excel), ``backup`` and ``restore`` (a consistent copy of the whole database, and putting one back after
checking it). ``python -m crm_core COMMAND --help``
documents each. Errors a user can act on are printed as one line on stderr
with exit code 2; never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from crm_core.errors import NextBestError
from crm_core.logs import configure_file_logging


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser with every subcommand."""
    from crm_core.cli import (audit_cmd, backup_cmd, evaluate, export_cmd, import_cmd, pitch_cmd, report_cmd, run,
                              setup, uplift)

    parser = argparse.ArgumentParser(
        prog="python -m crm_core",
        description="NextBest: customer segments and next best offers from sales exports.",
        epilog="Run 'python -m crm_core COMMAND --help' for the options of a command.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (setup, run, import_cmd, evaluate, uplift, export_cmd, pitch_cmd, audit_cmd, report_cmd,
                   backup_cmd):
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the command; returns the exit code."""
    args = build_parser().parse_args(argv)
    configure_file_logging()
    try:
        return int(args.handler(args) or 0)
    except NextBestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
