"""A table's rows as batches of text cells, the unit the importer checks and stores.

Every container gives the same thing: :class:`RowBatch` frames of text cells
(``str`` dtype, empty cells ``""``), indexed by source line, and the lines
that could not be split into the header's columns. A text file is parsed by
Arrow's streaming CSV reader (one block at a time, in C, without a Python
object per cell); its rules are those of the pandas parser the importer used
before, kept by hand where Arrow differs:

- a line with fewer fields than the header is padded with empty cells
  (Arrow would drop it); one with more is reported as ``wrong_field_count``;
- lines are numbered as records (a quoted value may span lines), counting the
  header and any title lines above it, so a rejected line reads as before;
- blank lines take a number but are not rows;
- a quote still open at the end of the file is an :class:`UnclosedQuote`
  naming the line it opened on, not one long value.

Batches are re-cut to ``batch_rows`` rows whatever Arrow's block size, so the
tests can put batch edges anywhere.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from crm_core.ingest.errors import UnclosedQuote, UnreadableFile
from crm_core.ingest.source import Source
from crm_core.ingest.textfile import TextFacts, text_from_line, utf8_reader

BATCH_ROWS = 250_000
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # what pandas' read_csv(dtype=str) gives
_MIN_BLOCK = 2 << 20  # Arrow's memory grows with its block: 2 MB parses as fast as 8 MB in 40 % of the memory


@dataclass(frozen=True)
class RowBatch:
    """Consecutive rows of a file: text cells indexed by line, and the lines that did not split."""

    frame: pd.DataFrame
    rejects: pd.DataFrame


def no_rejects() -> pd.DataFrame:
    """A rejects frame without rows."""
    return pd.DataFrame(columns=["line", "value"])


def text_frame(columns: dict, lines: np.ndarray) -> pd.DataFrame:
    """Arrow string columns as a frame of ``str`` cells indexed by ``line`` (no copy of the text)."""
    index = pd.Index(np.asarray(lines, dtype=np.int64), name="line")
    return pd.DataFrame({h: pd.array(col, dtype=TEXT) for h, col in columns.items()}, index=index)


@dataclass(frozen=True)
class CsvLayout:
    """How a text file is laid out: delimiter, the header's line (0-based) and the column names."""

    delimiter: str
    header_index: int
    headers: list[str]


def csv_batches(src: Source, facts: TextFacts, layout: CsvLayout, *, keep: list[str] | None = None,
                batch_rows: int = BATCH_ROWS, block_bytes: int | None = None):
    """The data rows of a text file as :class:`RowBatch` es of at most ``batch_rows`` rows.

    Args:
        src, facts: the file and what :func:`crm_core.ingest.textfile.inspect_text` found.
        layout: delimiter, header line and column names (all of them, blank ones included).
        keep: the columns to return (default all); a row is blank when all of these are empty.
        batch_rows: rows per batch.
        block_bytes: bytes Arrow parses at a time (default: 2 MB, or 4 lines of the file's longest width).
    Raises:
        UnclosedQuote, UnreadableFile.
    """
    reader = _RowReader(src, facts, layout, keep, block_bytes or max(_MIN_BLOCK, 4 * facts.max_width + 1024))
    pending: list[tuple[pa.Table, np.ndarray]] = []
    rejects: list[tuple[int, str]] = []
    held = 0
    for table, lines, bad in reader:
        rejects += bad
        if table.num_rows:
            pending.append((table, lines))
            held += table.num_rows
        while held >= batch_rows:
            table, lines, pending = _take(pending, batch_rows)
            held -= batch_rows
            yield _batch(table, lines, rejects)
            rejects = []
    if held or rejects:
        table, lines, _ = _take(pending, held) if held else (_empty(reader.columns), np.zeros(0, np.int64), [])
        yield _batch(table, lines, rejects)


def _empty(columns: list[str]) -> pa.Table:
    return pa.table({c: pa.array([], pa.string()) for c in columns})


def _take(pending: list, n: int):
    """The first ``n`` rows of the pending tables (slices, no copy), and what is left."""
    tables, lines, rest, need = [], [], [], n
    for table, ln in pending:
        if need <= 0:
            rest.append((table, ln))
        elif table.num_rows <= need:
            tables.append(table)
            lines.append(ln)
            need -= table.num_rows
        else:
            tables.append(table.slice(0, need))
            lines.append(ln[:need])
            rest.append((table.slice(need), ln[need:]))
            need = 0
    return pa.concat_tables(tables), np.concatenate(lines), rest


def _batch(table: pa.Table, lines: np.ndarray, rejects: list) -> RowBatch:
    frame = text_frame({name: table.column(name) for name in table.column_names}, lines)
    bad = pd.DataFrame({"line": [r[0] for r in rejects], "value": [r[1] for r in rejects]}) if rejects \
        else no_rejects()
    return RowBatch(frame, bad)


class _RowReader:
    """Arrow's CSV blocks as ``(table of non-blank rows, their lines, rejected lines)``, in file order."""

    def __init__(self, src: Source, facts: TextFacts, layout: CsvLayout, keep, block_bytes: int):
        self.src, self.facts, self.layout = src, facts, layout
        self.columns = list(keep) if keep is not None else list(layout.headers)
        self.width = len(layout.headers)
        self.block_bytes = block_bytes
        self.invalid: list[tuple[int, int, str]] = []  # (record number, fields, text) not yet placed
        self.next_record = layout.header_index + 2  # records are numbered from the file's first line
        self.last_breaks = 0  # line ends inside the values of the last record placed

    def _handler(self, row) -> str:
        self.invalid.append((int(row.number), int(row.actual_columns), row.text))
        return "skip"

    def __iter__(self):
        layout = self.layout
        read = pacsv.ReadOptions(column_names=layout.headers, skip_rows=layout.header_index + 1, use_threads=False,
                                 block_size=self.block_bytes)
        parse = pacsv.ParseOptions(delimiter=layout.delimiter, quote_char='"', double_quote=True, escape_char=False,
                                   newlines_in_values=True, ignore_empty_lines=False,
                                   invalid_row_handler=self._handler)
        convert = pacsv.ConvertOptions(column_types={h: pa.string() for h in layout.headers},
                                       include_columns=self.columns, strings_can_be_null=False,
                                       quoted_strings_can_be_null=False)
        with utf8_reader(self.src, self.facts.encoding) as stream:
            try:
                for batch in pacsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert):
                    yield self._rows(pa.Table.from_batches([batch]), final=False)
            except pa.ArrowInvalid as exc:
                self._unreadable(exc)
        yield self._rows(_empty(self.columns), final=True)
        self._check_last_record()

    def _rows(self, table: pa.Table, *, final: bool):
        """Number the rows of one block, pad its short lines, drop its blank rows.

        Arrow parses a block ahead, so the lines it could not split are matched to blocks by
        number: a block's rows take the next numbers that are not such lines, and those lines
        before its last row are its own (the rest wait for the next block, or the end).
        """
        n = table.num_rows
        pool = sorted(self.invalid)
        numbers = np.array([r[0] for r in pool], dtype=np.int64)
        candidates = np.arange(self.next_record, self.next_record + n + len(pool), dtype=np.int64)
        lines = np.setdiff1d(candidates, numbers, assume_unique=True)[:n]
        if final:
            end = int(numbers[-1]) if len(numbers) else self.next_record - 1
        else:
            end = int(lines[-1]) if n else self.next_record - 1
        mine, self.invalid = [r for r in pool if r[0] <= end], [r for r in pool if r[0] > end]
        self.next_record = max(self.next_record, end + 1)
        short = [r for r in mine if r[1] < self.width]
        rejects = [(r[0], f"{r[1]} fields where the header has {self.width}") for r in mine if r[1] > self.width]
        if short:
            table, lines = self._with_short_rows(table, lines, short)
        self._count_breaks(table, lines, mine)
        if table.num_rows:
            blank = None
            for name in table.column_names:
                empty = pc.equal(table.column(name), "")
                blank = empty if blank is None else pc.and_(blank, empty)
            if blank is not None and pc.any(blank).as_py():
                keep = pc.invert(blank)
                table, lines = table.filter(keep), lines[np.asarray(keep.to_numpy(zero_copy_only=False), bool)]
        return table, lines, rejects

    def _with_short_rows(self, table: pa.Table, lines: np.ndarray, short: list) -> tuple[pa.Table, np.ndarray]:
        """The block with its short lines put back, padded with empty cells (as pandas read them)."""
        headers = self.layout.headers
        padded = {h: [] for h in headers}
        for _, _, text in short:
            fields = next(csv.reader(io.StringIO(text), delimiter=self.layout.delimiter, quotechar='"'), [])
            fields = list(fields) + [""] * (self.width - len(fields))
            for h, value in zip(headers, fields):
                padded[h].append(value)
        extra = pa.table({c: pa.array(padded[c], pa.string()) for c in self.columns})
        all_lines = np.concatenate([lines, np.array([r[0] for r in short], dtype=np.int64)])
        order = np.argsort(all_lines, kind="stable")
        merged = pa.concat_tables([table.select(self.columns), extra]).take(pa.array(order))
        return merged, all_lines[order]

    def _count_breaks(self, table: pa.Table, lines: np.ndarray, placed: list) -> None:
        """Remember how many line ends the last record placed holds inside its values."""
        last = self.next_record - 1
        if len(lines) and int(lines[-1]) == last:
            row = table.slice(table.num_rows - 1)
            self.last_breaks = sum(int(pc.sum(pc.count_substring(row.column(c), "\n")).as_py() or 0)
                                   for c in row.column_names)
        else:
            texts = [text for number, _, text in placed if number == last]
            if texts:
                self.last_breaks = texts[0].count("\n")

    def _check_last_record(self) -> None:
        """UnclosedQuote when the file ends inside a quoted value (Arrow would read it as one value).

        Only the last record can: it is read again from the physical line it starts on (the file's
        last line, less the line ends inside its values) with Python's strict CSV reader.
        """
        if not self.last_breaks and self.facts.ends_with_newline:
            return
        text = text_from_line(self.src, self.facts, max(1, self.facts.lines - self.last_breaks))
        if '"' not in text:
            return
        try:
            for _ in csv.reader(io.StringIO(text), delimiter=self.layout.delimiter, quotechar='"', strict=True):
                pass
        except csv.Error:
            self._unclosed(self.next_record - 1)

    def _unclosed(self, line: int):
        raise UnclosedQuote(f"{self.src.name}: a quote (\") opened on line {line} is never closed, so the rest of "
                            "the file would be one value. Close or remove that quote and import again.")

    def _unreadable(self, exc: Exception):
        if "straddl" in str(exc):  # one record larger than a block: a quote opened and never closed
            self._unclosed(self.next_record)
        raise UnreadableFile(f"{self.src.name} could not be split into columns ({exc}). Check the delimiter "
                             "and quotes, or export it again.") from None


def frame_batches(frame: pd.DataFrame, rejects: pd.DataFrame, *, batch_rows: int = BATCH_ROWS):
    """A frame read whole (a workbook, a file already parsed for the preview) as batches.

    A rejected line goes with the batch whose rows reach past it (the last batch for lines after
    every row), as if the file had been read in batches.
    """
    n = len(frame)
    starts = list(range(0, n, batch_rows)) or [0]
    last_lines = np.array([frame.index[min(s + batch_rows, n) - 1] for s in starts[:-1]], dtype=np.int64) \
        if n else np.zeros(0, np.int64)
    bad = rejects["line"].to_numpy(dtype=np.int64) if len(rejects) else np.zeros(0, np.int64)
    owner = np.searchsorted(last_lines, bad, side="left")  # batch i holds lines up to last_lines[i]
    for i, start in enumerate(starts):
        mine = owner == i
        yield RowBatch(frame.iloc[start:start + batch_rows],
                       rejects[mine].reset_index(drop=True) if mine.any() else no_rejects())
