"""The facts each offer is judged on: one row per offer, computed from the canonical frames.

Two dates, on purpose. Purchase history (held, bought, price, basket, thin or
stale data) is read at the run's ``as_of`` date; contact facts (consent,
do-not-contact, last contact, previous exports) at the ``contact_date``, the
day the offers will be used: the customers frame must be resolved at that date
(``read_customers(db, ws, as_of=contact_date)``), the silence window and
previous exports count back from it.

Columns (``FACT_COLUMNS``; days are float, NaN when unknown):

- ``scenario``, ``score``: the offer's, for the REBUY exception and LOW_SCORE.
- ``email_opt_in``, ``do_not_contact`` (nullable), ``consent_known`` (either
  is known), ``last_contacted_at``, ``days_since_contact``: at the contact date.
- ``held``: the customer holds the product at as-of (holdings).
- ``days_since_bought``, ``repurchase_days``, ``basket``, ``purchases``,
  ``days_since_first``, ``days_since_last_line``: purchase history at as-of
  (crm_core.gate.history says how each is counted).
- ``product_active``, ``price`` (catalogue price, else the median unit price
  of its sales in ``price_window_days``, else NaN), ``price_source``
  (``catalog``, ``sales`` or NA), ``margin_rate`` (NaN unless costs are known).
- ``days_since_exported``: same customer and product, exports up to the contact date.
- ``has_pitch``, ``pitch_failures`` (failed check codes joined by ``;``, '' when none).

How it stays fast: ids are coded once with Arrow (``dictionary_encode``,
``index_in``); frames are grouped with integer keys, never per offer; every
offer then reads its facts with one gather or one ``searchsorted``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from crm_core.gate.codes import day_number, day_numbers, encode, lookup, pairs, positions, sorted_unique, take_text
from crm_core.gate.history import PurchaseHistory, history_facts
from crm_core.gate.settings import GateConfig

FACT_COLUMNS = {
    "scenario": "string", "score": "float64",
    "email_opt_in": "boolean", "do_not_contact": "boolean", "consent_known": "bool",
    "last_contacted_at": "datetime64[ns]", "days_since_contact": "float64",
    "held": "bool", "days_since_bought": "float64", "repurchase_days": "float64",
    "product_active": "bool", "price": "float64", "price_source": "string", "basket": "float64",
    "purchases": "int64", "days_since_first": "float64", "days_since_last_line": "float64",
    "margin_rate": "float64", "days_since_exported": "float64", "has_pitch": "bool", "pitch_failures": "string",
}


def offer_facts(offers: pd.DataFrame, *, customers: pd.DataFrame | None, products: pd.DataFrame | None,
                transactions: pd.DataFrame | PurchaseHistory, holdings: pd.DataFrame | None, previous_exports: pd.DataFrame | None,
                pitches: pd.DataFrame | None = None, as_of: dt.date, contact_date: dt.date,
                config: GateConfig) -> pd.DataFrame:
    """The facts of every offer, aligned with ``offers`` (same index, same order).

    Args:
        offers: the engine's offers (``customer_id, product_id, scenario, score`` are read).
        customers: customers resolved at ``contact_date`` (``email_opt_in``,
            ``do_not_contact``, ``last_contacted_at``), or None: consent unknown.
        products: the products frame (``price, unit_cost, margin_rate, active``), or None.
        transactions: canonical transactions (lines after ``as_of`` are ignored), or their
            ``summarise_history`` at ``as_of`` with the same ``config`` (a run's way: the lines can
            then be freed before the offers are scored).
        holdings: ``customer_id, product_id, opened_at, closed_at``, or None.
        previous_exports: ``customer_id, product_id, exported_at`` of offers
            already exported, or None; exports after ``contact_date`` are ignored.
        pitches: ``customer_id, product_id`` of drafted pitches, optionally
            ``pitch_failures`` (failed check codes joined by ``;``, empty when it passed), or None.
        as_of: the sales data's reference date (whole day included).
        contact_date: the day the offers will be used.
        config: gate settings (default repurchase window, price window).
    Returns:
        A frame with the columns of :data:`FACT_COLUMNS`. Days are float (NaN
        when unknown); ``price`` is the catalogue price, else the median unit
        price of the product's sales in ``price_window_days`` (``price_source``
        says which), else NaN; ``margin_rate`` is NaN unless costs are known;
        ``basket`` is the median sales-invoice amount.
    """
    n = len(offers)
    if n == 0:
        return pd.DataFrame({k: pd.Series(dtype=t) for k, t in FACT_COLUMNS.items()}, index=offers.index)
    as_day, contact_day = day_number(as_of), day_number(contact_date)
    oc, cust_ids = encode(offers["customer_id"])
    op, prod_ids = encode(offers["product_id"])
    if (oc < 0).any() or (op < 0).any():
        raise ValueError("offer_facts: every offer needs a customer_id and a product_id.")
    out: dict[str, object] = {
        "scenario": offers["scenario"].astype("string").array,
        "score": pd.to_numeric(offers["score"]).to_numpy(dtype=float, na_value=np.nan)}
    out.update(_consent(customers, cust_ids, oc, contact_day))
    history = history_facts(transactions, cust_ids, oc, prod_ids, op, as_day, config)
    out["held"] = _held(holdings, cust_ids, oc, prod_ids, op, as_day)
    out.update(history)
    out.update(_catalogue(products, prod_ids, op, history.pop("_sales_price")))
    exported = _pair_max(previous_exports, "exported_at", cust_ids, oc, prod_ids, op, upto=contact_day)
    out["days_since_exported"] = contact_day - exported
    out.update(_pitches(pitches, cust_ids, oc, prod_ids, op))
    frame = pd.DataFrame({k: out[k] for k in FACT_COLUMNS}, index=offers.index)
    return frame.astype(FACT_COLUMNS)


def _consent(customers, cust_ids, oc, contact_day) -> dict:
    """Consent columns of each offer's customer (unknown when the customers frame does not say)."""
    n = len(oc)
    if customers is None or len(customers) == 0:
        opt = dnc = pd.array([pd.NA] * n, dtype="boolean")
        contacted = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    else:
        cu = customers.drop_duplicates("customer_id", keep="last")
        at = positions(cu["customer_id"], cust_ids)  # row of each offered customer in `cu`
        row = np.full(len(cust_ids), -1, dtype=np.int64)
        row[at[at >= 0]] = np.flatnonzero(at >= 0)
        take = row[oc] if n else np.zeros(0, dtype=np.int64)
        opt, dnc = (_column(cu, name, "boolean").array.take(take, allow_fill=True)
                    for name in ("email_opt_in", "do_not_contact"))
        contacted = pd.Series(_column(cu, "last_contacted_at", "datetime64[ns]").to_numpy()[np.maximum(take, 0)])
        contacted = contacted.where(take >= 0)
    last_day, _ = day_numbers(contacted)
    known = ~(np.asarray(pd.isna(opt)) & np.asarray(pd.isna(dnc)))
    return {"email_opt_in": opt, "do_not_contact": dnc, "consent_known": known,
            "last_contacted_at": contacted.to_numpy(dtype="datetime64[ns]"),
            "days_since_contact": contact_day - last_day}


def _column(frame: pd.DataFrame, name: str, dtype: str) -> pd.Series:
    """A column in ``dtype``, all missing when the frame lacks it."""
    if name in frame.columns:
        return frame[name].astype(dtype)
    return pd.Series(pd.NA if dtype == "boolean" else pd.NaT, index=frame.index, dtype=dtype)


def _held(holdings, cust_ids, oc, prod_ids, op, as_day) -> np.ndarray:
    """Whether the customer holds the product at ``as_of`` (opened on or before it, not closed by then)."""
    if holdings is None or len(holdings) == 0:
        return np.zeros(len(oc), dtype=bool)
    key, found = pairs(holdings, cust_ids, prod_ids)
    open_now = np.ones(len(holdings), dtype=bool)  # opened on or before as-of (or unknown), not closed by then
    if "opened_at" in holdings.columns:
        opened, unknown = day_numbers(holdings["opened_at"])
        open_now &= unknown | (opened <= as_day)
    if "closed_at" in holdings.columns:
        closed, unknown = day_numbers(holdings["closed_at"])
        open_now &= unknown | (closed > as_day)
    held = sorted_unique(key[found & open_now])
    return np.isin(oc * max(len(prod_ids), 1) + op, held)


def _pair_max(frame, column, cust_ids, oc, prod_ids, op, *, upto: int) -> np.ndarray:
    """Latest day of ``column`` on or before ``upto`` per offered (customer, product) pair (NaN when none)."""
    if frame is None or len(frame) == 0:
        return np.full(len(oc), np.nan)
    key, found = pairs(frame, cust_ids, prod_ids)
    when, missing = day_numbers(frame[column])
    keep = found & ~missing & (when <= upto)
    latest = pd.Series(when[keep]).groupby(key[keep]).max()
    return lookup(latest.index.to_numpy(), latest.to_numpy(), oc * max(len(prod_ids), 1) + op)


def _pitches(pitches, cust_ids, oc, prod_ids, op) -> dict:
    """Whether a pitch is drafted for the offer, and the codes of its failed checks ('' when none)."""
    n = len(oc)
    if pitches is None or len(pitches) == 0:
        none = take_text(np.array([""], dtype=object), np.zeros(n, dtype=np.int64))
        return {"has_pitch": np.zeros(n, dtype=bool), "pitch_failures": none}
    key, found = pairs(pitches, cust_ids, prod_ids)
    rows = pd.Series(np.flatnonzero(found)).groupby(key[found]).last()  # the latest row of a pair wins
    at = lookup(rows.index.to_numpy(), rows.to_numpy(), oc * max(len(prod_ids), 1) + op, fill=-1).astype(np.int64)
    failures = (pitches["pitch_failures"].astype("string") if "pitch_failures" in pitches.columns
                else pd.Series("", index=pitches.index, dtype="string"))
    text = np.append(failures.fillna("").str.strip().to_numpy(dtype=object), "")  # the last one: no pitch
    return {"has_pitch": at >= 0, "pitch_failures": take_text(text, np.where(at >= 0, at, len(text) - 1))}


def _catalogue(products, prod_ids, op, sales_price) -> dict:
    """Active flag, price (catalogue, else recent sales) and margin rate of each offered product."""
    P = len(prod_ids)
    cat_price = np.full(P, np.nan)
    cost = np.full(P, np.nan)
    margin = np.full(P, np.nan)
    active = np.ones(P, dtype=bool)
    if products is not None and len(products):
        pr = products.drop_duplicates("product_id", keep="last")
        at = positions(pr["product_id"], prod_ids)
        ok = at >= 0
        price = _column(pr, "price", "float64").to_numpy(dtype=float, na_value=np.nan)[ok]
        cat_price[at[ok]] = np.where(price > 0, price, np.nan)
        cost[at[ok]] = _column(pr, "unit_cost", "float64").to_numpy(dtype=float, na_value=np.nan)[ok]
        margin[at[ok]] = _column(pr, "margin_rate", "float64").to_numpy(dtype=float, na_value=np.nan)[ok]
        active[at[ok]] = _column(pr, "active", "boolean").fillna(True).to_numpy(dtype=bool)[ok]
    price = np.where(np.isfinite(cat_price), cat_price, sales_price)
    source = np.where(np.isfinite(cat_price), "catalog", np.where(np.isfinite(sales_price), "sales", None))
    with np.errstate(invalid="ignore", divide="ignore"):
        derived = np.where(price > 0, (price - cost) / price, np.nan)
    margin = np.where(np.isfinite(margin), margin, derived)
    return {"product_active": active[op], "price": price[op], "margin_rate": margin[op],
            "price_source": take_text(source.astype(object), op)}
