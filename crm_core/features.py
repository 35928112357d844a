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
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

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
        TransactionsFrameInvalid: a required column is missing.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in tx.columns]
    if missing:
        raise TransactionsFrameInvalid(
            f"transactions lack column(s) {', '.join(missing)}; customer_features needs "
            f"{', '.join(REQUIRED_COLUMNS)} (see docs/contracts.md)"
        )
    as_of_day = _day_number(as_of)
    day_all = _days(tx["invoice_date"])
    keep = tx["customer_id"].notna().to_numpy(dtype=bool) & (day_all <= as_of_day)
    t = tx.loc[keep]
    day = day_all[keep]
    codes, ids = pd.factorize(t["customer_id"].astype("string"), sort=True)
    n = len(ids)

    amount = t["amount"].to_numpy(dtype="float64", na_value=0.0)
    sale = ~t["is_return"].fillna(False).to_numpy(dtype=bool)
    merch = _bool_column(t, "is_merchandise", default=True)
    quantity = (
        t["quantity"].to_numpy(dtype="float64", na_value=0.0) if "quantity" in t.columns else np.zeros(len(t))
    )
    sale_amount = np.where(sale, amount, 0.0)

    s_codes, s_day = codes[sale], day[sale]
    first = np.full(n, np.iinfo(np.int64).max)
    last = np.full(n, np.iinfo(np.int64).min)
    _group_min_max(s_codes, s_day, first, last)
    is_customer = np.bincount(s_codes, minlength=n) > 0

    frequency = _distinct_per_customer(s_codes, _invoice_keys(t.loc[sale], s_day), n)
    purchase_days = _distinct_per_customer(s_codes, s_day, n)
    monetary = np.bincount(codes, weights=amount, minlength=n)
    sales_total = np.bincount(codes, weights=sale_amount, minlength=n)
    returned = np.bincount(codes, weights=np.where(sale, 0.0, -amount), minlength=n)
    non_merch = np.bincount(codes, weights=np.where(merch, 0.0, sale_amount), minlength=n)
    items = np.bincount(codes, weights=np.where(sale, quantity, 0.0), minlength=n)
    first_safe = np.where(is_customer, first, as_of_day)
    after_first = np.bincount(codes, weights=np.where(day > first_safe[codes], amount, 0.0), minlength=n)
    n_products = _distinct_optional(t, "product_id", sale & merch, codes, n)
    n_families = _distinct_optional(t, "category", sale, codes, n)

    c = is_customer
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
            index=pd.Index(pd.array(ids[c], dtype="string"), name="customer_id"),
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
    values = pd.to_datetime(dates).to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    out = values.astype("int64")
    out[np.isnat(values)] = np.iinfo(np.int64).max
    return out


def _to_datetime(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[ns]")


def _bool_column(t: pd.DataFrame, name: str, *, default: bool) -> np.ndarray:
    if name not in t.columns:
        return np.full(len(t), default)
    return t[name].fillna(default).to_numpy(dtype=bool)


def _group_min_max(codes: np.ndarray, values: np.ndarray, first: np.ndarray, last: np.ndarray) -> None:
    """Per-code min into ``first`` and max into ``last`` (hash groupby: fast on millions of rows)."""
    g = pd.Series(values).groupby(codes, sort=False).agg(["min", "max"])
    idx = g.index.to_numpy()
    first[idx] = g["min"].to_numpy()
    last[idx] = g["max"].to_numpy()


def _invoice_keys(sales: pd.DataFrame, day: np.ndarray) -> np.ndarray:
    """One int64 per sales row identifying its invoice; rows without an invoice id use their day."""
    if "invoice_id" not in sales.columns:
        return day - day.min() if len(day) else day
    inv, _ = pd.factorize(sales["invoice_id"])
    n_inv = int(inv.max()) + 1 if len(inv) else 0
    by_day = n_inv + (day - (day.min() if len(day) else 0))
    return np.where(inv >= 0, inv, by_day).astype("int64")


def _distinct_per_customer(codes: np.ndarray, keys: np.ndarray, n: int) -> np.ndarray:
    """Number of distinct keys per customer code."""
    if len(codes) == 0:
        return np.zeros(n, dtype="int64")
    span = int(keys.max()) + 1
    pairs = pd.unique(codes.astype("int64") * span + keys)
    return np.bincount(pairs // span, minlength=n)


def _distinct_optional(t: pd.DataFrame, column: str, rows: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """Distinct non-missing values of an optional column per customer (0 when the column is absent)."""
    if column not in t.columns:
        return np.zeros(n, dtype="int64")
    values, _ = pd.factorize(t[column])
    use = rows & (values >= 0)
    return _distinct_per_customer(codes[use], values[use].astype("int64"), n)
