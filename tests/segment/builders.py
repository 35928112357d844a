"""Builders of small transaction frames for the segment tests (canonical columns, docs/contracts.md)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

AS_OF = dt.date(2024, 6, 30)


def make_tx(rows: list[dict]) -> pd.DataFrame:
    """Canonical transactions from a few dicts (defaults for every optional column)."""
    frame = pd.DataFrame(rows)
    defaults = {
        "invoice_id": pd.NA, "product_id": "P1", "product_name": pd.NA, "category": "F1",
        "quantity": 1.0, "unit_price": np.nan, "is_return": False, "is_merchandise": True,
    }
    for column, value in defaults.items():
        if column not in frame.columns:
            frame[column] = value
        elif value is not pd.NA:  # a column given in some rows only: the rest take the default
            frame[column] = frame[column].astype(object).where(frame[column].notna(), value)
    frame["customer_id"] = frame["customer_id"].astype("string")
    for column in ("invoice_id", "product_id", "product_name", "category"):
        frame[column] = frame[column].astype("string")
    frame["invoice_date"] = pd.to_datetime(frame["invoice_date"], format="ISO8601")
    frame["amount"] = frame["amount"].astype("float64")
    frame["quantity"] = frame["quantity"].astype("float64")
    frame["unit_price"] = frame["unit_price"].astype("float64")
    frame["is_return"] = frame["is_return"].astype(bool)
    frame["is_merchandise"] = frame["is_merchandise"].astype(bool)
    return frame


def simulate_tx(n_customers: int = 600, *, seed: int = 7, days: int = 540, as_of: dt.date = AS_OF) -> pd.DataFrame:
    """BG/NBD-like purchase histories: gamma purchase rates, beta dropout, lognormal spend."""
    rng = np.random.default_rng(seed)
    end = pd.Timestamp(as_of)
    rows_c, rows_d, rows_a, rows_p = [], [], [], []
    rate = rng.gamma(0.8, 1 / 25.0, n_customers)  # purchases per day
    dropout = rng.beta(1.0, 4.0, n_customers)
    spend = rng.lognormal(3.5, 0.6, n_customers)
    start = rng.integers(0, days, n_customers)
    for c in range(n_customers):  # test-data generator, not library code
        t = float(start[c])
        while t <= days:
            rows_c.append(f"C{c:04d}")
            rows_d.append(end - pd.Timedelta(days=days - int(t)))
            rows_a.append(round(float(spend[c] * rng.gamma(6.0, 1 / 6.0)), 2))
            rows_p.append(f"P{rng.integers(0, 30):02d}")
            if rng.random() < dropout[c]:
                break
            t += rng.exponential(1 / rate[c])
    n = len(rows_c)
    return make_tx([
        {"customer_id": c, "invoice_id": f"I{i:06d}", "invoice_date": d, "amount": a, "product_id": p,
         "category": f"F{int(p[1:]) % 6}"}
        for i, (c, d, a, p) in enumerate(zip(rows_c, rows_d, rows_a, rows_p))
    ]) if n else make_tx([])
