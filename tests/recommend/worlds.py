"""Builders of small hand-made transaction frames for the offer engine tests."""

from __future__ import annotations

import datetime as dt

import pandas as pd

AS_OF = dt.date(2024, 6, 30)


def make_tx(rows: list[tuple]) -> pd.DataFrame:
    """Canonical tx from (customer_id, invoice_id, date, product_id, amount[, category][, is_return]) tuples."""
    recs = []
    for r in rows:
        cust, inv, date, product, amount = r[:5]
        category = r[5] if len(r) > 5 else None
        is_return = bool(r[6]) if len(r) > 6 else False
        recs.append({"customer_id": cust, "invoice_id": inv, "invoice_date": pd.Timestamp(date),
                     "product_id": product, "product_name": f"Name {product}" if product else None,
                     "category": category, "quantity": -1.0 if is_return else 1.0,
                     "unit_price": abs(float(amount)), "amount": float(amount), "is_return": is_return,
                     "is_merchandise": product not in ("POST", "FEE")})
    tx = pd.DataFrame(recs)
    for col in ("customer_id", "invoice_id", "product_id", "product_name", "category"):
        tx[col] = tx[col].astype("string")
    tx["invoice_date"] = tx["invoice_date"].astype("datetime64[ns]")
    return tx


def days_before(n: int, as_of: dt.date = AS_OF) -> dt.date:
    return as_of - dt.timedelta(days=n)
