"""Synthetic shops for the calibration tests, each made so that one blend of the engine should win.

Each runs 540 days from START; TRAIN_AS_OF leaves 115 days after it to check the choice on.

- :func:`loyal_shop`: repeat customers rebuy eight long-tail products of their own on slow,
  irregular cycles and never buy the bestsellers, which anonymous walk-ins make very popular:
  weighing popularity puts the wrong products first (the purchase model knows better: ``affinity_led``).
- :func:`refill_shop`: a new line every 60 days, refilled about every 100 days, so a young
  line has no repeat purchase yet and the configured rules do not offer it again (``rebuy_first``).
- :func:`bestseller_shop`: every visit picks from one steep bestseller list; nothing personal
  to learn, so no blend does clearly better than the configured one.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

START = dt.date(2023, 1, 1)
TRAIN_AS_OF = dt.date(2024, 3, 1)  # 425 days in; 115 days of the shop follow it


def _frame(rows: list[tuple], start: dt.date) -> pd.DataFrame:
    """Canonical tx from (customer_id, invoice_id, day from ``start``, product_id, price) rows."""
    customer, invoice, day, product, price = zip(*rows, strict=True)
    dates = pd.to_datetime(np.datetime64(start, "D") + np.asarray(day, dtype=np.int64).astype("timedelta64[D]"))
    n = len(product)
    tx = pd.DataFrame({"customer_id": pd.array(customer, dtype="string"),
                       "invoice_id": pd.array(invoice, dtype="string"),
                       "invoice_date": dates.astype("datetime64[ns]"),
                       "product_id": pd.array(product, dtype="string"),
                       "product_name": pd.array([f"Name {p}" for p in product], dtype="string"),
                       "category": pd.array([None] * n, dtype="string"),
                       "quantity": np.ones(n), "unit_price": np.asarray(price, dtype=float)})
    tx["amount"] = tx["quantity"] * tx["unit_price"]
    tx["is_return"] = False
    tx["is_merchandise"] = True
    return tx.sort_values(["invoice_date", "invoice_id", "product_id"], kind="mergesort").reset_index(drop=True)


def loyal_shop(seed: int = 1, customers: int = 1500, days: int = 540, start: dt.date = START) -> pd.DataFrame:
    """Loyal rebuyers of their own products, and bestsellers bought only by anonymous walk-ins (see module)."""
    rng = np.random.default_rng(seed)
    tail = [f"T{i:03d}" for i in range(240)]
    best = [f"B{i}" for i in range(6)]
    share = 1.0 / np.arange(1, len(tail) + 1)  # some tail products have many more buyers than others
    share /= share.sum()
    rows = []
    for k in range(customers):
        cid = f"C{k:04d}"
        for j, product in enumerate(rng.choice(tail, size=8, replace=False, p=share)):
            cycle = rng.uniform(120, 240)
            t = rng.uniform(0, cycle)
            while t < days:
                if rng.random() < 0.5:
                    rows.append((cid, f"{cid}-{j}-{int(t)}", int(t), product, 10.0))
                t += cycle * rng.uniform(0.5, 1.5)
    for d in range(days):
        for i, product in enumerate(best):
            for n in range(int(rng.poisson(12 / (i + 1)))):
                rows.append((None, f"A{d}-{i}-{n}", d, product, 8.0))
    return _frame(rows, start)


def bestseller_shop(seed: int = 3, customers: int = 1500, days: int = 540, start: dt.date = START) -> pd.DataFrame:
    """Every visit picks two products from the same steep bestseller list; nothing personal to learn."""
    rng = np.random.default_rng(seed)
    products = [f"P{i:03d}" for i in range(120)]
    weights = 1.0 / np.arange(1, len(products) + 1) ** 1.2
    weights /= weights.sum()
    rows = []
    for k in range(customers):
        d = float(rng.uniform(0, 60))
        while d < days:
            for p in rng.choice(len(products), size=2, replace=False, p=weights):
                rows.append((f"C{k:04d}", f"C{k:04d}-{int(d)}", int(d), products[p], 12.0))
            d += rng.exponential(70)
    return _frame(rows, start)


def refill_shop(seed: int = 5, customers: int = 1500, days: int = 540, start: dt.date = START) -> pd.DataFrame:
    """A new line every 60 days; a buyer refills it about every 100 days, so a young line has no repeat yet."""
    rng = np.random.default_rng(seed)
    rows = []
    for line in range(days // 60):
        launch = line * 60
        for k in range(customers):
            if rng.random() < 0.25:
                product = f"L{line:02d}-{int(rng.integers(0, 4))}"
                t = launch + float(rng.uniform(0, 20))
                while t < days:
                    rows.append((f"C{k:04d}", f"C{k:04d}-{int(t)}-{line}", int(t), product, 15.0))
                    t += rng.uniform(90, 110)
    for k in range(customers):  # and now and then one of a few staples
        d = float(rng.exponential(90))
        while d < days:
            rows.append((f"C{k:04d}", f"C{k:04d}-{int(d)}-s", int(d), f"S{int(rng.integers(0, 8))}", 5.0))
            d += rng.exponential(90)
    return _frame(rows, start)
