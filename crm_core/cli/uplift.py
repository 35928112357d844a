"""``uplift``: compare every group of an experiment file with its control group, write JSON.

``python -m crm_core uplift --file F --group COL --control VALUE --converted COL [--revenue COL]
[--by COL] [--sheet NAME] --out FILE.json``

The file (CSV, TSV, XLSX, Parquet) is read with the importer's reader, so the encoding,
delimiter, header row and decimal comma are detected as for an import; nothing is stored.
The JSON is the statistics of :func:`crm_core.stats.compare_groups` (``control``, ``groups``,
with ``--by`` also ``controls``), keys sorted, floats rounded to 6 decimals: the same file
gives the same bytes. Exit codes: 0 written; 2 bad input, with one line naming the column,
line or value, and nothing written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from crm_core.errors import NextBestError


class ExperimentFileError(NextBestError):
    """The experiment file cannot be analysed as given (a malformed line, an unwritable output)."""


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
    from crm_core.stats import UpliftInputError, compare_groups

    frame, name = read_experiment(args.file, revenue=args.revenue, sheet=args.sheet)
    try:
        result = compare_groups(frame, group=args.group, control=args.control, converted=args.converted,
                                revenue=args.revenue, by=args.by)
    except UpliftInputError as exc:
        raise type(exc)(f"{name}: {exc}") from None
    text = json.dumps(result.to_json_dict(), indent=2, sort_keys=True) + "\n"
    _write_atomically(Path(args.out), text.encode("utf-8"))
    where = f" within each {args.by!r}" if args.by else ""
    print(f"Wrote {args.out}: {len(result.groups)} comparison(s) with control {args.control!r}{where}.")
    for g in result.groups:
        label = f"{g.group}" + (f" [{args.by} = {g.by}]" if args.by else "")
        print(f"  {label}: {g.verdict}")
    return 0


def read_experiment(path: str, *, revenue: str | None = None, sheet: str | None = None):
    """``(frame, file name)``: the file's cells as text indexed by source line, revenue as float.

    Revenue is parsed like an import's amounts (decimal comma or point detected from the
    values, thousands separators and currency signs allowed); blank stays NaN.

    Raises:
        ImportFailed subclasses from the reader (missing, empty or unreadable file);
        ExperimentFileError: a line the parser could not split into the header's columns;
        UnreadableValue: a revenue cell that is not a number (naming its line).
    """
    from crm_core.ingest import ReaderOptions, read_table
    from crm_core.ingest.numbers import canonical_numbers, detect_number_format, to_float
    from crm_core.stats import UnreadableValue

    parsed = read_table(path, kind="outcomes", options=ReaderOptions(sheet=sheet))
    name = parsed.source_name
    if len(parsed.parse_rejects):
        first = parsed.parse_rejects.iloc[0]
        raise ExperimentFileError(f"{name}: line {first['line']} has {first['value']}; every customer must be "
                                  f"analysed, so fix that line ({len(parsed.parse_rejects)} line(s) like it).")
    frame = parsed.frame.copy()
    if revenue is not None and revenue in frame.columns:
        values = frame[revenue]
        fmt = detect_number_format([values], parsed.format.get("delimiter"))
        canonical, bad = canonical_numbers(values, fmt)
        if bad.any():
            line = bad[bad].index[0]
            raise UnreadableValue(f"{name}: line {line}: column {revenue!r} value {values.loc[line]!r} is not a "
                                  f"number ({int(bad.sum())} row(s) like it); write amounts like 12.50 or 12,50.")
        frame[revenue] = to_float(canonical)
    return frame, name


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, so a failure leaves no half-written JSON."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ExperimentFileError(f"Cannot write {path}: {exc.strerror or exc}. Choose another --out path.") from None
