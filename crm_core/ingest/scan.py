"""The first read of a file imported in batches: what must be known of the whole file before a row is checked.

A file read at once decided these on all its rows; read in batches, one
pass over the batches collects just what the decisions need, so they come
out the same:

- the number format and date styles: from the *distinct* values of the
  mapped number and date columns, kept in order of first appearance (an
  ambiguous date column is named with its first value);
- a required column empty in every row (:class:`EmptyColumn`), with the same
  message as :meth:`crm_core.ingest.cells.Cells.require_not_empty`;
- the currency: from the first rows of the money columns and of any currency
  column, as :func:`crm_core.ingest.currency.detect_currency` reads them;
- the number of rows (an empty file is an :class:`EmptyFile`; the store uses
  the count to decide how to load).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_core.ingest.batches import TEXT
from crm_core.ingest.cells import FileFormats, empty_column_error, file_formats
from crm_core.ingest.currency import CURRENCY_HEADERS, MONEY_FIELDS, SCAN_LIMIT, CurrencyGuess, detect_currency
from crm_core.ingest.mapping import DATE_FIELDS, NUMBER_FIELDS, header_key
from crm_core.ingest.validate import required_not_empty

CURRENCY_ROWS = SCAN_LIMIT * 4  # the rows detect_currency looks at


@dataclass(frozen=True)
class FileScan:
    """What the first read found: rows (not counting blank lines), formats and currency."""

    rows: int
    formats: FileFormats
    currency: CurrencyGuess | None
    rejects: int = 0  # lines that did not split into the header's columns


def scan_batches(batches, headers: list[str], mapping: dict[str, str], kind: str, *, delimiter: str | None,
                 date_format: str | None) -> FileScan:
    """Read every batch once and decide what the whole file decides.

    Args:
        batches: the file's :class:`~crm_core.ingest.batches.RowBatch` es.
        headers: the file's columns.
        mapping: canonical field -> header.
        kind: the file's kind (which fields may not be empty).
        delimiter: the text file's delimiter (a ``;`` file without evidence writes decimal commas).
        date_format: the user's date format, if any.
    Returns:
        A :class:`FileScan` (``rows`` is 0 for a file without rows: the caller says so).
    Raises:
        AmbiguousDates, EmptyColumn.
    """
    formatted = [h for f, h in mapping.items() if f in NUMBER_FIELDS | DATE_FIELDS]
    distinct: dict[str, list] = {h: [] for h in formatted}
    required = [f for f in required_not_empty(kind, mapping) if f in mapping]
    filled = {mapping[f]: False for f in required}
    money = [h for f, h in mapping.items() if f in MONEY_FIELDS and h in headers]
    currency_cols = list(dict.fromkeys(money + [h for h in headers if header_key(h) in CURRENCY_HEADERS]))
    head: dict[str, list] = {h: [] for h in currency_cols}
    rows = held = rejects = 0
    for batch in batches:
        frame = batch.frame
        rows += len(frame)
        rejects += len(batch.rejects)
        for h in formatted:
            distinct[h].append(pc.unique(_arrow(frame[h])))
        for h, done in filled.items():
            if not done:
                filled[h] = bool(pc.any(pc.not_equal(pc.utf8_trim_whitespace(_arrow(frame[h])), "")).as_py())
        if held < CURRENCY_ROWS and currency_cols:  # their distinct values, in order: what detect_currency uses
            part = frame.iloc[:CURRENCY_ROWS - held]
            for h in currency_cols:
                head[h].append(pc.unique(_arrow(part[h])))
            held += len(part)
    if not rows:
        return FileScan(0, FileFormats(None, {}), None, rejects)
    columns = {h: pd.Series(pd.array(pc.unique(pa.chunked_array(parts, pa.string())), dtype=TEXT))
               for h, parts in distinct.items()}
    formats = file_formats(columns, mapping, delimiter, date_format)
    for field in required:
        if not filled[mapping[field]]:
            raise empty_column_error(mapping, field)
    return FileScan(rows, formats, detect_currency(_distinct_frame(head), mapping), rejects)


def _arrow(values: pd.Series) -> pa.ChunkedArray:
    """A text column as Arrow strings (no copy for the Arrow-backed columns the readers give)."""
    arr = pa.array(values.array) if hasattr(values.array, "__arrow_array__") else pa.array(values.astype(str))
    arr = arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])
    return arr.cast(pa.string())


def _distinct_frame(columns: dict[str, list]) -> pd.DataFrame:
    """Each column's distinct values in order of appearance, padded with empty cells to one length."""
    values = {h: pc.unique(pa.chunked_array(parts, pa.string())).to_pylist() if parts else []
              for h, parts in columns.items()}
    n = max((len(v) for v in values.values()), default=0)
    return pd.DataFrame({h: pd.array(v + [""] * (n - len(v)), dtype=TEXT) for h, v in values.items()})
