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


class Cells:
    """Access to the mapped columns of a parsed frame, with the shared reading rules."""

    def __init__(self, table: ParsedTable, mapping: dict[str, str], ctx: ValidationContext, log: IssueLog):
        self.frame, self.mapping, self.ctx, self.log = table.frame, mapping, ctx, log
        self.rejected = np.zeros(len(table.frame), dtype=bool)
        self._text: dict[str, pd.Series] = {}
        numeric = [self.frame[h] for f, h in mapping.items() if f in NUMBER_FIELDS]
        self.number_format = detect_number_format(numeric, table.format.get("delimiter"))
        self.date_styles = resolve_date_styles(
            {h: self.frame[h] for f, h in mapping.items() if f in DATE_FIELDS}, ctx.date_format)

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
                raise EmptyColumn(f"Column {self.mapping[name]!r} (used as {name}) is empty in every row. "
                                  "Map another column to it, or export the file again with that column filled.")

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
