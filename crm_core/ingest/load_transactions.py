"""Store a transactions file batch after batch, inside the caller's unit of work (all or nothing).

:class:`TransactionLoader` keeps what must span the whole file: the
workspace's customer and product keys (looked up once, grown as batches add
codes), the names products take from the file, the index rebuild of one
bulk load (:func:`crm_core.store.bulk.bulk_load`), and the counts behind the
"already loaded" rules, so that a file stored in batches ends exactly as if
it had been stored at once:

- a product first seen in this file takes the last name the file gives it, and
  a stored product without a name gets that name;
- lines of an invoice that an *earlier* import loaded are skipped and reported
  (lines of this import are not "already loaded", whatever batch they were in);
- lines without an invoice id identical (customer, date, product, amount) to
  lines an earlier import loaded are skipped occurrence by occurrence, counted
  over the whole file.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, func, select, update

from crm_core.ingest.issues import WARNING, IssueLog
from crm_core.ingest.load import (follow_merges_of, objects, product_aliases, python_datetimes, resolve_aliases,
                                  sqlite_datetimes)
from crm_core.store.bulk import bulk_insert, bulk_load, stored_time
from crm_core.store.frames import code_rows
from crm_core.store.models import Customer, Product, Transaction

_KEY = ["customer_pk", "invoice_date", "product_pk", "amount_minor"]
IN_LIST = 900  # invoice codes per IN (...) query


class _Codes:
    """Codes -> surrogate keys of one workspace table, read once and grown by this import's inserts."""

    def __init__(self, session, model, workspace_id: int):
        self.session, self.model, self.ws = session, model, workspace_id
        self.code_col = model.customer_code if model is Customer else model.product_code
        self.keys: dict[str, int] = dict(code_rows(session, self.code_col, workspace_id))
        if model is Customer:  # a merged-away code's lines go to the record it was merged into
            self.keys = follow_merges_of(session, workspace_id, self.keys)

    def read_new(self, after: int) -> list[str]:
        """Add the rows this import inserted (keys above ``after``); returns their codes."""
        rows = code_rows(self.session, self.code_col, self.ws, after=after)
        self.keys.update(rows)
        return [r[0] for r in rows]

    def top(self) -> int:
        return int(self.session.scalar(select(func.max(self.model.id))) or 0)

    def lookup(self, uniques: list) -> np.ndarray:
        """Key of each distinct code (-1 when unknown)."""
        get = self.keys.get
        return np.array([get(u, -1) for u in uniques], dtype=np.int64)


class TransactionLoader:
    """Inserts the accepted rows of each batch; ``loaded`` and ``skipped`` count them.

    Args:
        session: the unit of work's session.
        workspace_id, batch_id: where the lines go.
        non_merchandise: product codes that are services (upper case).
        is_sqlite: the store is SQLite (dates and booleans are bound as SQLite stores them).
        expected_rows: about how many lines the file holds (decides the index rebuild).
    Use as a context manager: the indexes are built again when the block ends.
    """

    def __init__(self, session, *, workspace_id: int, batch_id: int, non_merchandise: set[str], is_sqlite: bool,
                 expected_rows: int):
        self.session, self.ws, self.batch_id = session, workspace_id, batch_id
        self.non_merchandise, self.is_sqlite = non_merchandise, is_sqlite
        self.aliases = product_aliases(session, workspace_id)
        self.customers = _Codes(session, Customer, workspace_id)
        self.products = _Codes(session, Product, workspace_id)
        named = session.execute(select(Product.product_code).where(Product.workspace_id == workspace_id,
                                                                   Product.name.is_(None))).scalars()
        self.fillable = set(named)  # products whose name this file may set: unnamed ones, and those it adds
        self.names: dict[str, str] = {}
        self.first_file = session.scalar(select(Transaction.id).where(Transaction.workspace_id == workspace_id)
                                         .limit(1)) is None
        self.bare_seen: pd.Series | None = None  # occurrences so far of each invoice-less line key
        self.loaded = self.skipped = 0
        self._load = bulk_load(session.connection(), "transactions", row_count=expected_rows)
        self._insert = None

    def __enter__(self) -> "TransactionLoader":
        self._insert = self._load.__enter__()
        return self

    def __exit__(self, *exc) -> bool:
        return bool(self._load.__exit__(*exc))

    def add(self, rows: pd.DataFrame, log: IssueLog) -> None:
        """Store one batch's accepted rows; skipped ones are reported in ``log``."""
        if rows.empty:
            return
        product = resolve_aliases(rows["product_id"], self.aliases)
        customer_pk = self._customer_keys(rows["customer_id"])
        product_pk = self._product_keys(product, rows["product_name"])
        frame = pd.DataFrame({"customer_pk": customer_pk, "product_pk": product_pk,
                              "invoice_code": rows["invoice_id"], "invoice_date": rows["invoice_date"],
                              "amount_minor": rows["amount_minor"].astype("Int64")}, index=rows.index)
        keep = ~self._already_loaded(frame, log)
        sel = rows.loc[keep]
        cols = {
            "line_no": sel.index.to_numpy(dtype=np.int64).tolist(),
            "customer_id": objects(frame.loc[keep, "customer_pk"]), "product_id": objects(frame.loc[keep, "product_pk"]),
            "invoice_code": objects(sel["invoice_id"]),
            "invoice_date": (sqlite_datetimes if self.is_sqlite else python_datetimes)(sel["invoice_date"]),
            "quantity": sel["quantity"].astype("float64").tolist(),
            "unit_price_minor": objects(sel["unit_price_minor"]), "amount_minor": objects(sel["amount_minor"]),
            "is_return": sel["is_return"].astype(bool).astype(int).tolist() if self.is_sqlite else
            sel["is_return"].astype(bool).tolist(),
            "category": objects(sel["category"]), "channel": objects(sel["channel"]),
        }
        # Columns empty in every row of the batch are left to their default (NULL): fewer values to bind.
        present = {"customer_id": frame.loc[keep, "customer_pk"], "product_id": frame.loc[keep, "product_pk"],
                   "invoice_code": sel["invoice_id"], "unit_price_minor": sel["unit_price_minor"],
                   "category": sel["category"], "channel": sel["channel"]}
        cols = {k: v for k, v in cols.items() if k not in present or present[k].notna().any()}
        self._insert(list(cols), zip(*cols.values()), {"workspace_id": self.ws, "batch_id": self.batch_id})
        self.loaded += int(keep.sum())
        self.skipped += int((~keep).sum())

    def _customer_keys(self, codes: pd.Series) -> pd.Series:
        """Surrogate keys of the customer codes, inserting those the workspace lacks (in order of appearance)."""
        at, uniques = _factorize(codes)
        keys = self.customers.lookup(uniques)
        new = [u for u, k in zip(uniques, keys) if k < 0]
        if new:
            before = self.customers.top()
            connection = self.session.connection()
            stamp = stored_time(connection, dt.datetime.now(dt.timezone.utc))
            bulk_insert(connection, "customers", ("customer_code", "created_at"), ((c, stamp) for c in new),
                        row_count=len(new), constants={"workspace_id": self.ws})
            self.customers.read_new(before)
            keys = self.customers.lookup(uniques)
        return _take_keys(keys, at, codes.index)

    def _product_keys(self, codes: pd.Series, names: pd.Series) -> pd.Series:
        """Surrogate keys of the product codes; unknown ones are added as non-catalog products, named."""
        frame = pd.DataFrame({"code": codes, "name": names}).dropna(subset=["code"])
        named = frame.dropna(subset=["name"]).drop_duplicates("code", keep="last").set_index("code")["name"]
        at, uniques = _factorize(codes)
        keys = self.products.lookup(uniques)
        new = [u for u, k in zip(uniques, keys) if k < 0]
        if new:
            before = self.products.top()
            self.session.connection().execute(Product.__table__.insert(), [
                {"workspace_id": self.ws, "product_code": c, "name": _text_or_none(named.get(c)),
                 "is_merchandise": c.upper() not in self.non_merchandise, "in_catalog": False, "active": True}
                for c in new])
            self.fillable.update(self.products.read_new(before))
            self.names.update({c: str(named[c]) for c in new if c in named.index})
            keys = self.products.lookup(uniques)
        fill = [(c, str(named[c])) for c in uniques if c in self.fillable and c in named.index
                and self.names.get(c) != str(named[c])]
        if fill:
            table = Product.__table__
            self.session.connection().execute(update(table).where(table.c.id == bindparam("pk"))
                                              .values(name=bindparam("v_name")),
                                              [{"pk": self.products.keys[c], "v_name": n} for c, n in fill])
            self.names.update(fill)
        return _take_keys(keys, at, codes.index)

    def _already_loaded(self, frame: pd.DataFrame, log: IssueLog) -> np.ndarray:
        """Mask of rows to skip: invoices an earlier import loaded, and identical invoice-less lines."""
        skip = np.zeros(len(frame), dtype=bool)
        if self.first_file:
            return skip  # the workspace's first sales file: nothing to compare with
        has_invoice = frame["invoice_code"].notna().to_numpy(bool)
        if has_invoice.any():
            codes = pd.unique(frame.loc[has_invoice, "invoice_code"])
            loaded = set()
            for start in range(0, len(codes), IN_LIST):
                chunk = [str(c) for c in codes[start:start + IN_LIST]]
                loaded.update(self.session.scalars(select(Transaction.invoice_code).distinct().where(
                    Transaction.workspace_id == self.ws, Transaction.invoice_code.in_(chunk),
                    Transaction.batch_id != self.batch_id)))
            if loaded:
                hit = frame["invoice_code"].isin(loaded).fillna(False).to_numpy(bool)
                log.add(frame.index[hit], "invoice_id", WARNING, "already_loaded", frame.loc[hit, "invoice_code"])
                skip |= hit
        bare = ~has_invoice
        if bare.any():
            skip |= self._same_as_loaded(frame.loc[bare], frame.index, log)
        return skip

    def _same_as_loaded(self, mine: pd.DataFrame, index: pd.Index, log: IssueLog) -> np.ndarray:
        """Invoice-less lines identical to ones an earlier import loaded, occurrence by occurrence."""
        dates = mine["invoice_date"]
        existing = pd.DataFrame(self.session.execute(
            select(Transaction.customer_id, Transaction.invoice_date, Transaction.product_id, Transaction.amount_minor)
            .where(Transaction.workspace_id == self.ws, Transaction.invoice_code.is_(None),
                   Transaction.batch_id != self.batch_id,
                   Transaction.invoice_date >= dates.min().to_pydatetime(),
                   Transaction.invoice_date <= dates.max().to_pydatetime())).all(), columns=_KEY)
        mine = mine[_KEY].copy()
        mine["invoice_date"] = mine["invoice_date"].astype("datetime64[ns]")
        key = pd.util.hash_pandas_object(mine, index=False).to_numpy()
        earlier = self.bare_seen.reindex(key).fillna(0).to_numpy(np.int64) if self.bare_seen is not None else 0
        mine["n"] = mine.groupby(_KEY, dropna=False).cumcount().to_numpy() + earlier
        counts = pd.Series(key).value_counts()
        self.bare_seen = counts if self.bare_seen is None else self.bare_seen.add(counts, fill_value=0)
        hit = np.zeros(len(index), dtype=bool)
        if len(existing):
            existing["invoice_date"] = pd.to_datetime(existing["invoice_date"]).astype("datetime64[ns]")
            for col in ("customer_pk", "product_pk", "amount_minor"):
                existing[col] = existing[col].astype("Int64")
            existing["n"] = existing.groupby(_KEY, dropna=False).cumcount()
            merged = mine.reset_index().merge(existing.drop_duplicates(), on=_KEY + ["n"], how="inner")
            hit = index.isin(merged["line"].to_numpy())
            log.add(index[hit], None, WARNING, "same_as_loaded")
        return hit


def _factorize(codes: pd.Series) -> tuple[np.ndarray, list]:
    """Codes of the values and the distinct values as a Python list (missing values: code -1)."""
    at, uniques = pd.factorize(codes)
    return at, np.asarray(uniques, dtype=object).tolist()


def _take_keys(keys: np.ndarray, at: np.ndarray, index: pd.Index) -> pd.Series:
    """``keys[at]`` as nullable integers (missing where the code is missing)."""
    values = np.where(at >= 0, keys[np.maximum(at, 0)], -1) if len(keys) else np.full(len(at), -1)
    return pd.Series(pd.array(values, dtype="Int64"), index=index).mask(values < 0)


def _text_or_none(value):
    return None if value is None or pd.isna(value) else str(value)
