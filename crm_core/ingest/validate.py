"""Validate a parsed file against its kind: typed canonical rows plus a report of every issue.

Every rejected row is reported with its line, column, reason code and value;
warnings (duplicates, cancellations, zero or negative prices, unknown
products, future dates) keep the row. All checks are vectorised over the
whole frame. Transactions are handled here; master data (customers,
products, holdings, outcomes) in :mod:`crm_core.ingest.records`.
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
from crm_core.ingest.mapping import DATE_FIELDS, NUMBER_FIELDS, required_fields
from crm_core.ingest.numbers import (NumberFormat, canonical_numbers, detect_number_format, product_to_minor,
                                     to_float, to_minor)
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


def validate(table: ParsedTable, mapping: dict[str, str], ctx: ValidationContext) -> Validated:
    """Check every row of ``table`` read with ``mapping``; returns typed rows and issues.

    Raises:
        EmptyColumn: a required column is empty in every row.
        AmbiguousDates: the day/month order cannot be decided and ``ctx.date_format`` is unset.
    """
    cells = Cells(table, mapping, ctx, IssueLog())
    cells.require_not_empty([f for f in required_fields(table.kind) if f != "amount"]
                            + (["amount"] if "amount" in mapping else ["quantity", "unit_price"]
                               if table.kind == "transactions" else []))
    if table.kind == "transactions":
        return _transactions(table, cells)
    from crm_core.ingest import records

    return records.validate_records(table, cells)


def _transactions(table: ParsedTable, cells: Cells) -> Validated:
    ctx, frame = cells.ctx, cells.frame
    customer = cells.ids("customer_id")
    # Without a product code column the product's name identifies it.
    product = cells.ids("product_id" if cells.has("product_id") else "product_name",
                        upper=ctx.config.upper_case_product_ids)
    invoice = cells.text("invoice_id")
    when = cells.date("invoice_date", required=True)

    if cells.has("amount"):
        amount_text = cells.text("amount")
        cells.reject(amount_text.isna(), "amount", "missing_amount")
        amount_c = cells.number("amount", required=True)
        quantity_c = cells.number("quantity", required=True) if cells.has("quantity") else None
        price_c = cells.number("unit_price", required=True) if cells.has("unit_price") else None
        amount = cells.minor(amount_c, "amount")
        quantity = to_float(quantity_c).fillna(1.0) if quantity_c is not None else \
            pd.Series(1.0, index=frame.index)
        if price_c is not None:
            price = cells.minor(price_c, "unit_price")
        else:
            safe_q = quantity.where(quantity != 0)
            price = (amount.astype("float64") / safe_q).round().astype("Int64")
    else:
        cells.reject(cells.text("quantity").isna(), "quantity", "missing_quantity")
        cells.reject(cells.text("unit_price").isna(), "unit_price", "missing_price")
        quantity_c = cells.number("quantity", required=True)
        price_c = cells.number("unit_price", required=True)
        quantity = to_float(quantity_c)
        price = cells.minor(price_c, "unit_price")
        amount = product_to_minor(quantity_c, price_c, ctx.decimals)
        cells.reject(quantity_c.notna() & price_c.notna() & amount.isna(), "quantity", "number_too_large",
                     quantity_c)

    cancelled = invoice.str.contains(ctx.config.cancel_invoice_pattern, regex=True).fillna(False).to_numpy(bool)
    amount_f = amount.astype("float64").to_numpy(dtype="float64", na_value=np.nan)
    if cells.has("quantity"):
        is_return = (quantity.to_numpy() < 0) | cancelled
    else:
        is_return = (amount_f < 0) | cancelled
    # A cancelled invoice takes money back whatever sign its lines were written with.
    amount = amount.where(~cancelled, -amount.abs())
    q = quantity.to_numpy(dtype="float64", na_value=np.nan)
    quantity = pd.Series(np.where(cancelled, -np.abs(q), q), index=frame.index)

    price_f = price.astype("float64").to_numpy(dtype="float64", na_value=np.nan)
    if cells.has("unit_price"):
        cells.warn(price_f == 0, "unit_price", "zero_price", cells.text("unit_price"))
        cells.warn(price_f < 0, "unit_price", "negative_price", cells.text("unit_price"))
    cells.warn(is_return, "invoice_id" if cells.has("invoice_id") else "quantity", "cancellation",
               invoice if cells.has("invoice_id") else cells.text("quantity"))
    end_of_today = pd.Timestamp(ctx.today) + pd.Timedelta(days=1)
    cells.warn((when >= end_of_today).fillna(False), "invoice_date", "future_date", cells.text("invoice_date"))
    mapped = list(dict.fromkeys(cells.mapping.values()))
    cells.warn(frame[mapped].duplicated(keep="first"), None, "duplicate_row")
    if ctx.catalog is not None and cells.has("product_id"):
        unknown = product.notna() & ~product.isin(ctx.catalog)
        cells.warn(unknown.to_numpy(bool), "product_id", "unknown_product", product)

    non_merch = {c.strip().upper() for c in ctx.config.non_merchandise_codes}
    rows = pd.DataFrame({
        "customer_id": customer, "invoice_id": invoice, "invoice_date": when,
        "product_id": product, "product_name": cells.text("product_name"), "category": cells.text("category"),
        "channel": cells.text("channel"), "quantity": quantity.astype("float64"),
        "unit_price_minor": price, "amount_minor": amount, "is_return": is_return,
        "is_merchandise": ~product.str.upper().isin(non_merch).fillna(False).to_numpy(bool),
    }, index=frame.index)
    return finish("transactions", cells, rows, table.parse_rejects,
                  anonymous_mask=customer.isna().to_numpy(bool))
