"""The page queries of :mod:`bench.storage_compare` on each store, and the check that they agree.

``SqlitePages`` runs the pages' queries on today's SQLite database; ``DuckPages`` the same queries with the
lines in DuckDB (its own file or the Parquet files), segment members and product names read from SQLite.
``verify`` checks that every engine returns SQLite's frame and figures before anything is timed.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from bench.storage_engines import READ_ENGINES, _sqlite_url, read_columnar, read_sqlite

PAGE_ENGINES = ("sqlite", "duckdb", "parquet_duckdb")
PAGE_QUERIES = ("customer_360", "revenue_by_month", "segment_by_category", "product_popularity")


# --------------------------------------------------------------------------- page queries


class SqlitePages:
    """The page queries on today's store (SQLite, one database)."""

    def __init__(self, work: Path, setup: dict):
        from crm_core.store import Database
        from crm_core.views.overview import revenue_by_month

        self.db = Database.open(_sqlite_url(work / "base.db"))
        self.s = setup
        self._revenue_by_month = revenue_by_month  # imported here: the first call times the query, not the import

    def _frame(self, sql: str, params: dict):
        import pandas as pd
        from sqlalchemy import text

        with self.db.engine.connect() as conn:
            return pd.read_sql_query(text(sql), conn, params=params)

    def customer_360(self, customer_pk: int):
        # crm_core.views.customer._purchases: the customer's lines with product code, name and family
        return self._frame(
            "SELECT t.invoice_date, t.invoice_code, p.product_code, p.name, coalesce(p.family, t.category) AS category,"
            " t.quantity, t.amount_minor, t.is_return FROM transactions t LEFT JOIN products p ON p.id = t.product_id"
            " WHERE t.customer_id = :c ORDER BY t.invoice_date, t.id", {"c": customer_pk})

    def revenue_by_month(self):
        return self._revenue_by_month(self.db, self.s["workspace_id"])

    def segment_by_category(self):
        return self._frame(
            "SELECT coalesce(p.family, t.category) AS category, count(*) AS lines,"
            " count(DISTINCT t.customer_id) AS buyers, sum(t.amount_minor) AS revenue_minor"
            " FROM run_customers rc JOIN transactions t ON t.customer_id = rc.customer_id"
            " LEFT JOIN products p ON p.id = t.product_id"
            " WHERE rc.run_id = :run AND rc.rfm_segment = :seg AND t.invoice_date >= :since"
            " GROUP BY 1 ORDER BY revenue_minor DESC, category",
            {"run": self.s["run_id"], "seg": self.s["segment"], "since": self.s["since_365"]})

    def product_popularity(self):
        return self._frame(
            "SELECT p.product_code, p.name, count(DISTINCT t.customer_id) AS buyers, sum(t.quantity) AS units,"
            " sum(t.amount_minor) AS revenue_minor FROM transactions t JOIN products p ON p.id = t.product_id"
            " WHERE t.workspace_id = :ws AND t.invoice_date >= :since AND t.is_return = 0"
            " AND p.is_merchandise = 1 GROUP BY t.product_id ORDER BY buyers DESC, p.product_code LIMIT 20",
            {"ws": self.s["workspace_id"], "since": self.s["since_90"]})


class DuckPages:
    """The same queries with the lines in DuckDB (own file or Parquet); state read from SQLite."""

    def __init__(self, work: Path, setup: dict, parquet: bool):
        import duckdb

        from crm_core.store import Database

        self.db = Database.open(_sqlite_url(work / "base.db"))
        self.s = setup
        ws = setup["workspace_id"]
        if parquet:
            self.con = duckdb.connect()
            self.src = f"read_parquet('{work / 'parquet' / f'ws={ws}' / '*.parquet'}')"
        else:
            self.con = duckdb.connect(str(work / "lines.duckdb"), read_only=True)
            self.src = "transactions"

    def _sqlite_rows(self, sql: str, params: dict):
        import pandas as pd
        from sqlalchemy import text

        with self.db.engine.connect() as conn:
            return pd.read_sql_query(text(sql), conn, params=params)

    def _products(self):
        return self._sqlite_rows("SELECT id AS product_pk, product_code, name, family, is_merchandise FROM products "
                                 "WHERE workspace_id = :ws", {"ws": self.s["workspace_id"]})

    def customer_360(self, customer_pk: int):
        lines = self.con.execute(
            f"SELECT invoice_date, invoice_code, product_id AS product_pk, category, quantity, amount_minor, "
            f"is_return FROM {self.src} WHERE customer_id = ? ORDER BY invoice_date, id", [customer_pk]).df()
        lines["product_pk"] = lines["product_pk"].astype("Int64")
        pks = [int(v) for v in lines["product_pk"].dropna().unique()]
        products = self._sqlite_rows(f"SELECT id AS product_pk, product_code, name, family FROM products "
                                     f"WHERE id IN ({','.join(map(str, pks)) or 'NULL'})", {})
        products["product_pk"] = products["product_pk"].astype("Int64")
        out = lines.merge(products, on="product_pk", how="left")
        out["category"] = out["family"].where(out["family"].notna(), out["category"])
        return out[["invoice_date", "invoice_code", "product_code", "name", "category", "quantity", "amount_minor",
                    "is_return"]]

    def revenue_by_month(self):
        # the SQL of crm_core.views.overview.revenue_by_month (sum, distinct sales orders per month)
        return self.con.execute(
            f"SELECT strftime(invoice_date, '%Y-%m') AS month, sum(amount_minor) AS revenue_minor, "
            f"count(DISTINCT CASE WHEN NOT is_return THEN invoice_code END) + count(DISTINCT CASE WHEN NOT is_return "
            f"AND invoice_code IS NULL THEN CAST(coalesce(customer_id, 0) AS VARCHAR) || ':' || "
            f"CAST(CAST(invoice_date AS DATE) AS VARCHAR) END) AS orders FROM {self.src} "
            f"WHERE workspace_id = ? AND invoice_date < ? GROUP BY 1 ORDER BY 1",
            [self.s["workspace_id"], self.s["end_of_as_of"]]).df()

    def segment_by_category(self):
        members = self._sqlite_rows("SELECT customer_id AS customer_pk FROM run_customers WHERE run_id = :run "
                                    "AND rfm_segment = :seg", {"run": self.s["run_id"], "seg": self.s["segment"]})
        products = self._products()
        with _registered(self.con, members=members, products=products):
            return self.con.execute(
                f"SELECT coalesce(p.family, t.category) AS category, count(*) AS lines, "
                f"count(DISTINCT t.customer_id) AS buyers, sum(t.amount_minor) AS revenue_minor "
                f"FROM {self.src} t SEMI JOIN members m ON m.customer_pk = t.customer_id "
                f"LEFT JOIN products p ON p.product_pk = t.product_id "
                f"WHERE t.workspace_id = ? AND t.invoice_date >= ? GROUP BY 1 ORDER BY revenue_minor DESC, category",
                [self.s["workspace_id"], self.s["since_365"]]).df()

    def product_popularity(self):
        products = self._products()
        with _registered(self.con, products=products):
            return self.con.execute(
                f"SELECT p.product_code, p.name, buyers, units, revenue_minor FROM ("
                f"SELECT product_id, count(DISTINCT customer_id) AS buyers, sum(quantity) AS units, "
                f"sum(amount_minor) AS revenue_minor FROM {self.src} WHERE workspace_id = ? AND invoice_date >= ? "
                f"AND NOT is_return GROUP BY product_id) a JOIN products p ON p.product_pk = a.product_id "
                f"WHERE p.is_merchandise ORDER BY buyers DESC, p.product_code LIMIT 20",
                [self.s["workspace_id"], self.s["since_90"]]).df()


@contextlib.contextmanager
def _registered(con, **frames):
    """``frames`` visible to DuckDB under their names for the block, unregistered after."""
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        yield
    finally:
        for name in frames:
            con.unregister(name)


def _pages(engine: str, work: Path, setup: dict):
    return SqlitePages(work, setup) if engine == "sqlite" else DuckPages(work, setup, parquet=engine != "duckdb")


def _query(pages, name: str, setup: dict):
    if name == "customer_360":  # seconds per customer over the sampled customers
        return [pages.customer_360(pk) for pk in setup["customers_360"]]
    return getattr(pages, name)()


# --------------------------------------------------------------------------- verification


def verify(work: Path, setup: dict) -> dict:
    """Every engine gives SQLite's frame and figures (else the comparison would be meaningless)."""
    import pandas as pd

    checks = {}
    FACTOR[0] = setup["factor"]
    reference = read_sqlite(work, setup)
    for engine in READ_ENGINES[1:]:
        other = read_columnar(engine, work, setup)
        try:
            pd.testing.assert_frame_equal(reference, other, check_dtype=True)
            checks[f"read_{engine}"] = "same frame, same order"
        except AssertionError as exc:
            checks[f"read_{engine}"] = f"DIFFERS: {str(exc)[:300]}"
    sqlite_pages = SqlitePages(work, setup)
    for engine in (PAGE_ENGINES[1:] if setup["run_id"] is not None else ()):
        pages = DuckPages(work, setup, parquet=engine != "duckdb")
        for name in PAGE_QUERIES:
            a, b = _query(sqlite_pages, name, setup), _query(pages, name, setup)
            a, b = (a if isinstance(a, list) else [a]), (b if isinstance(b, list) else [b])
            same = len(a) == len(b) and all(_same_figures(x, y) for x, y in zip(a, b))
            checks[f"{name}_{engine}"] = "same figures" if same else "DIFFERS"
    checks["lines_per_360_customer"] = [len(x) for x in _query(sqlite_pages, "customer_360", setup)]
    checks["segment"] = setup["segment"]
    checks["segment_customers"] = setup["segment_customers"]
    return checks


FACTOR = [100]


def _same_figures(a, b) -> bool:
    """Same rows and numbers (column names and dtypes aside: months, minor vs major units)."""
    import numpy as np

    if len(a) != len(b):
        return False
    if "revenue" in a.columns and "revenue_minor" in b.columns:  # revenue_by_month on SQLite is in major units
        return (np.allclose(a["revenue"].to_numpy(float) * FACTOR[0], b["revenue_minor"].to_numpy(float))
                and (a["orders"].to_numpy() == b["orders"].to_numpy()).all())
    for x, y in zip(a.columns, b.columns):
        u, v = a[x], b[y]
        if pd_numeric(u) and pd_numeric(v):
            if not np.allclose(u.to_numpy(float), v.to_numpy(float), equal_nan=True):
                return False
        elif x == "invoice_date":
            import pandas as pd

            if not (pd.to_datetime(u).to_numpy() == pd.to_datetime(v).to_numpy()).all():
                return False
        elif not (u.astype("string").fillna("<NA>").to_numpy() == v.astype("string").fillna("<NA>").to_numpy()).all():
            return False
    return True


def pd_numeric(series) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
