"""The dirty rows every real shop export has, added to clean demo lines.

* cancelled invoices: a copy of an invoice's lines with a ``C`` before the
  invoice number and negative quantities, a few days later (~0.6 % of invoices);
* returns: a negative-quantity line on a new invoice weeks later (~0.3 % of lines);
* postage: a ``POST`` line (no category) on some online orders;
* free items: a few lines with a zero unit price;
* a customer id written as a float (``10023.0``) in a few rows;
* a few product codes in lower case with stray spaces;
* an exact duplicate line or two.

Anonymous sales (empty customer id) come from the line generator itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_core.demo.timeline import Calendar

POSTAGE_CODE = "POST"
CANCEL_RATE = 0.006
RETURN_RATE = 0.003
POSTAGE_RATE = 0.04
FLOAT_ID_CUSTOMER = "10023"


def add_dirty_rows(rng: np.random.Generator, tx: pd.DataFrame, calendar: Calendar) -> pd.DataFrame:
    """Return ``tx`` with the dirty rows above added, sorted by invoice date (stable).

    Args:
        rng: seeded generator.
        tx: clean lines from :func:`crm_core.demo.retail.retail_lines`, numeric invoice ids.
        calendar: the world's calendar (nothing is dated after its last day).
    Returns:
        A new frame with the same columns.
    """
    last_moment = calendar.to_datetime(np.array([calendar.n_days - 1]), np.array([23 * 60 + 59]))[0]
    known = tx["customer_id"].notna().to_numpy()
    inv_num = tx["invoice_id"].astype("int64").to_numpy()
    next_invoice = int(inv_num.max()) + 1 if len(tx) else 1

    # cancellations: whole invoices of known customers, reversed 0-3 days later
    invoices = np.unique(inv_num[known])
    cancelled = invoices[rng.random(len(invoices)) < CANCEL_RATE]
    rows = np.flatnonzero(np.isin(inv_num, cancelled))
    cancel = tx.iloc[rows].copy()
    delay = rng.integers(0, 3 * 24 * 60, len(cancelled))[np.searchsorted(cancelled, inv_num[rows])]
    cancel["invoice_id"] = ("C" + cancel["invoice_id"]).astype("string")
    cancel["quantity"] = -cancel["quantity"]
    cancel["invoice_date"] = np.minimum(cancel["invoice_date"].to_numpy() + delay.astype("timedelta64[m]"),
                                        last_moment)

    # returns: single lines sent back 7-30 days later, on a new invoice each
    rows = np.flatnonzero(known & (rng.random(len(tx)) < RETURN_RATE) & ~np.isin(inv_num, cancelled))
    ret = tx.iloc[rows].copy()
    ret["invoice_id"] = pd.array((next_invoice + np.arange(len(ret))).astype(str), dtype="string")
    next_invoice += len(ret)
    ret["quantity"] = -np.minimum(ret["quantity"].to_numpy(), rng.integers(1, 3, len(ret)))
    later = rng.integers(7 * 24 * 60, 30 * 24 * 60, len(ret)).astype("timedelta64[m]")
    ret["invoice_date"] = ret["invoice_date"].to_numpy() + later
    ret = ret[ret["invoice_date"].to_numpy() <= last_moment]

    # postage lines on online orders
    first_line = ~tx["invoice_id"].duplicated().to_numpy()
    online = (tx["channel"] == "online").to_numpy() & known & first_line
    rows = np.flatnonzero(online & (rng.random(len(tx)) < POSTAGE_RATE))
    post = tx.iloc[rows].copy()
    post["product_id"] = pd.array([POSTAGE_CODE] * len(post), dtype="string")
    post["product_name"] = pd.array(["POSTAGE"] * len(post), dtype="string")
    post["category"] = pd.array([pd.NA] * len(post), dtype="string")
    post["quantity"] = 1
    post["unit_price"] = np.where(rng.random(len(post)) < 0.8, 4.95, 18.0)

    # free items, and exact duplicates, on a handful of known-customer lines
    pick = rng.choice(np.flatnonzero(known), size=min(8, int(known.sum())), replace=False)
    free = tx.iloc[pick[:6]].copy()
    free["quantity"] = 1
    free["unit_price"] = 0.0
    dup = tx.iloc[pick[6:8]].copy()

    out = pd.concat([tx, cancel, ret, post, free, dup], ignore_index=True)
    out = out.iloc[np.argsort(out["invoice_date"].to_numpy(), kind="stable")].reset_index(drop=True)

    # a float-looking customer id and untidy product codes, in place
    ids = out["customer_id"]
    target = np.flatnonzero((ids == FLOAT_ID_CUSTOMER).fillna(False).to_numpy())[:8]
    if len(target) == 0:
        target = rng.choice(np.flatnonzero(ids.notna().to_numpy()), size=min(4, int(ids.notna().sum())),
                            replace=False)
    out.loc[target, "customer_id"] = out.loc[target, "customer_id"] + ".0"
    merch = np.flatnonzero((out["product_id"] != POSTAGE_CODE).to_numpy())
    untidy = rng.choice(merch, size=min(3, len(merch)), replace=False)
    out.loc[untidy, "product_id"] = " " + out.loc[untidy, "product_id"].str.lower() + " "
    return out
