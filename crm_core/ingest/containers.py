"""Reading each container into text cells: CSV/TSV text, Excel workbooks and Parquet files.

Text and Parquet files can be read in batches (:func:`text_batches`,
:func:`parquet_batches`) or whole (:func:`read_text`, :func:`read_parquet`,
which simply join the batches, so both ways give the same cells); a workbook
is read whole (its size is capped by the archive checks of
:mod:`crm_core.ingest.excel`). Each reader returns the format it found, the
headers (made unique; empty unnamed columns dropped) and the rows.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from crm_core.ingest import excel, sniff
from crm_core.ingest.batches import TEXT, CsvLayout, RowBatch, csv_batches, no_rejects
from crm_core.ingest.errors import EmptyFile, UnreadableFile
from crm_core.ingest.mapping import missing_fields, propose_mapping
from crm_core.ingest.settings import IngestConfig
from crm_core.ingest.source import Source
from crm_core.ingest.textfile import TextFacts, check_field_counts, inspect_text


def unique_headers(cells: list) -> list[str]:
    """Headers trimmed, blanks named ``column_N``, repeats suffixed `` (2)``."""
    out: list[str] = []
    for i, cell in enumerate(cells):
        text = re.sub(r"\s+", " ", "" if cell is None else str(cell)).strip().lstrip("\ufeff") or f"column_{i + 1}"
        base, n = text, 2
        while text in out:
            text, n = f"{base} ({n})", n + 1
        out.append(text)
    return out


def text_layout(src: Source, facts: TextFacts, config: IngestConfig) -> CsvLayout:
    """Delimiter, header line and column names of a text file, from its first 60 lines.

    Raises:
        TooManyColumns: a line with more fields than ``config.csv_max_columns``.
    """
    lines = [line.rstrip("\r") for line in facts.sample.decode("utf-8", errors="replace").split("\n")[:60]]
    delimiter = sniff.sniff_delimiter(lines)
    check_field_counts(src, facts, delimiter, config)
    rows = sniff.split_rows(lines, delimiter)
    h = sniff.find_header_row(rows)
    body = [len(r) for r in rows[h + 1:] if r]
    width = max([len(rows[h])] + ([int(np.bincount(body).argmax())] if body else []))
    return CsvLayout(delimiter, h, unique_headers(list(rows[h]) + [None] * (width - len(rows[h]))))


def text_format(facts: TextFacts, layout: CsvLayout) -> dict:
    """How a text file was read, as the report shows it."""
    return {"container": "text", "encoding": facts.encoding, "delimiter": layout.delimiter,
            "delimiter_name": sniff.DELIMITER_NAMES[layout.delimiter], "header_line": layout.header_index + 1}


def unnamed(headers: list[str]) -> list[str]:
    """The headers made up for columns without a name (candidates for dropping when empty)."""
    return [h for h in headers if h.startswith("column_")]


def blank_columns(batches, candidates: list[str]) -> list[str]:
    """Those of ``candidates`` that are empty in every row of ``batches``."""
    blank = set(candidates)
    for batch in batches:
        for name in list(blank):
            if not (batch.frame[name] == "").all():
                blank.discard(name)
        if not blank:
            break
    return [c for c in candidates if c in blank]


def read_text(src: Source, config: IngestConfig, notes: list[str]):
    """A whole text file: ``(format, headers, frame, rejects)`` (the batches of :func:`csv_batches`, joined)."""
    facts = inspect_text(src, config)
    notes.extend(facts.notes)
    layout = text_layout(src, facts, config)
    batches = list(csv_batches(src, facts, layout))
    frame = pd.concat([b.frame for b in batches]) if batches else _no_rows(layout.headers)
    rejects = pd.concat([b.rejects for b in batches], ignore_index=True) if batches else no_rejects()
    headers = list(layout.headers)
    return text_format(facts, layout), headers, drop_blank_columns(frame, headers), rejects


def _no_rows(headers: list[str]) -> pd.DataFrame:
    return pd.DataFrame({h: pd.Series([], dtype=TEXT) for h in headers},
                        index=pd.Index([], dtype=np.int64, name="line"))


def drop_blank_columns(frame: pd.DataFrame, headers: list[str]) -> pd.DataFrame:
    """Drop unnamed columns that are empty in every row (from ``frame`` and, in place, ``headers``)."""
    blank = [c for c in frame.columns if c.startswith("column_") and (frame[c] == "").all()]
    if blank:
        frame = frame.drop(columns=blank)
        headers[:] = [h for h in headers if h not in blank]
    return frame


def read_xlsx(data: bytes, name: str, kind: str, sheet: str | None, config: IngestConfig, notes: list[str],
              progress=None):
    """A workbook's sheet (the one asked for, else the first with the kind's columns): ``(format, headers,
    frame, rejects)``."""
    excel.check_archive(data, config, name)
    sheets = excel.sheet_names(data, name)
    chosen = sheet
    if sheet is None and len(sheets) > 1:
        chosen = _best_sheet(data, name, sheets, kind)
        notes.append(f"The workbook has {len(sheets)} sheets ({', '.join(sheets)}); sheet {chosen!r} was read. "
                     "Choose another with --sheet NAME or the sheet selector.")
    chosen, rows = excel.read_sheet(data, name, chosen, progress=progress)
    h = sniff.find_header_row(rows[:60])
    if not rows:
        raise EmptyFile(f"{name}: sheet {chosen!r} is empty. Choose the sheet with the data.")
    width = max((len(r) for r in rows[h:h + 200]), default=0)
    headers = unique_headers(list(rows[h]) + [None] * (width - len(rows[h])))
    body = [list(r) + [None] * (width - len(r)) for r in rows[h + 1:]]
    frame = pd.DataFrame(body, columns=headers, dtype=object).fillna("").astype(str)
    frame.index = pd.Index(np.arange(h + 2, h + 2 + len(frame), dtype=np.int64), name="line")
    fmt = {"container": "xlsx", "sheet": chosen, "sheets": sheets, "header_line": h + 1}
    return fmt, headers, drop_blank_columns(frame, headers), no_rejects()


def _best_sheet(data: bytes, name: str, sheets: list[str], kind: str) -> str:
    """The first sheet whose headers cover the kind's required fields, else the first sheet."""
    for sheet in sheets:
        _, rows = excel.read_sheet(data, name, sheet, max_rows=60)
        if rows:
            h = sniff.find_header_row(rows)
            if not missing_fields(propose_mapping(unique_headers(rows[h]), kind), kind):
                return sheet
    return sheets[0]


def _parquet_file(src: Source) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(src.path if src.path is not None else pa.BufferReader(src.data))
    except Exception as exc:  # pyarrow raises its own error kinds
        raise UnreadableFile(f"{src.name} could not be read as Parquet ({type(exc).__name__}): "
                             "export it again.") from None


def parquet_headers(src: Source) -> list[str]:
    """The data columns of a Parquet file (an index pandas wrote is not one), made unique."""
    schema = _parquet_file(src).schema_arrow
    return unique_headers([str(c) for c in schema.empty_table().to_pandas().columns])


def parquet_batches(src: Source, *, batch_rows: int):
    """A Parquet file's rows as text cells, ``batch_rows`` at a time (lines numbered from 2).

    Dates are written ``YYYY-MM-DD HH:MM:SS``, booleans ``TRUE``/``FALSE``, missing values as empty cells.
    """
    pf = _parquet_file(src)
    headers = parquet_headers(src)
    line = 2
    try:
        for batch in pf.iter_batches(batch_size=batch_rows):
            table = pa.Table.from_batches([batch], schema=pf.schema_arrow).to_pandas()
            index = pd.Index(np.arange(line, line + len(table), dtype=np.int64), name="line")
            line += len(table)
            frame = pd.DataFrame(index=index)
            for header, col in zip(headers, table.columns):
                frame[header] = pd.Series(_as_text(table[col]), index=index, dtype=str)
            yield RowBatch(frame, no_rejects())
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableFile(f"{src.name} could not be read as Parquet ({type(exc).__name__}): "
                             "export it again.") from None


def _as_text(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(values):
        text = values.dt.strftime("%Y-%m-%d %H:%M:%S")
    elif pd.api.types.is_bool_dtype(values):
        text = values.map({True: "TRUE", False: "FALSE"})
    else:
        text = values.astype("string")
    return text.to_numpy(dtype=object, na_value="")


def read_parquet(src: Source, batch_rows: int = 1_000_000):
    """A whole Parquet file: ``(format, headers, frame, rejects)``."""
    headers = parquet_headers(src)
    frames = [b.frame for b in parquet_batches(src, batch_rows=batch_rows)]
    frame = pd.concat(frames) if frames else _no_rows(headers)
    return {"container": "parquet", "header_line": 1}, headers, frame, no_rejects()
