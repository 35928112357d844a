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

A run summarises the lines once (:func:`summarise_history`, before the
offers exist) and looks each offer up in the summary, so the lines can be
freed before the offers are scored.

How it stays fast on ten million lines: customer and product ids are coded
by one Arrow dictionary encoding each; consecutive lines of one customer,
day, kind and invoice are collapsed into runs before invoice ids are hashed;
sums are ``np.bincount``, medians one sort (``median_by``), and (customer,
product, day) keys one int64 sort.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_core.gate.codes import arrow, day_numbers, encode, lookup, median_by, positions, sorted_unique
from crm_core.gate.settings import GateConfig


@dataclass(frozen=True)
class PurchaseHistory:
    """What the gate reads of the lines at one as-of day, summarised once: arrays per customer, per
    product and per (customer, product) pair, a few hundred megabytes where ten million lines take
    gigabytes (the pipeline frees the lines once the offer engine has coded them).

    Customers and products are coded in order of first appearance among the lines;
    pair keys are ``customer code * len(product_ids) + product code``.
    """

    as_day: int
    customer_ids: pa.Array
    basket: np.ndarray  # median sales-invoice amount per customer (NaN: no sale)
    purchases: np.ndarray  # distinct sales invoices per customer
    first_sale: np.ndarray  # day number of the first sale per customer (NaN: none)
    last_line: np.ndarray  # day number of the last line of any kind per customer (NaN: none)
    product_ids: pa.Array
    repurchase_days: np.ndarray  # per product, the default where nobody bought it on two days
    sales_price: np.ndarray  # per product, median unit price in the price window (NaN: no sale there)
    pair_keys: np.ndarray  # sorted, of the pairs with a sale
    pair_last: np.ndarray  # day number of the pair's last sale
    settings: tuple[float, int]  # (default_repurchase_days, price_window_days) it was made with

    def facts(self, cust_ids: pa.Array, oc: np.ndarray, prod_ids: pa.Array, op: np.ndarray) -> dict:
        """The history facts of offers (see :func:`history_facts`), aligned with ``oc``/``op``."""
        cust = positions(cust_ids, self.customer_ids)[oc]  # each offer's customer among the summary's (-1: none)
        prod = positions(prod_ids, self.product_ids)
        wanted = np.where((cust >= 0) & (prod[op] >= 0), cust * max(len(self.product_ids), 1) + prod[op], -1)
        return {"basket": _at(self.basket, cust, np.nan), "purchases": _at(self.purchases, cust, 0),
                "days_since_first": self.as_day - _at(self.first_sale, cust, np.nan),
                "days_since_last_line": self.as_day - _at(self.last_line, cust, np.nan),
                "repurchase_days": _at(self.repurchase_days, prod, self.settings[0])[op],
                "days_since_bought": self.as_day - lookup(self.pair_keys, self.pair_last, wanted),
                "_sales_price": _at(self.sales_price, prod, np.nan)}


def _at(values: np.ndarray, codes: np.ndarray, missing) -> np.ndarray:
    """``values[codes]``, ``missing`` where the code is -1 (the appended last slot)."""
    return np.append(values, missing)[codes]


def summarise_history(tx: pd.DataFrame, as_day: int, config: GateConfig) -> PurchaseHistory:
    """The gate's summary of the lines on or before day number ``as_day`` (see :class:`PurchaseHistory`)."""
    when, missing = day_numbers(tx["invoice_date"])
    keep = ~missing & (when <= as_day)  # masks, not a copy of ten million lines
    day = np.where(keep, when, 0).astype(np.int64)
    del when, missing  # each step lets go of what it no longer needs: a few hundred MB at ten million lines
    tc, customer_ids = encode(tx["customer_id"])
    tp, product_ids = encode(tx["product_id"])
    C, P = len(customer_ids), max(len(product_ids), 1)
    sale = keep & ~tx["is_return"].to_numpy(dtype=bool, na_value=False)
    amount = tx["amount"].to_numpy(dtype=float, na_value=np.nan)
    lo = int(day[keep].min()) if keep.any() else 0
    span = int(day[keep].max()) - lo + 1 if keep.any() else 1

    invoice = arrow(tx["invoice_id"]) if "invoice_id" in tx.columns else None
    cust = _customer_facts(np.where(keep, tc, -1), day, sale, amount, invoice, C, lo, span)
    del invoice

    unit = tx["unit_price"].to_numpy(dtype=float, na_value=np.nan) if "unit_price" in tx.columns else amount * np.nan
    qty = tx["quantity"].to_numpy(dtype=float, na_value=np.nan) if "quantity" in tx.columns else amount * np.nan
    w = sale & (tp >= 0) & (day > as_day - config.price_window_days)
    sales_price = _median_unit_price(unit[w], qty[w], amount[w], tp[w], P)
    del unit, qty, amount

    w = sale & (tc >= 0) & (tp >= 0)
    key, offset = tc[w] * P + tp[w], day[w] - lo
    del tc, tp, day, w, sale, keep
    pair, first, last, count = _pair_days(key, offset, span)
    del key, offset
    rhythm = np.full(P, np.nan)
    repeat = count >= 2
    if repeat.any():  # a product's usual interval: median over customers who bought it on >= 2 days
        interval = (last[repeat] - first[repeat]) / (count[repeat] - 1)
        # Rounded up to whole days: days since a purchase are whole, so "fewer days than the interval"
        # is unchanged, and a message never reads "28 days ago, within a window of 28 days".
        rhythm = np.ceil(median_by(pair[repeat] % P, interval, P))
    default = float(config.default_repurchase_days)
    return PurchaseHistory(
        as_day=as_day, customer_ids=customer_ids, basket=cust["basket"], purchases=cust["purchases"],
        first_sale=cust["first"], last_line=cust["last"], product_ids=product_ids,
        repurchase_days=np.where(np.isfinite(rhythm), rhythm, default), sales_price=sales_price,
        pair_keys=pair, pair_last=(last + lo).astype(float), settings=_settings(config))


def _settings(config: GateConfig) -> tuple[float, int]:
    return float(config.default_repurchase_days), int(config.price_window_days)


def history_facts(tx: pd.DataFrame | PurchaseHistory, cust_ids: pa.Array, oc: np.ndarray, prod_ids: pa.Array,
                  op: np.ndarray, as_day: int, config: GateConfig) -> dict:
    """Purchase-history facts per offer (arrays aligned with ``oc``/``op``) at day number ``as_day``.

    Args:
        tx: canonical transactions (lines after ``as_day`` are ignored), or their
            :func:`summarise_history` at ``as_day``.
        cust_ids, oc: the offers' distinct customer ids and each offer's code among them.
        prod_ids, op: the same for products.
        as_day: the as-of day number.
        config: gate settings (``default_repurchase_days``, ``price_window_days``).
    Returns:
        ``basket, purchases, days_since_first, days_since_last_line,
        repurchase_days, days_since_bought`` per offer, and ``_sales_price``
        per offered product code (the catalogue step's fallback price).
    Raises:
        ValueError: a summary made at another as-of day or with another repurchase default.
    """
    history = tx if isinstance(tx, PurchaseHistory) else summarise_history(tx, as_day, config)
    if history.as_day != as_day or history.settings != _settings(config):
        raise ValueError("history_facts: the purchase history was summarised at another as-of date or with "
                         "other gate settings than the offers are judged with.")
    return history.facts(cust_ids, oc, prod_ids, op)


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
        key = pair * span
        key += offset
        both = sorted_unique(key)
        del key
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
