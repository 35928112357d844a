"""Purchase and holding history as of a day, in integer codes for vectorised work.

Transactions are coded once (:func:`code_lines`); :func:`history_as_of` then
cuts them at any day, so the engine can look at the data as it stood on the
as-of date and, to learn its purchase model, one horizon earlier.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

_EPOCH = np.datetime64("1970-01-01", "D")


def day_number(value) -> int:
    """Days since 1970-01-01 of a date, datetime or ISO string."""
    return int((np.datetime64(pd.Timestamp(value).date(), "D") - _EPOCH).astype(int))


@dataclass(frozen=True)
class CodedLines:
    """Sales lines and holdings in integer codes.

    ``customers`` and ``products`` map codes back to ids; ``sales`` has columns
    ``c`` (customer code, -1 anonymous), ``p`` (product code, -1 unknown),
    ``day``, ``inv`` (invoice key; a line without invoice id counts by its day),
    ``price`` and ``amount``; ``holdings`` has ``c, p, opened, closed``
    (day numbers, ``closed`` = a large number when open).
    """

    customers: pd.Index
    products: pd.Index
    sales: pd.DataFrame
    returns_amount: pd.DataFrame
    holdings: pd.DataFrame


def code_lines(tx: pd.DataFrame, products: pd.Index, holdings: pd.DataFrame | None) -> CodedLines:
    """Code the sales of ``tx`` and the ``holdings`` against a product index.

    Args:
        tx: canonical transactions.
        products: the catalog's product ids (sorted); other products get code -1.
        holdings: the holdings frame or None.
    """
    cust_ids = tx["customer_id"].dropna().astype("string")
    hold = holdings if holdings is not None and len(holdings) else None
    if hold is not None:
        cust_ids = pd.concat([cust_ids, hold["customer_id"].dropna().astype("string")])
    customers = pd.Index(pd.unique(cust_ids.to_numpy()), dtype="string").sort_values()
    day = _days(tx["invoice_date"])
    c = customers.get_indexer(tx["customer_id"].astype("string"))
    p = products.get_indexer(tx["product_id"].astype("string").str.strip().str.upper()) \
        if "product_id" in tx.columns else np.full(len(tx), -1)
    is_return = tx["is_return"].to_numpy(dtype=bool) if "is_return" in tx.columns else np.zeros(len(tx), bool)
    inv_codes = pd.factorize(tx["invoice_id"])[0] if "invoice_id" in tx.columns else np.full(len(tx), -1)
    inv = np.where(inv_codes >= 0, inv_codes.astype(np.int64), -(day.astype(np.int64) + 2))
    price = tx["unit_price"].to_numpy(dtype="float64", na_value=np.nan) if "unit_price" in tx.columns \
        else np.full(len(tx), np.nan)
    amount = tx["amount"].to_numpy(dtype="float64", na_value=0.0)
    keep = ~is_return
    sales = pd.DataFrame({"c": c[keep], "p": p[keep], "day": day[keep], "inv": inv[keep],
                          "price": price[keep], "amount": amount[keep]})
    returns_amount = pd.DataFrame({"c": c[is_return], "day": day[is_return], "amount": amount[is_return]})
    if hold is not None:
        hc = customers.get_indexer(hold["customer_id"].astype("string"))
        hp = products.get_indexer(hold["product_id"].astype("string").str.strip().str.upper())
        opened = _days(hold["opened_at"]) if "opened_at" in hold.columns else np.full(len(hold), -10**6)
        closed = _days(hold["closed_at"], missing=10**9) if "closed_at" in hold.columns else np.full(len(hold), 10**9)
        opened = np.where(opened == 10**9, -10**6, opened)
        h = pd.DataFrame({"c": hc, "p": hp, "opened": opened, "closed": closed})
        h = h[(h.c >= 0) & (h.p >= 0)].reset_index(drop=True)
    else:
        h = pd.DataFrame({"c": np.array([], int), "p": np.array([], int), "opened": np.array([], int),
                          "closed": np.array([], int)})
    return CodedLines(customers, products, sales, returns_amount, h)


@dataclass(frozen=True)
class History:
    """What was known on one day.

    Attributes:
        day: the day number of the as-of date.
        pairs: one row per (customer, product) bought or held: ``c, p, n``
            (distinct invoices), ``first, last`` (days before ``day``),
            ``held`` (held on ``day``), ``spend``.
        customers: per customer code (index) with a sale or holding:
            ``frequency, first, recency, monetary``.
        popularity: per product code, distinct invoices in the window (anonymous sales included).
        popularity_recent: the same over the last third of the window.
        buyers: per product code, customers who bought or hold it.
        repeat_rate: per product code, share of its buyers with two or more invoices.
        usual_interval: per product code, median days between repeat purchases (NaN when none).
    """

    day: int
    pairs: pd.DataFrame
    customers: pd.DataFrame
    popularity: np.ndarray
    popularity_recent: np.ndarray
    buyers: np.ndarray
    repeat_rate: np.ndarray
    usual_interval: np.ndarray


def history_as_of(lines: CodedLines, day: int, window_days: int) -> History:
    """Cut the coded lines at ``day`` (inclusive) and summarise them.

    Args:
        lines: from :func:`code_lines`.
        day: day number of the as-of date.
        window_days: popularity window.
    """
    P = len(lines.products)
    s = lines.sales[lines.sales["day"] <= day]
    window = s[(s["day"] > day - window_days) & (s["p"] >= 0)]
    recent = window[window["day"] > day - max(window_days // 3, 1)]
    popularity = _distinct_count(window["p"], window["inv"], P)
    popularity_recent = _distinct_count(recent["p"], recent["inv"], P)

    known = s[s["c"] >= 0]
    per_invoice = known.drop_duplicates(["c", "inv"])
    r = lines.returns_amount
    r = r[(r["day"] <= day) & (r["c"] >= 0)]
    cust = per_invoice.groupby("c").agg(frequency=("inv", "size"), first_day=("day", "min"), last_day=("day", "max"))
    spend = known.groupby("c")["amount"].sum().add(r.groupby("c")["amount"].sum(), fill_value=0.0)

    lines_cp = known[known["p"] >= 0]
    inv_cp = lines_cp.drop_duplicates(["c", "p", "inv"])
    pairs = inv_cp.groupby(["c", "p"], sort=True).agg(n=("inv", "size"), first_day=("day", "min"),
                                                      last_day=("day", "max")).reset_index()
    pairs["spend"] = lines_cp.groupby(["c", "p"], sort=True)["amount"].sum().to_numpy()
    pairs["held"] = False
    h = lines.holdings
    h = h[h["opened"] <= day]
    if len(h):
        hp = h.assign(held=h["closed"] > day).groupby(["c", "p"], sort=True).agg(
            hold_first=("opened", "min"), hold_last=("opened", "max"), held=("held", "any")).reset_index()
        pairs = pairs.merge(hp, on=["c", "p"], how="outer", suffixes=("_tx", ""))
        pairs["held"] = pairs["held"].astype("boolean").fillna(False).astype(bool)
        pairs["n"] = pairs["n"].fillna(1).astype(np.int64)
        pairs["first_day"] = pairs["first_day"].fillna(pairs["hold_first"]).astype(np.int64)
        pairs["last_day"] = pairs["last_day"].fillna(pairs["hold_last"]).astype(np.int64)
        pairs["spend"] = pairs["spend"].fillna(0.0)
        pairs = pairs.drop(columns=["hold_first", "hold_last", "held_tx"], errors="ignore")
        hc = h.groupby("c").agg(hfirst=("opened", "min"), hlast=("opened", "max"))
        cust = cust.join(hc, how="outer")
        cust["frequency"] = cust["frequency"].fillna(0).astype(np.int64)
        cust["first_day"] = np.fmin(cust["first_day"].to_numpy(float), cust["hfirst"].to_numpy(float))
        cust["last_day"] = np.fmax(cust["last_day"].to_numpy(float), cust["hlast"].to_numpy(float))
        cust = cust.drop(columns=["hfirst", "hlast"])
    pairs = pairs.sort_values(["c", "p"]).reset_index(drop=True)
    pairs["first"] = (day - pairs.pop("first_day")).astype(np.int64)
    pairs["last"] = (day - pairs.pop("last_day")).astype(np.int64)
    cust["first"] = (day - cust.pop("first_day")).astype(np.int64)
    cust["recency"] = (day - cust.pop("last_day")).astype(np.int64)
    cust["monetary"] = spend.reindex(cust.index).fillna(0.0)
    cust = cust.sort_index()

    buyers = np.bincount(pairs["p"], minlength=P).astype(np.float64)
    repeaters = np.bincount(pairs["p"], weights=(pairs["n"] >= 2).astype(float), minlength=P)
    repeat_rate = np.divide(repeaters, buyers, out=np.zeros(P), where=buyers > 0)
    rep = pairs[pairs["n"] >= 2]
    gaps = (rep["first"] - rep["last"]) / (rep["n"] - 1)
    usual = gaps.groupby(rep["p"]).median().reindex(range(P)).to_numpy(dtype=np.float64)
    return History(day, pairs, cust, popularity, popularity_recent, buyers, repeat_rate, usual)


def _distinct_count(p: pd.Series, inv: pd.Series, n: int) -> np.ndarray:
    """Distinct invoices per product code."""
    d = pd.DataFrame({"p": p.to_numpy(), "inv": inv.to_numpy()}).drop_duplicates()
    return np.bincount(d["p"].to_numpy(), minlength=n).astype(np.float64)


def _days(dates: pd.Series, missing: int = 10**9) -> np.ndarray:
    """Day numbers of a datetime-like Series; ``missing`` where NA."""
    d = pd.to_datetime(dates, errors="coerce")
    values = d.to_numpy(dtype="datetime64[ns]")
    out = values.astype("datetime64[D]").astype(np.int64)
    return np.where(pd.isna(values), missing, out)
