"""Store validated rows: the pieces every kind of file shares (customer and product keys, values, issues).

Everything here runs inside the caller's unit of work, so a file is stored
entirely or not at all. Transactions are stored batch by batch by
:mod:`crm_core.ingest.load_transactions`, which also says when a line counts
as already loaded.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, func, select, update

from crm_core.store.bulk import bulk_insert, stored_time
from crm_core.store.models import Customer, CustomerMerge, ImportIssue, Product, ProductAlias

MERGED = "merged"  # crm_core.store.models.CustomerMerge.state of a merge in force


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


def ensure_customers(session, workspace_id: int, codes: pd.Series, *, follow_merges: bool = True) -> dict[str, int]:
    """Surrogate ids of the given customer codes, inserting those the workspace lacks.

    With ``follow_merges`` a code merged into another customer gives the surviving record's id
    (:func:`follow_merges`): a later file's rows for a merged-away code belong to the survivor.
    """
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
    return follow_merges_of(session, workspace_id, known) if follow_merges else known


def surviving_ids(session, workspace_id: int) -> dict[int, int]:
    """merged-away customer id -> the id of the record it lives on in (chains of merges followed)."""
    pairs = dict(session.execute(select(CustomerMerge.merged_id, CustomerMerge.survivor_id).where(
        CustomerMerge.workspace_id == workspace_id, CustomerMerge.state == MERGED)).all())
    out = {}
    for merged in pairs:
        survivor, seen = pairs[merged], {merged}
        while survivor in pairs and survivor not in seen:  # A into B, then B into C: A lives on in C
            seen.add(survivor)
            survivor = pairs[survivor]
        out[merged] = survivor
    return out


def follow_merges_of(session, workspace_id: int, keys: dict[str, int]) -> dict[str, int]:
    """``code -> id`` with every merged-away record's id replaced by its survivor's."""
    survivors = surviving_ids(session, workspace_id)
    if not survivors:
        return keys
    return {code: survivors.get(pk, pk) for code, pk in keys.items()}


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


def count_rows(session, model, batch_id: int) -> int:
    """Rows of ``model`` stored by ``batch_id``."""
    return int(session.scalar(select(func.count()).select_from(model).where(model.batch_id == batch_id)) or 0)
