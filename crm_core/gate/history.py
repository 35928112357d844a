"""Purchase-history facts of each offer at the as-of date, from the canonical transactions.

- ``purchases``: distinct sales invoices (a line without an invoice id counts by its day).
- ``basket``: median sales-invoice amount (sales lines summed per invoice).
- ``days_since_first``: days since the first sale; ``days_since_last_line``:
  since the last line of any kind (a return is news about the customer too).
- ``days_since_bought``: since this customer last bought this product.
- ``repurchase_days``: the product's usual interval between purchase days of
  one customer, the median over customers who bought it on two days or more
  (rounded up to whole days);
  ``default_repurchase_days`` when nobody did.
- sales price: the median unit price of the product's sales lines in the
  ``price_window_days`` before as-of (for a shop without catalogue prices).

How it stays fast on ten million lines: customer ids are coded against the
offers' customers (one Arrow ``index_in``); consecutive lines of one customer,
day, kind and invoice are collapsed into runs before invoice ids are hashed;
sums are ``np.bincount``, medians one sort (``median_by``), and (customer,
product, day) keys one int64 sort.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_core.gate.codes import arrow, day_numbers, encode, lookup, median_by, positions, sorted_unique
from crm_core.gate.settings import GateConfig


def history_facts(tx: pd.DataFrame, cust_ids: pa.Array, oc: np.ndarray, prod_ids: pa.Array, op: np.ndarray,
                  as_day: int, config: GateConfig) -> dict:
    """Purchase-history facts per offer (arrays aligned with ``oc``/``op``) at day number ``as_day``.

    Args:
        tx: canonical transactions (lines after ``as_day`` are ignored).
        cust_ids, oc: the offers' distinct customer ids and each offer's code among them.
        prod_ids, op: the same for products.
        as_day: the as-of day number.
        config: gate settings (``default_repurchase_days``, ``price_window_days``).
    Returns:
        ``basket, purchases, days_since_first, days_since_last_line,
        repurchase_days, days_since_bought`` per offer, and ``_sales_price``
        per offered product code (the catalogue step's fallback price).
    """
    P = max(len(prod_ids), 1)
    when, missing = day_numbers(tx["invoice_date"])
    keep = ~missing & (when <= as_day)  # masks, not a copy of ten million lines
    day = np.where(keep, when, 0).astype(np.int64)
    tc = _customer_codes(tx["customer_id"], cust_ids)
    tp = positions(tx["product_id"], prod_ids)
    sale = keep & ~tx["is_return"].to_numpy(dtype=bool, na_value=False)
    amount = tx["amount"].to_numpy(dtype=float, na_value=np.nan)
    lo = int(day[keep].min()) if keep.any() else 0
    span = int(day[keep].max()) - lo + 1 if keep.any() else 1

    invoice = arrow(tx["invoice_id"]) if "invoice_id" in tx.columns else None
    cust = _customer_facts(np.where(keep, tc, -1), day, sale, amount, invoice, len(cust_ids), lo, span)
    facts = {"basket": cust["basket"][oc], "purchases": cust["purchases"][oc],
             "days_since_first": as_day - cust["first"][oc], "days_since_last_line": as_day - cust["last"][oc]}

    w = sale & (tc >= 0) & (tp >= 0)
    pair, first, last, count = _pair_days(tc[w] * P + tp[w], day[w] - lo, span)
    rhythm = np.full(P, np.nan)
    repeat = count >= 2
    if repeat.any():  # a product's usual interval: median over customers who bought it on >= 2 days
        interval = (last[repeat] - first[repeat]) / (count[repeat] - 1)
        # Rounded up to whole days: days since a purchase are whole, so "fewer days than the interval"
        # is unchanged, and a message never reads "28 days ago, within a window of 28 days".
        rhythm = np.ceil(median_by(pair[repeat] % P, interval, P))
    facts["repurchase_days"] = np.where(np.isfinite(rhythm), rhythm, float(config.default_repurchase_days))[op]
    facts["days_since_bought"] = as_day - lookup(pair, (last + lo).astype(float), oc * P + op)

    unit = tx["unit_price"].to_numpy(dtype=float, na_value=np.nan) if "unit_price" in tx.columns else amount * np.nan
    qty = tx["quantity"].to_numpy(dtype=float, na_value=np.nan) if "quantity" in tx.columns else amount * np.nan
    w = sale & (tp >= 0) & (day > as_day - config.price_window_days)
    facts["_sales_price"] = _median_unit_price(unit[w], qty[w], amount[w], tp[w], P)
    return facts


def _customer_codes(ids, cust_ids: pa.Array) -> np.ndarray:
    """Customer codes of the lines: the offers' codes first, then one per other customer (-1: anonymous).

    Customers without offers still count for a product's repurchase rhythm.
    """
    tc = positions(ids, cust_ids)
    other = np.flatnonzero(tc < 0)
    if len(other):
        rest, _ = encode(arrow(ids).take(pa.array(other)))
        tc[other] = np.where(rest >= 0, rest + len(cust_ids), -1)
    return tc


def _customer_facts(tc, day, sale, amount, invoice, C, lo, span) -> dict:
    """For the first ``C`` customer codes: median invoice amount, distinct sales invoices, first sale
    day and last line day.

    Consecutive lines of one customer, day, invoice and kind (sale or return)
    are collapsed into runs first, so only the runs' invoice ids are hashed;
    runs of one invoice that are not adjacent are joined again by the
    (customer, invoice) grouping.
    """
    mine = (tc >= 0) & (tc < C)
    heads = _run_heads(tc, day, sale, invoice)
    rc, rday, rsale = tc[heads], day[heads], sale[heads]
    rmine = mine[heads]
    rsum = np.add.reduceat(np.where(sale, np.nan_to_num(amount), 0.0), heads) if len(heads) else np.zeros(0)
    last = np.full(C + 1, -np.inf)
    first = np.full(C + 1, np.inf)
    np.maximum.at(last, np.where(rmine, rc, C), rday)  # code C: a spare slot for lines that do not count
    np.minimum.at(first, np.where(rmine & rsale, rc, C), rday)
    purchases = np.zeros(C, dtype=np.int64)
    basket = np.full(C, np.nan)
    o = np.flatnonzero(rmine & rsale)
    if len(o):
        # An order is an invoice id, or a purchase day for runs without one (the contract's rule).
        inv, inv_ids = encode(invoice.take(pa.array(heads[o]))) if invoice is not None else (
            np.full(len(o), -1), [])
        width = len(inv_ids) + span
        which, keys = pd.factorize(rc[o] * width + np.where(inv >= 0, inv, len(inv_ids) + rday[o] - lo))
        totals = np.bincount(which, weights=rsum[o], minlength=len(keys))
        owner = keys // width
        purchases = np.bincount(owner, minlength=C).astype(np.int64)
        basket = median_by(owner, totals, C)
    return {"last": np.where(np.isfinite(last), last, np.nan)[:C],
            "first": np.where(np.isfinite(first), first, np.nan)[:C], "purchases": purchases, "basket": basket}


def _run_heads(tc, day, sale, invoice) -> np.ndarray:
    """Positions where a run starts: the customer, day, kind or invoice id differs from the line before."""
    if len(tc) == 0:
        return np.zeros(0, dtype=np.int64)
    same = (tc[1:] == tc[:-1]) & (day[1:] == day[:-1]) & (sale[1:] == sale[:-1])
    if invoice is not None:
        head, tail = invoice[:-1], invoice[1:]
        equal = pc.or_(pc.fill_null(pc.equal(tail, head), False), pc.and_(tail.is_null(), head.is_null()))
        same &= equal.to_numpy(zero_copy_only=False)
    return np.flatnonzero(np.concatenate(([True], ~same)))


def _pair_days(pair: np.ndarray, offset: np.ndarray, span: int):
    """Per distinct pair key (sorted): first and last day offset and the number of distinct days."""
    if len(pair) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty
    if pair.max() < (2 ** 62) // span:  # one int64 key per (pair, day), sorted once
        both = sorted_unique(pair * span + offset)
        p, d = both // span, both % span
    else:
        both = pd.DataFrame({"p": pair, "d": offset}).drop_duplicates().sort_values(["p", "d"])
        p, d = both["p"].to_numpy(), both["d"].to_numpy()
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
    ends = np.r_[starts[1:], len(p)] - 1
    return p[starts], d[starts], d[ends], ends - starts + 1


def _median_unit_price(unit, qty, amount, tp, P) -> np.ndarray:
    """Median unit price per offered product code (the line's unit price, else amount / quantity)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.where(np.isfinite(unit) & (unit > 0), unit, np.where((qty > 0) & (amount > 0), amount / qty, np.nan))
    ok = np.isfinite(unit)
    return median_by(tp[ok], unit[ok], P)
