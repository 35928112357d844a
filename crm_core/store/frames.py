"""Read a workspace's stored data back as the canonical frames of docs/contracts.md.

These feed the pipeline, so they must stay fast on ten million lines. Money
comes back in major units (float); ids as the normalised text the source gave.

How transactions are read: only the transactions table's own columns, with
customers and products as integer keys; those keys are mapped to their codes
through the (small) customer and product tables with an Arrow ``take``, never
by joining text per row. On SQLite the rows come in chunks of one
``group_concat`` each, a CSV text that SQLite builds in C and Arrow's CSV
reader parses (in a second thread, while SQLite builds the next chunk): no
Python object is made per row. Every chunk is read in one transaction (one
snapshot) and counted; if a chunk cannot be parsed, the portable path (pandas
``read_sql``, also used on PostgreSQL) reads the workspace instead.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import hashlib
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import select, text

from crm_core.money import minor_per_major
from crm_core.store.models import Workspace

CONSENT_VALUES = {"true": True, "1": True, "false": False, "0": False}  # a stored flag's text, case-blind
TX_COLUMNS = ("customer_id", "invoice_id", "invoice_date", "product_id", "product_name", "category",
              "quantity", "unit_price", "amount", "is_return", "is_merchandise")
_CHUNK_IDS = 250_000  # transaction ids per group_concat chunk (~20 MB of text)
_RAW_COLUMNS = ("customer_pk", "product_pk", "invoice_id", "invoice_date", "quantity", "unit_price_minor",
                "amount_minor", "is_return", "category")
_RAW_TYPES = {"customer_pk": pa.int64(), "product_pk": pa.int64(), "invoice_id": pa.large_string(),
              "invoice_date": pa.timestamp("ns"), "quantity": pa.float64(), "unit_price_minor": pa.int64(),
              "amount_minor": pa.int64(), "is_return": pa.int64(), "category": pa.large_string()}
# One CSV line per transaction, formatted by one printf: integers as text, texts as SQL literals
# (%Q: 'it''s', NULL), the quantity as an integer when it is whole, else with 17 significant digits
# so that the float reads back exactly.
_SQLITE_CHUNK = (
    "SELECT count(*), CAST(group_concat(line, char(10)) AS BLOB) FROM ("
    "SELECT printf('%s,%s,%Q,%s,%s,%s,%s,%s,%Q', customer_id, product_id, invoice_code, invoice_date,"
    " CASE WHEN quantity IS NULL THEN NULL WHEN quantity = CAST(quantity AS INTEGER)"
    " THEN CAST(quantity AS INTEGER) ELSE printf('%!.17g', quantity) END,"
    " unit_price_minor, amount_minor, is_return, category) AS line"
    " FROM transactions WHERE +workspace_id = :ws AND id > :lo AND id <= :hi ORDER BY id)"
)
_PORTABLE_TX = ("SELECT customer_id AS customer_pk, product_id AS product_pk, invoice_code AS invoice_id, "
                "invoice_date, quantity, unit_price_minor, amount_minor, is_return, category "
                "FROM transactions WHERE workspace_id = :ws ORDER BY id")


class _ChunkUnreadable(Exception):
    """A group_concat chunk did not parse into the expected rows (the portable path takes over)."""


def minor_factor(session, workspace_id: int) -> int:
    """Minor units per major unit of the workspace's currency, read in ``session``."""
    return minor_per_major(session.scalar(select(Workspace.currency_decimals).where(Workspace.id == workspace_id)))


def _minor_factor(db, workspace_id: int) -> int:
    with db.read() as s:
        return minor_factor(s, workspace_id)


def _to_datetime(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype("datetime64[ns]")
    return pd.to_datetime(values, format="ISO8601").astype("datetime64[ns]")


def _strings(frame: pd.DataFrame, columns) -> None:
    for col in columns:
        frame[col] = frame[col].astype("string")


def code_rows(session, code_col, workspace_id: int, *, after: int = 0) -> list[tuple]:
    """``(code, primary key)`` of the workspace's rows of ``code_col``'s table with a key above ``after``,
    as plain driver rows, in the session's transaction (pending ORM rows flushed first, as a query would)."""
    session.flush()
    return fetch_rows(session.connection(), f"SELECT {code_col.key}, id FROM {code_col.class_.__tablename__} "
                                            "WHERE workspace_id = :ws AND id > :after", workspace_id, after=after)


def read_transactions(db, workspace_id: int) -> pd.DataFrame:
    """Every transaction line of the workspace as the canonical ``tx`` frame (docs/contracts.md).

    Args:
        db: the Database.
        workspace_id: the workspace to read.
    Returns:
        One row per stored line, in the order they were loaded, with the
        columns of :data:`TX_COLUMNS` and the contract's dtypes.
    """
    factor = _minor_factor(db, workspace_id)
    ws = int(workspace_id)
    with db.engine.connect() as conn:  # one connection, one transaction: one consistent snapshot
        customers = fetch_rows(conn, "SELECT id, customer_code FROM customers WHERE workspace_id = :ws", ws)
        products = fetch_rows(conn, "SELECT id, product_code, name, family, is_merchandise FROM products "
                                    "WHERE workspace_id = :ws", ws)
        raw = None
        if conn.dialect.name == "sqlite":
            try:
                raw = _read_sqlite_chunks(conn, ws)
            except (_ChunkUnreadable, pa.ArrowInvalid):
                raw = None
        if raw is None:
            raw = _read_portable(conn, ws)
    return _canonical_transactions(raw, customers, products, factor)


def fetch_rows(conn, sql: str, ws: int, **params) -> list[tuple]:
    """All rows of a query (``:ws`` and any ``params`` bound) as plain tuples (the DB-API cursor's, no Row
    objects: a million rows in a fraction of the time)."""
    result = conn.execute(text(sql), {"ws": ws, **params})
    cursor = getattr(result, "cursor", None)  # the DB-API cursor of a CursorResult: no Row object per row
    try:
        return cursor.fetchall() if cursor is not None else [tuple(r) for r in result]
    finally:
        result.close()


def _read_sqlite_chunks(conn, ws: int) -> pa.Table:
    """The workspace's transaction rows as an Arrow table, read as CSV chunks built by SQLite."""
    lo, hi = conn.execute(text("SELECT min(id), max(id) FROM transactions WHERE workspace_id = :ws"),
                          {"ws": ws}).one()
    if lo is None:
        return _empty_raw()
    bounds = list(range(lo - 1, hi, _CHUNK_IDS)) + [hi]
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as parser:  # parse chunk k while SQLite builds k+1
        pending = []
        for a, b in zip(bounds[:-1], bounds[1:]):
            count, blob = conn.execute(text(_SQLITE_CHUNK), {"ws": ws, "lo": a, "hi": b}).one()
            if count:
                pending.append(parser.submit(_parse_chunk, blob, count))
        tables = [p.result() for p in pending]
    return pa.concat_tables(tables) if tables else _empty_raw()


def _parse_chunk(blob: bytes, expected_rows: int) -> pa.Table:
    """One group_concat chunk as typed Arrow columns; raises _ChunkUnreadable on a row-count mismatch."""
    table = pacsv.read_csv(
        io.BytesIO(blob),
        read_options=pacsv.ReadOptions(column_names=list(_RAW_COLUMNS), use_threads=False),
        parse_options=pacsv.ParseOptions(quote_char="'", double_quote=True, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(column_types=_RAW_TYPES, null_values=["", "NULL"],
                                             strings_can_be_null=True, quoted_strings_can_be_null=False),
    )
    if table.num_rows != expected_rows:
        raise _ChunkUnreadable(f"parsed {table.num_rows} rows of {expected_rows}")
    return table


def _read_portable(conn, ws: int) -> pa.Table:
    """The workspace's transaction rows through pandas read_sql (any SQLAlchemy dialect)."""
    frame = pd.read_sql_query(text(_PORTABLE_TX), conn, params={"ws": ws})
    if frame.empty:
        return _empty_raw()
    arrays = {}
    for name in _RAW_COLUMNS:
        col = frame[name]
        if name == "invoice_date":
            arrays[name] = pa.array(_to_datetime(col).to_numpy(), pa.timestamp("ns"))
        elif name in ("invoice_id", "category"):
            arrays[name] = pa.array(col.astype("string").to_numpy(dtype=object, na_value=None), pa.large_string())
        elif name == "quantity":
            arrays[name] = pa.array(col.to_numpy(dtype="float64", na_value=np.nan), pa.float64(), from_pandas=True)
        else:
            arrays[name] = pa.array(pd.array(col, dtype="Int64").to_numpy(dtype=object, na_value=None), pa.int64())
    return pa.table(arrays)


def _empty_raw() -> pa.Table:
    return pa.table({name: pa.array([], _RAW_TYPES[name]) for name in _RAW_COLUMNS})


def _lookup(keys: pa.Array | pa.ChunkedArray, pks: np.ndarray) -> pa.Array:
    """Position of every key among ``pks`` (null where the key is null or unknown)."""
    k = np.asarray(pc.fill_null(keys, -1).to_numpy(), dtype=np.int64)
    if len(pks) == 0:
        return pa.nulls(len(k), pa.int64())
    if pks.max() <= 4 * len(pks) + 1_000_000:  # surrogate keys are dense: a position table, one gather
        table = np.full(int(pks.max()) + 2, -1, dtype=np.int64)
        table[pks] = np.arange(len(pks))
        at = table[np.clip(k, -1, len(table) - 1)]  # -1 and unknown keys land on the last slot: -1
        return pa.array(np.maximum(at, 0), pa.int64(), mask=at < 0)
    order = np.argsort(pks, kind="stable")
    sorted_pks = pks[order]
    at = np.clip(np.searchsorted(sorted_pks, k), 0, len(pks) - 1)
    found = sorted_pks[at] == k
    return pa.array(np.where(found, order[at], 0), pa.int64(), mask=~found)


def _canonical_transactions(raw: pa.Table, customers: list, products: list, factor: int) -> pd.DataFrame:
    """The canonical ``tx`` frame from raw rows plus the customer and product code tables."""
    cust_pk = np.array([r[0] for r in customers], dtype=np.int64)
    cust_code = pa.array([r[1] for r in customers], pa.large_string())
    prod_pk = np.array([r[0] for r in products], dtype=np.int64)
    prod_cols = list(zip(*products)) if products else [(), (), (), (), ()]
    prod_code = pa.array(prod_cols[1], pa.large_string())
    prod_name = pa.array(prod_cols[2], pa.large_string())
    prod_family = pa.array(prod_cols[3], pa.large_string())
    prod_merch = pa.array([bool(v) if v is not None else True for v in prod_cols[4]], pa.bool_())

    c_at = _lookup(raw["customer_pk"], cust_pk)
    p_at = _lookup(raw["product_pk"], prod_pk)
    category = pc.coalesce(prod_family.take(p_at), raw["category"].combine_chunks())
    merch = pc.fill_null(prod_merch.take(p_at), True)
    quantity = raw["quantity"].to_numpy()
    return pd.DataFrame({
        "customer_id": _string_series(cust_code.take(c_at)),
        "invoice_id": _string_series(raw["invoice_id"]),
        "invoice_date": raw["invoice_date"].to_numpy().astype("datetime64[ns]"),
        "product_id": _string_series(prod_code.take(p_at)),
        "product_name": _string_series(prod_name.take(p_at)),
        "category": _string_series(category),
        "quantity": np.asarray(quantity, dtype="float64"),
        "unit_price": _minor_to_major(raw["unit_price_minor"], factor),
        "amount": _minor_to_major(raw["amount_minor"], factor),
        "is_return": pc.fill_null(raw["is_return"], 0).to_numpy().astype(bool),
        "is_merchandise": merch.to_numpy(zero_copy_only=False).astype(bool),
    }, columns=list(TX_COLUMNS))


def _string_series(values) -> pd.arrays.ArrowStringArray:
    """Arrow strings as the contract's ``string`` dtype (no copy)."""
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values])
    return pd.arrays.ArrowStringArray(values.cast(pa.large_string()))


def _minor_to_major(values, factor: int) -> np.ndarray:
    """Integer minor units (null allowed) as float major units (NaN for null)."""
    as_float = pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False)
    return np.asarray(as_float, dtype="float64") / factor


def read_products(db, workspace_id: int) -> pd.DataFrame:
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


def read_holdings(db, workspace_id: int) -> pd.DataFrame:
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


def read_customers(db, workspace_id: int, as_of: dt.date | None = None) -> pd.DataFrame:
    """Customers with their dated attributes resolved as of ``as_of`` (latest value on or before it).

    Rows come sorted by ``customer_id`` in code point order (the same on every database).
    """
    return read_customers_at(db, workspace_id, [as_of])[0]


def read_customers_at(db, workspace_id: int, dates: list[dt.date | None]) -> list[pd.DataFrame]:
    """:func:`read_customers` as of each of ``dates`` (None: the latest values), from one read.

    The customers are read once, in one transaction, and the frames share their
    undated columns (a run needs them as of its as-of and its contact date: a
    million customers read once instead of twice).
    """
    return customers_as_of(read_customer_table(db, workspace_id), dates)


@dataclass(frozen=True)
class CustomerTable:
    """A workspace's customers as read (undated columns, ``_pk``) and their dated attributes."""

    base: pd.DataFrame
    attributes: pd.DataFrame


def read_customer_table(db, workspace_id: int) -> CustomerTable:
    """The customers and their dated attributes, read in one transaction (for :func:`customers_as_of`)."""
    ws = int(workspace_id)
    attr_sql = ("SELECT customer_id AS _pk, attribute, value, effective_from FROM customer_attributes "
                "WHERE workspace_id = :ws")
    with db.engine.connect() as conn:
        rows = fetch_rows(conn, "SELECT id, customer_code, first_name, last_name, email, phone, birth_date, "
                                "region, city, tags FROM customers WHERE workspace_id = :ws", ws)
        attrs = pd.read_sql_query(text(attr_sql), conn, params={"ws": ws})
    base = _customer_rows(rows)
    del rows
    attrs["effective_from"] = _to_datetime(attrs["effective_from"])
    return CustomerTable(base, attrs)


def customers_as_of(table: CustomerTable, dates: list[dt.date | None]) -> list[pd.DataFrame]:
    """The customers of ``table`` as of each of ``dates`` (None: the latest values); the frames share
    their undated columns."""
    return [_with_attributes(table.base.copy(deep=False), table.attributes, as_of) for as_of in dates]


def _with_attributes(frame: pd.DataFrame, attrs: pd.DataFrame, as_of: dt.date | None) -> pd.DataFrame:
    """The customers ``frame`` with consent and last contact as of ``as_of`` (``_pk`` dropped)."""
    if as_of is not None:
        end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
        attrs = attrs[attrs["effective_from"] < end]
    latest = (attrs.sort_values(["_pk", "attribute", "effective_from"], kind="mergesort")
              .drop_duplicates(["_pk", "attribute"], keep="last")
              .pivot(index="_pk", columns="attribute", values="value"))
    # Each value is read once per customer that has it, then spread over the frame by key.
    stated = {name: (latest[name] if name in latest.columns else pd.Series(dtype=object)).astype("string")
              for name in ("email_opt_in", "do_not_contact", "last_contacted_at")}
    for name in ("email_opt_in", "do_not_contact"):
        flags = stated[name].str.lower().map(CONSENT_VALUES)
        frame[name] = _by_key(flags.astype("boolean"), frame["_pk"])
    frame["last_contacted_at"] = _by_key(_to_datetime(stated["last_contacted_at"].replace({"": None})), frame["_pk"])
    return frame.drop(columns="_pk")


def _by_key(values: pd.Series, keys: pd.Series) -> pd.Series:
    """``values`` (indexed by unique key) at each of ``keys``, missing where a key has none; dtype kept."""
    return pd.Series(values.reindex(keys.to_numpy()).array, index=keys.index)


def _customer_rows(rows: list[tuple]) -> pd.DataFrame:
    """The customers table's rows (plain tuples) as typed columns, sorted by customer code."""
    cols = list(zip(*rows)) if rows else [()] * 10
    code = pa.array(cols[1], pa.large_string())
    order = pc.sort_indices(code)
    frame = pd.DataFrame({"_pk": np.asarray(cols[0], dtype=np.int64)[order.to_numpy()]})
    for i, name in ((1, "customer_id"), (2, "first_name"), (3, "last_name"), (4, "email"), (5, "phone")):
        frame[name] = _string_series(pa.array(cols[i], pa.large_string()).take(order))
    frame["birth_date"] = _to_datetime(pd.Series(cols[6], dtype=object).take(order.to_numpy()).reset_index(drop=True))
    for i, name in ((7, "region"), (8, "city"), (9, "tags")):
        frame[name] = _string_series(pa.array(cols[i], pa.large_string()).take(order))
    return frame


def data_hash(tx: pd.DataFrame) -> str:
    """A content hash of the canonical transactions (order-independent), for run provenance."""
    hashed = pd.util.hash_pandas_object(tx, index=False).to_numpy()
    return hashlib.sha256(np.sort(hashed).tobytes()).hexdigest()
