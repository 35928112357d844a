"""Read a workspace's stored data back as the canonical frames of docs/contracts.md.

Set-based SQL plus vectorised pandas: these feed the pipeline, so they must
stay fast on millions of rows. Money comes back in major units (float);
ids as the normalised text the source gave.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import select

from crm_core.store.models import Workspace

_TX_SQL = """
SELECT c.customer_code AS customer_id, t.invoice_code AS invoice_id, t.invoice_date AS invoice_date,
       p.product_code AS product_id, p.name AS product_name,
       COALESCE(p.family, t.category) AS category, t.quantity AS quantity,
       t.unit_price_minor AS unit_price_minor, t.amount_minor AS amount_minor,
       t.is_return AS is_return, COALESCE(p.is_merchandise, TRUE) AS is_merchandise
FROM transactions t
LEFT JOIN customers c ON c.id = t.customer_id
LEFT JOIN products p ON p.id = t.product_id
WHERE t.workspace_id = :ws
ORDER BY t.id
"""


def _minor_factor(db, workspace_id: int) -> int:
    with db.read() as s:
        decimals = s.scalar(select(Workspace.currency_decimals).where(Workspace.id == workspace_id))
    return 10 ** (decimals if decimals is not None else 2)


def _to_datetime(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype("datetime64[ns]")
    return pd.to_datetime(values, format="ISO8601").astype("datetime64[ns]")


def _strings(frame: pd.DataFrame, columns) -> None:
    for col in columns:
        frame[col] = frame[col].astype("string")


def load_transactions(db, workspace_id: int) -> pd.DataFrame:
    """Every transaction line of the workspace as the canonical ``tx`` frame."""
    factor = _minor_factor(db, workspace_id)
    with db.engine.connect() as conn:
        frame = pd.read_sql_query(_TX_SQL.replace(":ws", str(int(workspace_id))), conn)
    _strings(frame, ["customer_id", "invoice_id", "product_id", "product_name", "category"])
    frame["invoice_date"] = _to_datetime(frame["invoice_date"])
    frame["quantity"] = frame["quantity"].astype("float64")
    frame["unit_price"] = (frame.pop("unit_price_minor").astype("float64") / factor)
    frame["amount"] = frame.pop("amount_minor").astype("float64") / factor
    frame["is_return"] = frame["is_return"].astype(bool)
    frame["is_merchandise"] = frame["is_merchandise"].astype(bool)
    return frame[["customer_id", "invoice_id", "invoice_date", "product_id", "product_name", "category",
                  "quantity", "unit_price", "amount", "is_return", "is_merchandise"]]


def load_products(db, workspace_id: int) -> pd.DataFrame:
    """The workspace's products (catalog and those only seen in transactions)."""
    factor = _minor_factor(db, workspace_id)
    sql = ("SELECT product_code AS product_id, name, family, price_minor, unit_cost_minor, margin_rate, "
           "active, is_merchandise, in_catalog FROM products WHERE workspace_id = %d ORDER BY product_code"
           % int(workspace_id))
    with db.engine.connect() as conn:
        frame = pd.read_sql_query(sql, conn)
    _strings(frame, ["product_id", "name", "family"])
    frame["price"] = frame.pop("price_minor").astype("float64") / factor
    frame["unit_cost"] = frame.pop("unit_cost_minor").astype("float64") / factor
    derived = (frame["price"] - frame["unit_cost"]) / frame["price"].where(frame["price"] > 0)
    frame["margin_rate"] = frame["margin_rate"].astype("float64").fillna(derived)
    for col in ("active", "is_merchandise", "in_catalog"):
        frame[col] = frame[col].astype(bool)
    return frame[["product_id", "name", "family", "price", "unit_cost", "margin_rate", "active",
                  "is_merchandise", "in_catalog"]]


def load_holdings(db, workspace_id: int) -> pd.DataFrame:
    """Product holdings (banking) of the workspace."""
    factor = _minor_factor(db, workspace_id)
    sql = ("SELECT c.customer_code AS customer_id, p.product_code AS product_id, h.opened_at, h.closed_at, "
           "h.balance_minor FROM holdings h JOIN customers c ON c.id = h.customer_id "
           "JOIN products p ON p.id = h.product_id WHERE h.workspace_id = %d ORDER BY h.id" % int(workspace_id))
    with db.engine.connect() as conn:
        frame = pd.read_sql_query(sql, conn)
    _strings(frame, ["customer_id", "product_id"])
    for col in ("opened_at", "closed_at"):
        frame[col] = _to_datetime(frame[col])
    frame["balance"] = frame.pop("balance_minor").astype("float64") / factor
    return frame


def load_customers(db, workspace_id: int, as_of: dt.date | None = None) -> pd.DataFrame:
    """Customers with their dated attributes resolved as of ``as_of`` (latest value on or before it)."""
    sql = ("SELECT id AS _pk, customer_code AS customer_id, first_name, last_name, email, phone, birth_date, "
           "region, city, tags FROM customers WHERE workspace_id = %d ORDER BY customer_code" % int(workspace_id))
    attr_sql = ("SELECT customer_id AS _pk, attribute, value, effective_from FROM customer_attributes "
                "WHERE workspace_id = %d" % int(workspace_id))
    with db.engine.connect() as conn:
        frame = pd.read_sql_query(sql, conn)
        attrs = pd.read_sql_query(attr_sql, conn)
    _strings(frame, ["customer_id", "first_name", "last_name", "email", "phone", "region", "city", "tags"])
    frame["birth_date"] = _to_datetime(frame["birth_date"])
    attrs["effective_from"] = _to_datetime(attrs["effective_from"])
    if as_of is not None:
        end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
        attrs = attrs[attrs["effective_from"] < end]
    latest = (attrs.sort_values(["_pk", "attribute", "effective_from"], kind="mergesort")
              .drop_duplicates(["_pk", "attribute"], keep="last")
              .pivot(index="_pk", columns="attribute", values="value"))
    for name in ("email_opt_in", "do_not_contact", "last_contacted_at"):
        col = latest[name] if name in latest.columns else pd.Series(dtype=object)
        frame[name] = frame["_pk"].map(col)
    for name in ("email_opt_in", "do_not_contact"):
        text = frame[name].astype("string").str.lower()
        frame[name] = text.map({"true": True, "1": True, "false": False, "0": False}).astype("boolean")
    frame["last_contacted_at"] = _to_datetime(frame["last_contacted_at"].astype("string").replace({"": None}))
    return frame.drop(columns="_pk")


def data_hash(tx: pd.DataFrame) -> str:
    """A content hash of the canonical transactions (order-independent), for run provenance."""
    hashed = pd.util.hash_pandas_object(tx, index=False).to_numpy()
    import hashlib

    return hashlib.sha256(np.sort(hashed).tobytes()).hexdigest()
