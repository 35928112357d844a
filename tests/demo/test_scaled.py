"""Benchmark-sized files are streamed in chunks, deterministic, and chunks do not collide."""

from __future__ import annotations

import pandas as pd

from crm_core.demo import write_scaled_transactions
from crm_core.demo.world import TRANSACTION_COLUMNS


def test_scaled_file_is_deterministic_and_chunks_do_not_collide(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    lines = write_scaled_transactions(a, 3000, 30_000, seed=3, chunk_customers=1000)
    assert write_scaled_transactions(b, 3000, 30_000, seed=3, chunk_customers=1000) == lines
    assert a.read_bytes() == b.read_bytes()
    assert 28_500 <= lines <= 31_500
    tx = pd.read_csv(a, dtype={"customer_id": "string", "invoice_id": "string"})
    assert tuple(tx.columns) == TRANSACTION_COLUMNS and len(tx) == lines
    ids = tx["customer_id"].dropna().str.replace(r"\.0$", "", regex=True).astype(int)
    assert ids.min() >= 10001 and ids.max() <= 13000
    assert ids.nunique() > 2500  # customers of every chunk
    known = tx.dropna(subset=["customer_id"])
    owners = ids.groupby(known["invoice_id"]).nunique()
    assert owners.max() == 1  # an invoice number is never reused by another chunk


def test_other_seed_other_file(tmp_path):
    write_scaled_transactions(tmp_path / "a.csv", 500, 5000, seed=1)
    write_scaled_transactions(tmp_path / "b.csv", 500, 5000, seed=2)
    assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "b.csv").read_bytes()
