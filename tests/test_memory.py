"""Bounded memory: importing four times the lines in the same batches must not take four times the memory.

Each import runs in a child process of its own (its peak RSS is its own,
from ``os.wait4``), on files of 250,000 and 1,000,000 generated lines read
in batches of 25,000: 10 and 40 batches. What may grow with the file is
what the whole file needs (two 64-bit hashes per line for ``duplicate_row``,
the customers' keys); reading the file whole as Python strings, as the
importer did before, costs about 1.2 KB per line (measured: 318 MB for 60k
lines, 540 MB for 240k). SQLite's own page cache, which fills with the table
while its indexes are built (capped at 64 MB in production), is capped
small here so the test sees what the importer holds.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BATCH = 25_000
MAX_BYTES_PER_LINE = 300  # the slope allowed: a quarter of what holding the lines as text costs

CHILD = """
import sys, tempfile
import crm_core.store.bulk as bulk
bulk.SQLITE_CACHE_KIB = 16 * 1024
from crm_core.auth import Actor, Role
from crm_core.ingest import import_file
from crm_core.store import Database
db = Database.open(f"sqlite:///{tempfile.mkdtemp()}/m.db")
db.upgrade()
report = import_file(db, "shop", sys.argv[1], kind="transactions", actor=Actor("ann", Role.ANALYST),
                     batch_rows=int(sys.argv[2]))
print(report.rows_loaded)
"""


def write_lines(path: Path, lines: int, seed: int = 1) -> None:
    """A transactions CSV like a shop's: invoices of 1-7 lines, a customer per 10 lines, 300 products."""
    rng = random.Random(seed)
    invoice, written = 500_000, 0
    with open(path, "w", encoding="utf-8") as f:
        f.write("customer_id,invoice_id,invoice_date,product_id,product_name,category,quantity,unit_price,channel\n")
        while written < lines:
            customer, invoice = rng.randrange(1, lines // 10 + 2), invoice + 1
            day = f"2023-{1 + invoice % 12:02d}-{1 + invoice % 28:02d} {invoice % 24:02d}:{invoice % 60:02d}:00"
            for _ in range(min(rng.randrange(1, 8), lines - written)):
                p = rng.randrange(300)
                f.write(f"{customer},{invoice},{day},P{p},Product {p},Family {p % 12},{rng.randrange(1, 5)},"
                        f"{rng.randrange(100, 3000) / 100},online\n")
                written += 1


def peak_rss_mb(path: Path, batch_rows: int) -> tuple[float, int]:
    """Peak RSS (MB) of a child process importing ``path``, and the rows it loaded."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(batch_rows)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    assert os.waitstatus_to_exitcode(status) == 0, err[-2000:]
    return usage.ru_maxrss / 1024, int(out.strip())


@pytest.mark.slow
def test_peak_memory_of_an_import_does_not_grow_with_the_number_of_batches(tmp_path):
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    write_lines(small, 250_000)
    write_lines(big, 1_000_000)
    small_mb, small_rows = peak_rss_mb(small, BATCH)
    big_mb, big_rows = peak_rss_mb(big, BATCH)
    assert (small_rows, big_rows) == (250_000, 1_000_000)
    per_line = (big_mb - small_mb) * 2**20 / (big_rows - small_rows)
    assert per_line < MAX_BYTES_PER_LINE, (
        f"peak RSS grew {big_mb - small_mb:.0f} MB for 750,000 more lines ({per_line:.0f} B a line): "
        f"{small_mb:.0f} MB for 10 batches, {big_mb:.0f} MB for 40")
