"""RFM and behaviour features per customer, from canonical transactions.

Definitions (the CLI contract): rows dated on or before ``as_of`` count (the
whole day); a *sale* is a row with ``is_return == False`` (zero-value lines are
sales); a *customer* is an id with at least one sale on or before ``as_of``.
``recency_days`` = calendar days from the last purchase day to ``as_of``;
``frequency`` = distinct sales invoices (a row without an invoice id counts by
its day); ``monetary`` = net total of all the customer's rows, returns and
non-merchandise lines included.

Behaviour features (all float64, never NaN):

- ``tenure_days``: days from the first purchase to ``as_of``.
- ``purchase_days``: distinct days with a sale.
- ``mean_repeat_day_spend``: net amount of the rows after the first purchase
  day, per repeat purchase day (0 without a repeat day); Gamma-Gamma's input.
- ``n_products``, ``n_families``: distinct products / product families bought.
- ``avg_order_value``: sales amount (before returns) per sales invoice.
- ``items_per_order``: quantity sold per sales invoice (0 without quantities).
- ``return_share``: returned amount / sales amount (0 when nothing was sold
  for money; above 1 when returns exceed sales).
- ``non_merch_share``: non-merchandise sales amount / sales amount.
- ``mean_interpurchase_days``: mean gap between purchase days; for a customer
  with one purchase day, the days since it (a lower bound on the gap).

How it stays fast on ten million lines: string columns are factorised once
into integer codes (customer, product, family), never grouped as strings;
sums are ``np.bincount`` over customer codes; first and last purchase days are
``np.minimum.at`` / ``np.maximum.at``. Consecutive lines of one invoice (same
customer, invoice and day) are collapsed into one *order* first, so invoice
and day counts work on orders, not lines; distinct counts use a dense bitmap
per block of customers when the second key is small (families, products) and
a hash of int64 pairs otherwise.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_core.errors import NextBestError

REQUIRED_COLUMNS = ("customer_id", "invoice_date", "amount", "is_return")
RFM_COLUMNS = ("first_purchase", "last_purchase", "recency_days", "frequency", "monetary")
BEHAVIOUR_COLUMNS = (
    "tenure_days",
    "purchase_days",
    "mean_repeat_day_spend",
    "n_products",
    "n_families",
    "avg_order_value",
    "items_per_order",
    "return_share",
    "non_merch_share",
    "mean_interpurchase_days",
)
_NO_DAY = np.iinfo(np.int64).max  # NaT: never on or before as_of
_DENSE_CELLS = 1 << 25  # bitmap cells per block of customers in a distinct count (32 MB of bools)
_DENSE_MAX_KEYS = 512  # above this many distinct second keys (e.g. days), hashing pairs is faster


class TransactionsFrameInvalid(NextBestError):
    """The transactions frame given to customer_features lacks a required column."""


def customer_features(tx: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """RFM and behaviour features of every customer as of a date.

    Args:
        tx: canonical transactions (docs/contracts.md); ``invoice_id``,
            ``product_id``, ``category``, ``quantity`` and ``is_merchandise``
            are optional.
        as_of: the reference date; later rows are ignored.
    Returns:
        A frame indexed by ``customer_id`` (string, sorted ascending) with
        ``first_purchase, last_purchase`` (datetime64[ns], day),
        ``recency_days, frequency`` (int64), ``monetary`` (float64), then the
        behaviour features of the module docstring (float64).
    Raises:
        TransactionsFrameInvalid: a required column is missing, or ``as_of`` is not a date.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in tx.columns]
    if missing:
        raise TransactionsFrameInvalid(
            f"transactions lack column(s) {', '.join(missing)}; customer_features needs "
            f"{', '.join(REQUIRED_COLUMNS)} (see docs/contracts.md)"
        )
    as_of_day = _day_number(as_of)
    day_all = _days(tx["invoice_date"])
    cust_all, ids = pd.factorize(_as_strings(tx["customer_id"]))
    n = len(ids)
    keep_all = (cust_all >= 0) & (day_all <= as_of_day)
    sale_all = keep_all & ~tx["is_return"].to_numpy(dtype=bool, na_value=False)

    # Orders: runs of consecutive lines with the same customer, invoice and day.
    invoices = _arrow_strings(tx["invoice_id"]) if "invoice_id" in tx.columns else None
    heads = _order_heads(cust_all, day_all, invoices)
    sold = np.logical_or.reduceat(sale_all, heads) if len(heads) else np.zeros(0, dtype=bool)
    sale_heads = heads[sold]
    o_cust, o_day = cust_all[sale_heads], day_all[sale_heads]

    first = np.full(n, _NO_DAY)
    last = np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first, o_cust, o_day)
    np.maximum.at(last, o_cust, o_day)
    is_customer = first != _NO_DAY
    day_base = int(o_day.min()) if len(o_day) else 0
    day_span = int(o_day.max()) - day_base + 1 if len(o_day) else 1
    purchase_days = _count_distinct(o_cust, o_day - day_base, n, day_span)
    frequency = _count_orders(o_cust, o_day - day_base, day_span, sale_heads, invoices, n)

    # Line sums over all rows: rows that do not count go to a spare bucket n (no filtered copies).
    codes = np.where(keep_all, cust_all, n)
    amount = tx["amount"].to_numpy(dtype="float64", na_value=0.0)
    sale = sale_all
    merch = _bool_column(tx, "is_merchandise", default=True)
    quantity = (tx["quantity"].to_numpy(dtype="float64", na_value=0.0) if "quantity" in tx.columns
                else np.zeros(len(codes)))
    sale_amount = np.where(sale, amount, 0.0)
    monetary = _sum(codes, amount, n)
    sales_total = _sum(codes, sale_amount, n)
    returned = _sum(codes, np.where(sale, 0.0, -amount), n)
    non_merch = _sum(codes, np.where(merch, 0.0, sale_amount), n)
    items = _sum(codes, np.where(sale, quantity, 0.0), n)
    first_safe = np.append(np.where(is_customer, first, as_of_day), _NO_DAY)
    after_first = _sum(codes, np.where(day_all > first_safe[codes], amount, 0.0), n)
    n_products = _distinct_optional(tx, "product_id", sale & merch, codes, n)
    n_families = _distinct_optional(tx, "category", sale, codes, n)

    c, index = _sorted_customers(ids, is_customer)
    first, last = first[c], last[c]
    freq = frequency[c].astype("float64")
    pdays = purchase_days[c].astype("float64")
    sales = sales_total[c]
    tenure = (as_of_day - first).astype("float64")
    span = (last - first).astype("float64")
    repeat_days = pdays - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pd.DataFrame(
            {
                "first_purchase": _to_datetime(first),
                "last_purchase": _to_datetime(last),
                "recency_days": (as_of_day - last).astype("int64"),
                "frequency": frequency[c].astype("int64"),
                "monetary": monetary[c],
                "tenure_days": tenure,
                "purchase_days": pdays,
                "mean_repeat_day_spend": np.where(repeat_days > 0, after_first[c] / repeat_days, 0.0),
                "n_products": n_products[c].astype("float64"),
                "n_families": n_families[c].astype("float64"),
                "avg_order_value": sales / freq,
                "items_per_order": items[c] / freq,
                "return_share": np.where(sales > 0, np.maximum(returned[c], 0.0) / sales, 0.0),
                "non_merch_share": np.where(sales > 0, non_merch[c] / sales, 0.0),
                "mean_interpurchase_days": np.where(repeat_days > 0, span / repeat_days, tenure),
            },
            index=index,
        )
    return out


def _day_number(as_of) -> int:
    """Days since 1970-01-01 of a date, datetime, Timestamp or ISO string."""
    try:
        ts = pd.Timestamp(as_of)
    except (TypeError, ValueError) as exc:
        raise TransactionsFrameInvalid(f"as_of = {as_of!r} is not a date; pass a datetime.date") from exc
    if pd.isna(ts):
        raise TransactionsFrameInvalid("as_of is missing; pass a datetime.date")
    return int(np.datetime64(ts.date(), "D").astype("int64"))


def _days(dates: pd.Series) -> np.ndarray:
    """Day numbers of a datetime column; NaT becomes a huge number (never on/before as_of)."""
    if not pd.api.types.is_datetime64_dtype(dates.dtype):
        dates = pd.to_datetime(dates)
    values = dates.to_numpy()
    unit, _ = np.datetime_data(values.dtype)
    per_day = np.timedelta64(1, "D") // np.timedelta64(1, unit)
    raw = values.view("int64")
    out = raw // per_day  # floor division: days before 1970 stay on their own calendar day
    out[raw == np.iinfo(np.int64).min] = _NO_DAY  # NaT
    return out


def _to_datetime(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[ns]")


def _bool_column(t: pd.DataFrame, name: str, *, default: bool) -> np.ndarray:
    if name not in t.columns:
        return np.full(len(t), default)
    return t[name].to_numpy(dtype=bool, na_value=default)


def _as_strings(values: pd.Series) -> pd.Series:
    """The column with Arrow-backed string values (no copy when it already is)."""
    if isinstance(values.array, pd.arrays.ArrowStringArray):
        return values
    return values.astype("string[pyarrow]")


def _arrow_strings(values) -> pa.Array | pa.ChunkedArray:
    """The column (or index) as Arrow strings (zero-copy for Arrow-backed strings)."""
    return pa.array(_as_strings(pd.Series(values, copy=False)).array)


def _order_heads(cust: np.ndarray, day: np.ndarray, invoices) -> np.ndarray:
    """Row positions where a new order starts: the customer, the day or the invoice id changes."""
    if len(cust) == 0:
        return np.zeros(0, dtype=np.int64)
    same = (cust[1:] == cust[:-1]) & (day[1:] == day[:-1])
    if invoices is not None:
        same &= _same_as_previous(invoices)
    return np.flatnonzero(np.concatenate(([True], ~same)))


def _same_as_previous(values) -> np.ndarray:
    """For rows 1..n-1: equal to the row before (two missing values are equal)."""
    head, tail = values[:-1], values[1:]
    equal = pc.fill_null(pc.equal(tail, head), False)
    both_missing = pc.and_(tail.is_null(), head.is_null())
    return pc.or_(equal, both_missing).to_numpy(zero_copy_only=False)


def _count_orders(o_cust, o_day, day_span, sale_heads, invoices, n) -> np.ndarray:
    """Distinct sales invoices per customer; orders without an invoice id count by their day.

    An invoice almost always belongs to one customer: those count once for
    that customer without any pair hashing; only invoices shared by several
    customers (rare) have their (customer, invoice) pairs deduplicated.
    """
    if invoices is None:
        return _count_distinct(o_cust, o_day, n, day_span)
    head_invoices = invoices.take(pa.array(sale_heads))
    if isinstance(head_invoices, pa.ChunkedArray):
        head_invoices = head_invoices.combine_chunks()
    encoded = pc.dictionary_encode(head_invoices)
    inv = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    has_invoice = inv >= 0
    by_day = _count_distinct(o_cust[~has_invoice], o_day[~has_invoice], n, day_span)
    inv, cust = inv[has_invoice], o_cust[has_invoice]
    n_inv = len(encoded.dictionary)
    lowest = np.full(n_inv, np.iinfo(np.int64).max)
    highest = np.full(n_inv, -1)
    np.minimum.at(lowest, inv, cust)
    np.maximum.at(highest, inv, cust)
    single = lowest == highest
    shared = ~single[inv]
    return (by_day + np.bincount(lowest[single], minlength=n)
            + _count_distinct(cust[shared], inv[shared], n, n_inv))


def _count_distinct(codes: np.ndarray, keys: np.ndarray, n: int, n_keys: int) -> np.ndarray:
    """Number of distinct ``keys`` (0 <= key < n_keys) per customer code (0 <= code < n)."""
    if len(codes) == 0:
        return np.zeros(n, dtype=np.int64)
    codes = codes.astype(np.int64, copy=False)
    keys = keys.astype(np.int64, copy=False)
    if n_keys > _DENSE_MAX_KEYS:
        pairs = pd.unique(codes * n_keys + keys)
        return np.bincount(pairs // n_keys, minlength=n)
    block = max(1, _DENSE_CELLS // n_keys)  # customers per bitmap
    if n <= block:
        return _dense_count(codes, keys, n, n_keys)
    out = np.zeros(n, dtype=np.int64)
    for lo in range(0, n, block):  # a handful of blocks, not customers; one pass each, no sort of the lines
        hi = min(n, lo + block)
        rows = np.flatnonzero((codes >= lo) & (codes < hi))
        out[lo:hi] = _dense_count(codes[rows] - lo, keys[rows], hi - lo, n_keys)
    return out


def _dense_count(codes, keys, size, n_keys) -> np.ndarray:
    """Distinct keys per code through a size x n_keys bitmap."""
    seen = np.zeros(size * n_keys, dtype=bool)
    cell = codes * n_keys
    cell += keys  # in place: one temporary the size of the lines, not two
    seen[cell] = True
    return seen.reshape(size, n_keys).sum(axis=1, dtype=np.int64)


def _sum(codes: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Per-customer sums of ``weights`` (code n is the spare bucket of rows that do not count)."""
    return np.bincount(codes, weights=weights, minlength=n + 1)[:n]


def _distinct_optional(tx, column, rows, codes, n) -> np.ndarray:
    """Distinct non-missing values of an optional column per customer (0 when the column is absent).

    ``rows`` selects the lines that count; they all have a customer code below n.
    """
    if column not in tx.columns:
        return np.zeros(n, dtype="int64")
    values, uniques = pd.factorize(tx[column])
    use = rows & (values >= 0)
    return _count_distinct(codes[use], values[use], n, len(uniques))


def _sorted_customers(ids: pd.Index, is_customer: np.ndarray) -> tuple[np.ndarray, pd.Index]:
    """Codes of the customers ordered by id as text (code point order), and those ids as the index."""
    c = np.flatnonzero(is_customer)
    text = _arrow_strings(ids).take(pa.array(c))
    order = pc.sort_indices(text)
    text = text.take(order)
    if isinstance(text, pa.Array):
        text = pa.chunked_array([text])
    index = pd.Index(pd.arrays.ArrowStringArray(text.cast(pa.large_string())), name="customer_id")
    return c[order.to_numpy()], index
