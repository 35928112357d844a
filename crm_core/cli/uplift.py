"""``uplift``: compare every group of an experiment file with its control group, write JSON.

``python -m crm_core uplift --file F --group COL --control VALUE --converted COL [--revenue COL]
[--by COL] [--sheet NAME] --out FILE.json``

The file (CSV, TSV, XLSX, Parquet) is read with the importer's reader, so the encoding,
delimiter, header row and decimal comma are detected as for an import; nothing is stored.
The JSON is the statistics of :func:`crm_core.outcomes.experiment.analyse_experiment_file` (``control``, ``groups``,
with ``--by`` also ``controls``), keys sorted, floats rounded to 6 decimals: the same file
gives the same bytes. Exit codes: 0 written; 2 bad input, with one line naming the column,
line or value, and nothing written.
"""

from __future__ import annotations

import json
from pathlib import Path

from crm_core.files import write_atomically
from crm_core.outcomes.experiment import ExperimentFileError


def add_parser(sub) -> None:
    """Register the ``uplift`` command on the CLI's subparsers."""
    p = sub.add_parser("uplift", help="uplift of each experiment group over the control (JSON)",
                       description="Read an experiment file with one row per customer and compare every group "
                                   "with the control: conversion rate and revenue per customer, their "
                                   "differences with 95 % intervals (Newcombe for rates, Welch for revenue), "
                                   "and a plain-English verdict. Nothing is stored.")
    p.add_argument("--file", required=True, metavar="FILE", help="the experiment file (CSV, TSV, XLSX, Parquet)")
    p.add_argument("--group", required=True, metavar="COL", help="column saying which group a customer was in")
    p.add_argument("--control", required=True, metavar="VALUE", help="the control group's value in that column")
    p.add_argument("--converted", required=True, metavar="COL",
                   help="column saying whether the customer converted: 1/0, true/false, yes/no or y/n")
    p.add_argument("--revenue", metavar="COL",
                   help="column of revenue per customer (decimal comma or point; blank counts as 0)")
    p.add_argument("--by", metavar="COL",
                   help="compare within each value of this column (e.g. region), each group with its own control")
    p.add_argument("--sheet", metavar="NAME", help="Excel sheet to read (default: detected, usually the first)")
    p.add_argument("--out", required=True, metavar="FILE.json", help="where to write the result")
    p.set_defaults(handler=run)


def run(args) -> int:
    """Execute ``uplift``; returns 0 once the JSON is written (user errors raise NextBestError: exit 2)."""
    from crm_core.outcomes.experiment import analyse_experiment_file

    result = analyse_experiment_file(args.file, group=args.group, control=args.control, converted=args.converted,
                                     revenue=args.revenue, by=args.by, sheet=args.sheet)
    text = json.dumps(result.to_json_dict(), indent=2, sort_keys=True) + "\n"
    write_atomically(Path(args.out), text.encode("utf-8"), error=ExperimentFileError)
    where = f" within each {args.by!r}" if args.by else ""
    print(f"Wrote {args.out}: {len(result.groups)} comparison(s) with control {args.control!r}{where}.")
    for g in result.groups:
        label = f"{g.group}" + (f" [{args.by} = {g.by}]" if args.by else "")
        print(f"  {label}: {g.verdict}")
    return 0

