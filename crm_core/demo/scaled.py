"""Benchmark-sized retail transactions, generated and written in chunks.

``write_scaled_transactions`` streams a CSV of up to millions of customers
and tens of millions of lines while holding one chunk of customers in memory.
Each chunk has its own random stream spawned from the seed, so the file is
deterministic for a given seed, size and chunk size.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from crm_core.demo.retail import FIRST_CUSTOMER_ID, FIRST_INVOICE, retail_lines
from crm_core.demo.retail_catalog import build_products
from crm_core.demo.retail_dirt import add_dirty_rows
from crm_core.demo.timeline import RETAIL_MONTHS, RETAIL_WEEKDAYS, Calendar
from crm_core.demo.world import PRODUCT_COLUMNS, TRANSACTION_COLUMNS, DemoArgumentError
from crm_core.demo.writing import write_csv

CHUNK_CUSTOMERS = 100_000


def write_scaled_transactions(path: str | Path, n_customers: int, n_lines: int, seed: int = 7, *,
                              start: date = date(2023, 1, 1), years: int = 3,
                              chunk_customers: int = CHUNK_CUSTOMERS) -> int:
    """Write a retail transactions CSV of about ``n_lines`` lines for ``n_customers`` customers.

    The lines follow the demo retailer's behaviour and dirty rows (see
    :mod:`crm_core.demo.retail`); customer ids run from 10001 upwards and
    invoice numbers never repeat across chunks.

    Args:
        path: the CSV file to (over)write; its folder is created.
        n_customers: customers in total.
        n_lines: target lines in total (within a few per cent).
        seed: random seed.
        start, years: the period covered.
        chunk_customers: customers generated and written at a time (memory bound).
    Returns:
        The number of lines written (header excluded).
    Raises:
        DemoArgumentError: when a size is not positive.
    """
    if n_customers < 1 or n_lines < 1 or chunk_customers < 1:
        raise DemoArgumentError("n_customers, n_lines and chunk_customers must be positive")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    end = date(start.year + years, start.month, start.day)
    calendar = Calendar(np.datetime64(start), (end - start).days, RETAIL_MONTHS, RETAIL_WEEKDAYS)
    products = build_products()
    n_chunks = -(-n_customers // chunk_customers)
    streams = np.random.SeedSequence(seed).spawn(n_chunks)
    next_invoice = FIRST_INVOICE
    written = 0
    for i, stream in enumerate(streams):
        rng = np.random.default_rng(stream)
        first = i * chunk_customers
        size = min(chunk_customers, n_customers - first)
        lines = round(n_lines * size / n_customers)
        tx, _ = retail_lines(rng, size, max(lines, 1), calendar, products,
                             first_customer_id=FIRST_CUSTOMER_ID + first, first_invoice=next_invoice)
        tx = add_dirty_rows(rng, tx, calendar)
        numbers = tx["invoice_id"].str.lstrip("C").astype("int64")
        next_invoice = int(numbers.max()) + 1
        write_csv(tx[list(TRANSACTION_COLUMNS)], target, mode="w" if i == 0 else "a", header=i == 0)
        written += len(tx)
    return written


def write_scaled_products(path: str | Path) -> Path:
    """Write the demo retailer's catalog (the products of the scaled transactions) as CSV."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_csv(build_products()[list(PRODUCT_COLUMNS)], target)
    return target
