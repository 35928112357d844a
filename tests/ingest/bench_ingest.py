"""Benchmark (not a test): a 1M-row transactions CSV parsed, validated and stored.

Run: .venv/bin/python tests/ingest/bench_ingest.py [ROWS]  (needs ../shared/data)
Prints the seconds per stage and in total; the goal is <= 15 s for 1M rows on 2 cores.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
PARQUET = ROOT.parent / "shared" / "data" / "online_retail_II_2009-2010.parquet"


def make_csv(path: Path, rows: int) -> None:
    """Online Retail II repeated (invoices renumbered, dates shifted a year per copy) to ``rows`` lines."""
    base = pd.read_parquet(PARQUET)
    parts, copy = [], 0
    while sum(map(len, parts)) < rows:
        part = base.copy()
        part["Invoice"] = part["Invoice"].astype(str).str.replace(r"^(C?)", rf"\g<1>{copy}", regex=True)
        part["InvoiceDate"] = part["InvoiceDate"] + pd.DateOffset(years=copy)
        parts.append(part)
        copy += 1
    pd.concat(parts).head(rows).to_csv(path, index=False)


def main(rows: int = 1_000_000) -> dict:
    from crm_core.auth import Actor, Role
    from crm_core.ingest import import_file
    from crm_core.store import Database

    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "tx.csv"
        make_csv(csv, rows)
        db = Database.open(f"sqlite:///{tmp}/bench.db")
        db.upgrade()
        marks, t0, w0 = [], time.process_time(), time.perf_counter()
        report = import_file(db, "bench", csv, kind="transactions", actor=Actor("bench", Role.ANALYST),
                             progress=lambda f, m: marks.append((round(time.process_time() - t0, 2), m)))
        total, wall = time.process_time() - t0, time.perf_counter() - w0
        db.engine.dispose()
    result = {"rows": rows, "loaded": report.rows_loaded, "cpu_seconds": round(total, 2), "wall_seconds": round(wall, 2), "stages": marks,
              "mb": round(csv.stat().st_size / 2**20, 1) if csv.exists() else None}
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
