"""Any experiment file (an email tool's A/B export): read it and compare every group with its control.

Nothing is stored, so no role is needed: the analysis is the statistics of
:func:`crm_core.stats.compare_groups` on the file's rows, one row per customer.
"""

from __future__ import annotations

from crm_core.errors import NextBestError
from crm_core.ingest import ReaderOptions, read_table
from crm_core.ingest.numbers import canonical_numbers, detect_number_format, to_float
from crm_core.stats import UnreadableValue, UpliftInputError, UpliftResult, compare_groups


class ExperimentFileError(NextBestError):
    """The experiment file cannot be analysed as given (a malformed line, an unwritable output)."""


def analyse_experiment_file(source, *, group: str, control, converted: str, revenue: str | None = None,
                            by: str | None = None, sheet: str | None = None) -> UpliftResult:
    """Uplift of every group of an experiment file over its control group.

    Args:
        source: the file (path, or bytes / file-like as the importer's reader accepts).
        group, control, converted, revenue, by: see :func:`crm_core.stats.compare_groups`.
        sheet: the Excel sheet to read.
    Raises:
        ImportFailed subclasses (unreadable file), ExperimentFileError, UpliftInputError (each
        names the file and the column, line or value).
    """
    frame, name = read_experiment(source, revenue=revenue, sheet=sheet)
    try:
        return compare_groups(frame, group=group, control=control, converted=converted, revenue=revenue, by=by)
    except UpliftInputError as exc:
        raise type(exc)(f"{name}: {exc}") from None


def read_experiment(source, *, revenue: str | None = None, sheet: str | None = None):
    """``(frame, file name)``: the file's cells as text indexed by source line, revenue as float.

    Revenue is parsed like an import's amounts (decimal comma or point detected from the
    values, thousands separators and currency signs allowed); blank stays NaN.

    Raises:
        ImportFailed subclasses from the reader (missing, empty or unreadable file);
        ExperimentFileError: a line the parser could not split into the header's columns;
        UnreadableValue: a revenue cell that is not a number (naming its line).
    """
    parsed = read_table(source, kind="outcomes", options=ReaderOptions(sheet=sheet))
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
