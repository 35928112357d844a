"""Canonical transaction frames for the in-process stage benchmarks.

The stage benchmarks time features, segments and offers, not the importer,
so they need the canonical ``tx`` frame of docs/contracts.md without going
through the database. This is a plain conversion of the generator's own
clean CSV (its formats are known), cached as Parquet next to the CSV; it is
not a substitute for ``crm_core.ingest``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from crm_core.ids import normalise_ids

NON_MERCHANDISE = ("POST", "DOT", "M", "D", "C2", "ADJUST", "BANK CHARGES", "AMAZONFEE", "CRUK")


def canonical_transactions(csv_path: str | Path) -> pd.DataFrame:
    """The canonical ``tx`` frame of a generated transactions CSV (cached as ``<csv>.parquet``)."""
    csv_path = Path(csv_path)
    cache = csv_path.with_suffix(".canonical.parquet")
    if cache.exists() and cache.stat().st_mtime >= csv_path.stat().st_mtime:
        return pd.read_parquet(cache)
    raw = pd.read_csv(csv_path, dtype={"customer_id": "string", "invoice_id": "string", "product_id": "string",
                                       "product_name": "string", "category": "string", "channel": "string"},
                      engine="pyarrow")
    tx = pd.DataFrame({
        "customer_id": normalise_ids(raw["customer_id"]),
        "invoice_id": raw["invoice_id"].astype("string"),
        "invoice_date": pd.to_datetime(raw["invoice_date"]).astype("datetime64[ns]"),
        "product_id": normalise_ids(raw["product_id"], upper=True),
        "product_name": raw["product_name"],
        "category": raw["category"],
        "quantity": raw["quantity"].astype("float64"),
        "unit_price": raw["unit_price"].astype("float64"),
    })
    tx["amount"] = np.round(tx["quantity"] * tx["unit_price"], 2)
    tx["is_return"] = ((tx["quantity"] < 0) | tx["invoice_id"].str.startswith("C").fillna(False)).astype(bool)
    tx["is_merchandise"] = (~tx["product_id"].isin(NON_MERCHANDISE).fillna(False)).astype(bool)
    tx.to_parquet(cache, index=False)
    return tx


def as_of_date(tx: pd.DataFrame) -> pd.Timestamp:
    """The default as-of date: the day of the last transaction."""
    return tx["invoice_date"].max().normalize()
