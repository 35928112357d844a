"""The shared pieces of validation: the context, the result, cell access and the final count.

A leaf of the ingest package: transactions (:mod:`crm_core.ingest.validate`)
and master data (:mod:`crm_core.ingest.records`) are both checked through
:class:`Cells` and end in :func:`finish`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_core.ids import normalise_ids
from crm_core.ingest.dates import parse_dates, resolve_date_styles
from crm_core.ingest.errors import EmptyColumn
from crm_core.ingest.issues import REJECTED, WARNING, IssueLog
from crm_core.ingest.mapping import DATE_FIELDS, NUMBER_FIELDS
from crm_core.ingest.numbers import NumberFormat, canonical_numbers, detect_number_format, to_minor
from crm_core.ingest.read import ParsedTable
from crm_core.ingest.settings import IngestConfig


@dataclass(frozen=True)
class ValidationContext:
    """What validation needs besides the file: explicit, so results are reproducible.

    Attributes:
        config: the importer settings.
        decimals: the workspace's currency decimals (minor units).
        today: the import date (rows after it are warned as future dates).
        date_format: the user's date format, if any.
        catalog: product codes of the workspace's catalog (None: no catalog, no unknown-product warnings).
    """

    config: IngestConfig
    decimals: int = 2
    today: dt.date = dt.date(2000, 1, 1)
    date_format: str | None = None
    catalog: frozenset[str] | None = None


@dataclass(frozen=True)
class Validated:
    """Accepted rows in canonical, typed form (indexed by source line) and the issues found."""

    kind: str
    rows: pd.DataFrame
    issues: pd.DataFrame
    rows_read: int
    rows_rejected: int
    rows_warned: int
    anonymous: int = 0
    countable_read: int = 0
    countable_rejected: int = 0
    number_format: NumberFormat = NumberFormat()
    date_styles: dict = field(default_factory=dict)

    @property
    def reject_rate(self) -> float:
        """Share of rejected rows among those that count for the threshold (anonymous rows do not)."""
        return self.countable_rejected / self.countable_read if self.countable_read else 0.0


def empty_column_error(mapping: dict[str, str], name: str) -> EmptyColumn:
    """The error for a required field whose column is empty in every row."""
    return EmptyColumn(f"Column {mapping[name]!r} (used as {name}) is empty in every row. "
                       "Map another column to it, or export the file again with that column filled.")


@dataclass(frozen=True)
class FileFormats:
    """How a whole file writes numbers and dates, decided from all its values (before any row is checked)."""

    number_format: NumberFormat
    date_styles: dict


def file_formats(columns: dict[str, pd.Series], mapping: dict[str, str], delimiter: str | None,
                 date_format: str | None) -> FileFormats:
    """The number format and date styles of the mapped columns.

    Args:
        columns: source header -> its values (all of them, or only the distinct ones: the
            decisions depend only on which values occur, and the first one names an ambiguous column).
    Raises:
        AmbiguousDates: see :func:`crm_core.ingest.dates.resolve_date_styles`.
    """
    numeric = [columns[h] for f, h in mapping.items() if f in NUMBER_FIELDS]
    styles = resolve_date_styles({h: columns[h] for f, h in mapping.items() if f in DATE_FIELDS}, date_format)
    return FileFormats(detect_number_format(numeric, delimiter), styles)


class SeenRows:
    """Which rows of a file read in batches repeat an earlier row (the ``duplicate_row`` warning).

    Each row is kept as two independent 64-bit hashes of its mapped cells (16 bytes a row,
    never its text; see :func:`_row_hashes`), in sorted runs merged as they grow; a collision of both hashes
    (about one in 10^19 for ten million rows) is the only way to differ from comparing the
    text itself, as ``DataFrame.duplicated`` does on a file read at once.
    """

    _SECOND_KEY = "nextbest-rows-02"

    def __init__(self):
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (h1 sorted, h2 in the same order)

    def duplicated(self, cells: pd.DataFrame) -> np.ndarray:
        """True for each row equal to an earlier row of this or an earlier batch; remembers the new rows."""
        if cells.empty:
            return np.zeros(0, dtype=bool)
        h1, h2 = _row_hashes(cells, self._SECOND_KEY)
        dup = np.array(pd.DataFrame({"a": h1, "b": h2}).duplicated(keep="first"), dtype=bool)
        for run_h1, run_h2 in self._runs:
            if not len(run_h1):
                continue
            pos = np.searchsorted(run_h1, h1)
            at = np.minimum(pos, len(run_h1) - 1)
            dup |= (run_h1[at] == h1) & (run_h2[at] == h2)
            tied = (run_h1[at] == h1) & (run_h2[at] != h2)  # equal h1 rows next to each other: look at each
            for i in np.flatnonzero(tied):
                j = pos[i]
                while j < len(run_h1) and run_h1[j] == h1[i]:
                    dup[i] |= run_h2[j] == h2[i]
                    j += 1
        new = ~dup
        order = np.argsort(h1[new], kind="stable")
        self._runs.append((h1[new][order], h2[new][order]))
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            (a1, a2), (b1, b2) = self._runs[-2], self._runs.pop()
            both1, both2 = np.concatenate([a1, b1]), np.concatenate([a2, b2])
            order = np.argsort(both1, kind="stable")
            self._runs[-1] = (both1[order], both2[order])
        return dup


def _row_hashes(cells: pd.DataFrame, second_key: str) -> tuple[np.ndarray, np.ndarray]:
    """Two independent 64-bit hashes of each row's cells.

    Each column is coded first (a batch repeats its dates, products and prices), so only its
    distinct texts are hashed; the columns' hashes are folded in order (a different order is a
    different row).
    """
    n = len(cells)
    h1, h2 = np.zeros(n, dtype=np.uint64), np.zeros(n, dtype=np.uint64)
    step = np.uint64(0x100000001B3)
    for name in cells.columns:
        values = cells[name].array
        arr = pa.array(values) if hasattr(values, "__arrow_array__") else pa.array(np.asarray(values, dtype=object))
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        enc = pc.dictionary_encode(arr, null_encoding="encode")
        codes = enc.indices.to_numpy(zero_copy_only=False)
        texts = np.asarray(enc.dictionary.to_pylist(), dtype=object)
        a = pd.util.hash_array(texts, categorize=False)[codes]
        b = pd.util.hash_array(texts, hash_key=second_key, categorize=False)[codes]
        h1 = h1 * step ^ a
        h2 = h2 * step ^ b
    return h1, h2


class Cells:
    """Access to the mapped columns of a parsed frame, with the shared reading rules."""

    def __init__(self, table: ParsedTable, mapping: dict[str, str], ctx: ValidationContext, log: IssueLog,
                 formats: "FileFormats | None" = None):
        self.frame, self.mapping, self.ctx, self.log = table.frame, mapping, ctx, log
        self.rejected = np.zeros(len(table.frame), dtype=bool)
        self._text: dict[str, pd.Series] = {}
        if formats is None:
            formats = file_formats({h: self.frame[h] for h in mapping.values()}, mapping,
                                   table.format.get("delimiter"), ctx.date_format)
        self.number_format, self.date_styles = formats.number_format, dict(formats.date_styles)

    def has(self, name: str) -> bool:
        return name in self.mapping

    def text(self, name: str) -> pd.Series:
        """Trimmed text of a field, ``<NA>`` where empty or unmapped (computed once per field)."""
        if name not in self._text:
            if name not in self.mapping:
                s = pd.Series(pd.array([pd.NA] * len(self.frame), dtype="string"), index=self.frame.index)
            else:
                s = self.frame[self.mapping[name]].astype("string").str.strip()
                s = s.mask(s == "")
            self._text[name] = s
        return self._text[name]

    def reject(self, mask, name: str | None, code: str, values=None) -> None:
        """Reject the rows of ``mask`` (reported under the field's source column)."""
        mask = np.asarray(mask, dtype=bool) & ~self.rejected
        self.log.add_mask(self.frame, mask, self.mapping.get(name, name), REJECTED, code, values)
        self.rejected |= mask

    def warn(self, mask, name: str | None, code: str, values=None) -> None:
        """Warn about the (not rejected) rows of ``mask``."""
        mask = np.asarray(mask, dtype=bool) & ~self.rejected
        self.log.add_mask(self.frame, mask, self.mapping.get(name, name), WARNING, code, values)

    def require_not_empty(self, names) -> None:
        """EmptyColumn when a required mapped column is empty in every row."""
        for name in names:
            if name in self.mapping and self.text(name).isna().all():
                raise empty_column_error(self.mapping, name)

    def number(self, name: str, *, required: bool, percent: bool = False) -> pd.Series:
        """Canonical number text of a field; bad values rejected (required) or warned and dropped."""
        raw = self.text(name)
        canon, bad = canonical_numbers(raw, self.number_format, percent=percent)
        formula = bad & raw.str.startswith("=").fillna(False)
        if required:
            self.reject(formula, name, "formula_not_value", raw)
            self.reject(bad, name, "bad_number", raw)
        else:
            self.warn(bad, name, "bad_optional_number", raw)
        return canon

    def date(self, name: str, *, required: bool) -> pd.Series:
        """Dates of a field (``datetime64[ns]``); missing/bad rejected when required, else warned."""
        raw = self.text(name)
        if name not in self.mapping:
            return pd.Series(pd.NaT, index=self.frame.index, dtype="datetime64[ns]")
        parsed = parse_dates(raw, self.date_styles[self.mapping[name]])
        bad = raw.notna() & parsed.isna()
        if required:
            self.reject(raw.isna(), name, "missing_date")
            self.reject(bad & raw.str.startswith("=").fillna(False), name, "formula_not_value", raw)
            self.reject(bad, name, "bad_date", raw)
        else:
            self.warn(bad, name, "bad_optional_date", raw)
        return parsed.where(~bad)

    def ids(self, name: str, *, upper: bool = False) -> pd.Series:
        """Normalised ids of a field (``<NA>`` where empty)."""
        raw = self.text(name)
        codes, uniques = pd.factorize(raw)
        norm = normalise_ids(pd.Series(uniques, dtype="string"), upper=upper).to_numpy(dtype=object, na_value=None)
        out = np.full(len(codes), None, dtype=object)
        out[codes >= 0] = norm[codes[codes >= 0]]
        return pd.Series(out, index=self.frame.index, dtype="string")

    def minor(self, canon: pd.Series, name: str) -> pd.Series:
        """Integer minor units of canonical numbers; out-of-range values rejected."""
        minor = to_minor(canon, self.ctx.decimals)
        self.reject(canon.notna() & minor.isna(), name, "number_too_large", canon)
        return minor


def finish(kind: str, cells: Cells, rows: pd.DataFrame, parse_rejects: pd.DataFrame, *,
           anonymous_mask: np.ndarray | None = None) -> Validated:
    """Add the parser's rejected lines and count rows read, rejected and warned."""
    log = cells.log
    if len(parse_rejects):
        log.add(parse_rejects["line"].to_numpy(), None, REJECTED, "wrong_field_count", parse_rejects["value"])
    accepted = rows.loc[~cells.rejected]
    read = len(cells.frame) + len(parse_rejects)
    rejected = int(cells.rejected.sum()) + len(parse_rejects)
    warned_lines = np.setdiff1d(log.lines(WARNING), log.lines(REJECTED))
    anonymous = np.zeros(len(cells.frame), dtype=bool) if anonymous_mask is None else anonymous_mask
    return Validated(kind=kind, rows=accepted, issues=log.frame(), rows_read=read, rows_rejected=rejected,
                     rows_warned=int(warned_lines.size), anonymous=int((anonymous & ~cells.rejected).sum()),
                     countable_read=int(read - anonymous.sum()),
                     countable_rejected=int((cells.rejected & ~anonymous).sum()) + len(parse_rejects),
                     number_format=cells.number_format, date_styles=dict(cells.date_styles))
