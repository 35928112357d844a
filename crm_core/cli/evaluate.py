"""``evaluate``: offline evaluation of the offer engine against the popularity and repeat baselines.

With ``--cutoff``, prints the JSON of :func:`crm_core.recommend.evaluate.evaluate`:
``{"all": {"engine", "popularity", "repeat"}, "new": {"engine", "popularity"}}``
with ``customers, hit_rate, precision, recall, coverage`` each. With
``--cutoffs`` or ``--every``, the JSON of
:func:`crm_core.recommend.cutoffs.evaluate_cutoffs`: the same per cutoff
(``results``), then ``summary`` and ``ratio_summary``: mean, sd, min and max
over the cutoffs per track and method.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys


def add_parser(sub) -> None:
    """Register the ``evaluate`` subcommand on ``sub`` (argparse subparsers)."""
    p = sub.add_parser(
        "evaluate", help="offline evaluation of the offers against popularity and repeat baselines",
        description="Train the offer engine on the transactions dated on or before --cutoff, offer N products per "
                    "customer, and compare with what each customer bought in the next --horizon-days days: "
                    "hit-rate, precision, recall and coverage at N for the engine and the baselines, on the track "
                    "of all products and on the track of products new to the customer. The engine is calibrated on "
                    "the history before the cutoff, as a run is. With --cutoffs or --every, does so at each cutoff "
                    "and adds the mean and spread (sd, min, max) of every figure. Prints JSON.")
    p.add_argument("--transactions", required=True, metavar="FILE", help="transactions export (CSV, TSV, XLSX, Parquet)")
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--cutoff", type=_date, metavar="YYYY-MM-DD",
                      help="last day of the training data; the truth window starts the day after")
    when.add_argument("--cutoffs", type=_dates, metavar="DATE,DATE,...",
                      help="several cutoffs (YYYY-MM-DD, comma-separated): each is reported, then the mean and "
                           "spread of every figure")
    when.add_argument("--every", type=_step, metavar="DAYS",
                      help="cutoffs this far apart (60d, 8w or 60), back from the latest that leaves a full "
                           "window, while a full horizon of history precedes them")
    p.add_argument("--horizon-days", type=_positive, default=90, metavar="DAYS",
                   help="length of the truth window in days (default 90)")
    p.add_argument("--top-n", type=_positive, default=3, metavar="N", help="offers per customer (default 3)")
    p.add_argument("--customers", metavar="FILE", help="customers export")
    p.add_argument("--products", metavar="FILE", help="product catalog (families, margins, active flags)")
    p.add_argument("--holdings", metavar="FILE", help="product holdings (banking): an opened product is a hit")
    p.add_argument("--config", metavar="FILE", help="TOML config (sections [ingest], [segment], [recommend])")
    p.add_argument("--accept-rejects", action="store_true",
                   help="evaluate on the good rows even when more rows than the reject threshold (5%% by default) "
                        "are rejected (the rejected count is printed either way)")
    from crm_core.cli.import_cmd import add_reader_options

    add_reader_options(p)  # --mapping, --date-format, --sheet, shared with run and import
    p.set_defaults(handler=run)


def run(args) -> int:
    """Execute ``evaluate``: import the files into a temporary database, evaluate, print the JSON on stdout."""
    from crm_core.auth import SYSTEM_CLI
    from crm_core.cli.common import config_from, database_for
    from crm_core.ingest import ReaderOptions, import_file
    from crm_core.services.model_health import evaluate_offers, evaluate_offers_at_cutoffs
    from crm_core.views.workspaces import get_workspace

    config = config_from(args)
    options = ReaderOptions(mapping=args.mapping, date_format=args.date_format, sheet=args.sheet)
    with database_for(None, temporary_default=True) as db:
        for kind in ("products", "customers", "transactions", "holdings"):
            path = getattr(args, kind, None)
            if path:
                report = import_file(db, "default", path, kind=kind, actor=SYSTEM_CLI, options=options,
                                     config=config.ingest, accept_rejects=args.accept_rejects)
                if report.rows_rejected:
                    print(f"note: {path}: {report.rows_rejected:,} of {report.rows_read:,} rows were rejected "
                          "and are not part of the evaluation (see 'python -m crm_core import --issues-csv')",
                          file=sys.stderr)
        ws = get_workspace(db, "default")
        sources = dict(with_catalog=bool(args.products or args.holdings), with_holdings=bool(args.holdings))
        if args.cutoff is not None:
            result, _ = evaluate_offers(db, ws.id, actor=SYSTEM_CLI, config=config.recommend, cutoff=args.cutoff,
                                        horizon_days=args.horizon_days, top_n=args.top_n,
                                        with_customers=bool(args.customers), **sources)
        else:
            result = evaluate_offers_at_cutoffs(db, ws.id, actor=SYSTEM_CLI, config=config.recommend,
                                                cutoffs=args.cutoffs, every_days=args.every,
                                                horizon_days=args.horizon_days, top_n=args.top_n, **sources)
    json.dump(result, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")
    return 0


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None


def _dates(text: str) -> list[dt.date]:
    dates = [_date(part.strip()) for part in text.split(",") if part.strip()]
    if not dates:
        raise argparse.ArgumentTypeError("give at least one date: --cutoffs 2010-03-01,2010-05-01")
    return dates


def _step(text: str) -> int:
    """``60d``, ``8w`` or ``60`` as a number of days."""
    value = text.strip().lower()
    unit = 7 if value.endswith("w") else 1
    digits = value[:-1] if value[-1:] in ("d", "w") else value
    if not digits.isdigit() or int(digits) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a step between cutoffs: use days or weeks, e.g. 60d or 8w")
    return int(digits) * unit


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number of at least 1")
    return value
