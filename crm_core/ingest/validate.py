"""Validate a parsed file against its kind: typed canonical rows plus a report of every issue.

Every rejected row is reported with its line, column, reason code and value;
warnings (duplicates, cancellations, zero or negative prices, unknown
products, future dates) keep the row. All checks are vectorised over the
whole frame. Transactions are handled here; master data (customers,
products, holdings, outcomes) in :mod:`crm_core.ingest.records`; what both
share (cell access, context, result) in :mod:`crm_core.ingest.cells`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_core.ingest import records
from crm_core.ingest.cells import Cells, FileFormats, SeenRows, Validated, ValidationContext, finish
from crm_core.ingest.issues import IssueLog
from crm_core.ingest.mapping import required_fields
from crm_core.ingest.numbers import product_to_minor, to_float
from crm_core.ingest.read import ParsedTable


def validate(table: ParsedTable, mapping: dict[str, str], ctx: ValidationContext, *,
             formats: FileFormats | None = None, seen: SeenRows | None = None) -> Validated:
    """Check every row of ``table`` read with ``mapping``; returns typed rows and issues.

    Args:
        table: the file, or one batch of it.
        formats: for a batch, the number format and date styles decided on the whole file (the
            whole-file checks, :func:`required_not_empty` included, are then the caller's).
        seen: for a batch, the rows of the earlier batches (for ``duplicate_row``).
    Raises:
        EmptyColumn: a required column is empty in every row.
        AmbiguousDates: the day/month order cannot be decided and ``ctx.date_format`` is unset.
    """
    cells = Cells(table, mapping, ctx, IssueLog(), formats)
    if formats is None:
        cells.require_not_empty(required_not_empty(table.kind, mapping))
    if table.kind == "transactions":
        return _transactions(table, cells, seen)
    return records.validate_records(table, cells)


def required_not_empty(kind: str, mapping: dict[str, str]) -> list[str]:
    """The fields that may not be empty in every row of a file of ``kind``."""
    return ([f for f in required_fields(kind) if f != "amount"]
            + (["amount"] if "amount" in mapping else ["quantity", "unit_price"] if kind == "transactions" else []))


def _transactions(table: ParsedTable, cells: Cells, seen: SeenRows | None) -> Validated:
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
    repeated = frame[mapped].duplicated(keep="first") if seen is None else seen.duplicated(frame[mapped])
    cells.warn(repeated, None, "duplicate_row")
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
