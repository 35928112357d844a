"""Store validated rows: customers and products upserted, transactions inserted in bulk.

Everything here runs inside the caller's unit of work, so a file is stored
entirely or not at all. Transactions are inserted with the DB-API
``executemany`` on the session's own connection (same transaction); on
other databases through SQLAlchemy Core's executemany.

Invoices are immutable once loaded: lines of an invoice already in the
workspace are skipped and reported; lines without an invoice id that are
identical (customer, date, product, amount) to loaded ones are skipped too,
occurrence by occurrence, so duplicates inside one file stay.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, func, select, update

from crm_core.ingest.issues import WARNING, IssueLog
from crm_core.store.bulk import bulk_insert, stored_time
from crm_core.store.models import Customer, ImportIssue, Product, ProductAlias, Transaction


def objects(values: pd.Series) -> list:
    """A column as a Python list with None for missing values (ready for executemany)."""
    if pd.api.types.is_float_dtype(values.dtype) and not isinstance(values.dtype, pd.api.extensions.ExtensionDtype):
        arr = values.to_numpy(dtype=object)
        arr[values.isna().to_numpy()] = None
        return arr.tolist()
    return values.to_numpy(dtype=object, na_value=None).tolist()


def sqlite_datetimes(values: pd.Series) -> list:
    """``datetime64`` values as SQLAlchemy's SQLite DATETIME text (``YYYY-MM-DD HH:MM:SS.ffffff``).

    Each distinct time is formatted once (an export repeats its invoice's time on every line).
    """
    codes, uniques = pd.factorize(values.to_numpy(dtype="datetime64[us]"))
    text = [t.replace("T", " ") for t in np.datetime_as_string(uniques, unit="us").tolist()]
    table = np.array([*text, None], dtype=object)  # code -1 (NaT) takes the trailing None
    return table[codes].tolist()


def python_datetimes(values: pd.Series) -> list:
    """``datetime64`` values as naive ``datetime`` objects (None for NaT)."""
    return [None if pd.isna(v) else v.to_pydatetime() for v in values]


def ensure_customers(session, workspace_id: int, codes: pd.Series) -> dict[str, int]:
    """Surrogate ids of the given customer codes, inserting those the workspace lacks."""
    wanted = pd.unique(codes.dropna())
    known = dict(session.execute(select(Customer.customer_code, Customer.id)
                                 .where(Customer.workspace_id == workspace_id)).all())
    new = [c for c in wanted if c not in known]
    if new:
        connection = session.connection()
        stamp = stored_time(connection, dt.datetime.now(dt.timezone.utc))
        bulk_insert(connection, "customers", ("customer_code", "created_at"), ((c, stamp) for c in new),
                    row_count=len(new), constants={"workspace_id": workspace_id})
        known = dict(session.execute(select(Customer.customer_code, Customer.id)
                                     .where(Customer.workspace_id == workspace_id)).all())
    return known


def product_aliases(session, workspace_id: int) -> dict[str, str]:
    """alias code -> canonical product code, for the workspace."""
    rows = session.execute(select(ProductAlias.alias_code, Product.product_code)
                           .join(Product, Product.id == ProductAlias.product_id)
                           .where(ProductAlias.workspace_id == workspace_id)).all()
    return dict(rows)


def resolve_aliases(codes: pd.Series, aliases: dict[str, str]) -> pd.Series:
    """Codes with declared aliases replaced by their product's code."""
    if not aliases:
        return codes
    return codes.map(lambda c: aliases.get(c, c) if isinstance(c, str) else c).astype("string")


def ensure_products(session, workspace_id: int, codes: pd.Series, names: pd.Series | None,
                    non_merchandise: set[str]) -> dict[str, int]:
    """Surrogate ids of the given product codes; unknown ones are added as non-catalog products.

    A product first seen here takes the last name the file gives it; an existing product
    without a name gets one.
    """
    frame = pd.DataFrame({"code": codes, "name": names if names is not None else pd.NA}).dropna(subset=["code"])
    named = frame.dropna(subset=["name"]).drop_duplicates("code", keep="last").set_index("code")["name"]
    wanted = pd.unique(frame["code"])
    existing = {code: (pk, name) for code, pk, name in session.execute(
        select(Product.product_code, Product.id, Product.name).where(Product.workspace_id == workspace_id)).all()}
    new = [c for c in wanted if c not in existing]
    if new:
        session.connection().execute(Product.__table__.insert(), [
            {"workspace_id": workspace_id, "product_code": c, "name": _str_or_none(named.get(c)),
             "is_merchandise": c.upper() not in non_merchandise, "in_catalog": False, "active": True}
            for c in new])
    fill = [{"pk": existing[c][0], "name": str(named[c])} for c in wanted
            if c in existing and existing[c][1] is None and c in named.index]
    if fill:
        table = Product.__table__
        session.connection().execute(update(table).where(table.c.id == bindparam("pk"))
                                     .values(name=bindparam("v_name")),
                                     [{"pk": f["pk"], "v_name": f["name"]} for f in fill])
    return dict(session.execute(select(Product.product_code, Product.id)
                                .where(Product.workspace_id == workspace_id)).all())


def _str_or_none(value):
    return None if value is None or pd.isna(value) else str(value)


def insert_issues(session, batch_id: int, issues: pd.DataFrame) -> None:
    """Store the report's rows (rejections and warnings) for the batch."""
    if issues.empty:
        return
    records = pd.DataFrame({"batch_id": batch_id, "line": issues["line"].astype("int64"),
                            "column": issues["column"], "severity": issues["severity"], "code": issues["code"],
                            "value": issues["value"].str.slice(0, 2000), "message": issues["message"]})
    cols = list(records.columns)
    bulk_insert(session.connection(), ImportIssue.__tablename__, cols, zip(*(objects(records[c]) for c in cols)),
                row_count=len(records))


def insert_transactions(session, *, workspace_id: int, batch_id: int, rows: pd.DataFrame, non_merchandise: set[str],
                      is_sqlite: bool, log: IssueLog, progress) -> tuple[int, int]:
    """Insert the accepted transaction rows; returns ``(loaded, skipped)``.

    Skipped rows (already loaded invoices, lines identical to loaded ones) are added to ``log``.
    """
    aliases = product_aliases(session, workspace_id)
    product = resolve_aliases(rows["product_id"], aliases)
    progress(0.55, "saving customers")
    customers = ensure_customers(session, workspace_id, rows["customer_id"])
    progress(0.6, "saving products")
    products = ensure_products(session, workspace_id, product, rows["product_name"], non_merchandise)
    frame = pd.DataFrame({
        "customer_pk": rows["customer_id"].map(customers).astype("Int64"),
        "product_pk": product.map(products).astype("Int64"),
        "invoice_code": rows["invoice_id"], "invoice_date": rows["invoice_date"],
        "amount_minor": rows["amount_minor"].astype("Int64")}, index=rows.index)
    skip = _already_loaded(session, workspace_id, frame, log)
    keep = ~skip
    progress(0.65, "saving transactions")
    sel = rows.loc[keep]
    cols = {
        "line_no": sel.index.to_numpy(dtype=np.int64).tolist(),
        "customer_id": objects(frame.loc[keep, "customer_pk"]), "product_id": objects(frame.loc[keep, "product_pk"]),
        "invoice_code": objects(sel["invoice_id"]),
        "invoice_date": (sqlite_datetimes if is_sqlite else python_datetimes)(sel["invoice_date"]),
        "quantity": sel["quantity"].astype("float64").tolist(), "unit_price_minor": objects(sel["unit_price_minor"]),
        "amount_minor": objects(sel["amount_minor"]),
        "is_return": sel["is_return"].astype(bool).astype(int).tolist() if is_sqlite else
        sel["is_return"].astype(bool).tolist(),
        "category": objects(sel["category"]), "channel": objects(sel["channel"]),
    }
    # Columns that are empty in every row are left to their default (NULL): fewer values to bind.
    present = {"customer_id": frame.loc[keep, "customer_pk"], "product_id": frame.loc[keep, "product_pk"],
               "invoice_code": sel["invoice_id"], "unit_price_minor": sel["unit_price_minor"],
               "category": sel["category"], "channel": sel["channel"]}
    cols = {k: v for k, v in cols.items() if k not in present or present[k].notna().any()}
    names = list(cols)
    bulk_insert(session.connection(), "transactions", names, zip(*cols.values()), row_count=int(keep.sum()),
                constants={"workspace_id": workspace_id, "batch_id": batch_id})
    return int(keep.sum()), int(skip.sum())


def _already_loaded(session, workspace_id: int, frame: pd.DataFrame, log: IssueLog) -> np.ndarray:
    """Mask of rows to skip: invoices already in the workspace, and identical invoice-less lines."""
    skip = np.zeros(len(frame), dtype=bool)
    if session.scalar(select(Transaction.id).where(Transaction.workspace_id == workspace_id).limit(1)) is None:
        return skip  # a workspace's first sales file: nothing to compare with
    has_invoice = frame["invoice_code"].notna().to_numpy(bool)
    if has_invoice.any():
        codes = pd.unique(frame.loc[has_invoice, "invoice_code"])
        loaded = set()
        for start in range(0, len(codes), 900):
            chunk = [str(c) for c in codes[start:start + 900]]
            loaded.update(session.scalars(select(Transaction.invoice_code).distinct().where(
                Transaction.workspace_id == workspace_id, Transaction.invoice_code.in_(chunk))))
        if loaded:
            hit = frame["invoice_code"].isin(loaded).fillna(False).to_numpy(bool)
            log.add(frame.index[hit], "invoice_id", WARNING, "already_loaded", frame.loc[hit, "invoice_code"])
            skip |= hit
    bare = ~has_invoice
    if bare.any():
        dates = frame.loc[bare, "invoice_date"]
        existing = pd.DataFrame(session.execute(
            select(Transaction.customer_id, Transaction.invoice_date, Transaction.product_id, Transaction.amount_minor)
            .where(Transaction.workspace_id == workspace_id, Transaction.invoice_code.is_(None),
                   Transaction.invoice_date >= dates.min().to_pydatetime(),
                   Transaction.invoice_date <= dates.max().to_pydatetime())).all(),
            columns=["customer_pk", "invoice_date", "product_pk", "amount_minor"])
        if len(existing):
            key_cols = ["customer_pk", "invoice_date", "product_pk", "amount_minor"]
            existing["invoice_date"] = pd.to_datetime(existing["invoice_date"]).astype("datetime64[ns]")
            for col in ("customer_pk", "product_pk", "amount_minor"):
                existing[col] = existing[col].astype("Int64")
            existing["n"] = existing.groupby(key_cols, dropna=False).cumcount()
            mine = frame.loc[bare, key_cols].copy()
            mine["invoice_date"] = mine["invoice_date"].astype("datetime64[ns]")
            mine["n"] = mine.groupby(key_cols, dropna=False).cumcount()
            merged = mine.reset_index().merge(existing.drop_duplicates(), on=key_cols + ["n"], how="inner")
            lines = merged["line"].to_numpy()
            hit = frame.index.isin(lines)
            log.add(frame.index[hit], None, WARNING, "same_as_loaded")
            skip |= hit
    return skip


def count_rows(session, model, batch_id: int) -> int:
    """Rows of ``model`` stored by ``batch_id``."""
    return int(session.scalar(select(func.count()).select_from(model).where(model.batch_id == batch_id)) or 0)
