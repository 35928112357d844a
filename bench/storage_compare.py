"""Where the sales lines live: SQLite (today) against a columnar store read by DuckDB (issue 14, point 3).

    PYTHONPATH=/path/to/duckdb python -m bench.storage_compare --size 100k
    python -m bench.storage_compare --size 1m --parts import,read      # no page queries at 1m

DuckDB is not a project dependency: install it outside the venv for this
measurement only (``pip install --target /tmp/duckpkgs duckdb`` and
``PYTHONPATH=/tmp/duckpkgs``). Without it the script stops and says so.

Setup (untimed, reused while the work directory exists): the size's generated
CSV (``bench/data/transactions-<size>.csv``, :func:`bench.sizes.ensure_data`)
is imported into ``WORK/base.db`` by ``python -m crm_core run`` (by
``crm_core.ingest.import_file`` alone when the page queries are not measured).
Its transaction lines, with their resolved customer and product keys, become
``WORK/input.parquet``: the checked rows the importer holds just before it
stores them. ``WORK/template.db`` is base.db without its lines (workspace,
import batch, customers, products, the run). The same lines are written once
to ``WORK/lines.duckdb`` and ``WORK/parquet/ws=<id>/batch-<id>.parquet`` for
the read measurements.

The setup runs in a child process too: a forked child's ``ru_maxrss`` starts
from its parent's resident size, so the parent must stay small.

Measurements, each in its own child process (peak RSS from ``os.wait4``),
repeated ``--reps`` times (3) with the engines interleaved (order rotated per
repetition); the figure is the median, the child's own timer (imports and
untimed preparation excluded):

- **import**: the whole ``import_file`` into a fresh SQLite file (context),
  then the *store step* alone, from the checked rows in 250k-row batches:
  SQLite exactly as ``TransactionLoader`` stores them (``bulk_load``: indexes
  dropped and rebuilt, ``executemany`` of tuples, one transaction, foreign
  keys not checked per row) into a copy of template.db; DuckDB ``INSERT ...
  SELECT`` from each pandas batch into a new file, one transaction, closed
  (checkpointed); Parquet one file per import batch (a row group per batch,
  fsync, atomic rename).
- **read**: what the pipeline loads back, ``crm_core.store.frames.read_transactions``
  on SQLite; for the columnar stores the same raw columns (in load order) from
  DuckDB's file, from the Parquet files through DuckDB and through pyarrow
  alone, then the same key-to-code mapping (``frames._canonical_transactions``,
  customers and products read from SQLite, where they stay).
- **pages**: customer 360's lines of one customer (the page's query; 5
  customers, per customer), revenue per month (``views.overview.revenue_by_month``
  on SQLite, the same SQL on DuckDB), revenue/lines/buyers per category of one
  RFM segment of the last run over 365 days, and the top 20 products by buyers
  over 90 days. The columnar side reads segment members and product names
  from SQLite, where they stay. First call in a fresh process and the median
  of 3 warm calls.

Results: printed, and written to ``bench/data/storage_results.json`` (git-ignored;
one entry per size, merged) or ``--out``. The work directory is deleted at the end
unless ``--keep`` (at 1m it holds ~4 GB while it runs). The comparison and the
choice made from it: docs/storage.md. A verification child checks that every engine returns the same
frame / the same figures as SQLite before anything is timed.

The stores, the setup and the pipeline's read are in :mod:`bench.storage_engines`; the page queries and
the verification in :mod:`bench.storage_queries`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.sizes import DEFAULT_DATA_DIR, SIZES, ensure_data
from bench.storage_engines import (
    CHILD_TIMEOUT,
    READ_ENGINES,
    _dir_bytes,
    _fsync,
    _input_frame,
    _setup,
    _sqlite_table_bytes,
    prepare,
    read_columnar,
    read_sqlite,
    store_duckdb,
    store_parquet,
    store_sqlite,
)
from bench.storage_queries import PAGE_ENGINES, PAGE_QUERIES, _pages, _query, verify

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = DEFAULT_DATA_DIR / "storage_results.json"
PARTS = ("import", "read", "pages")
STORE_ENGINES = ("sqlite", "duckdb", "parquet")


def need_duckdb():
    try:
        import duckdb
    except ImportError:
        sys.exit("duckdb is not importable: pip install duckdb to run this comparison "
                 "(outside the project's requirements, e.g. pip install --target /tmp/duckpkgs duckdb "
                 "and PYTHONPATH=/tmp/duckpkgs)")
    return duckdb


# --------------------------------------------------------------------------- children


def child(task: str, engine: str, work: Path, size_name: str) -> dict:
    """One measurement; returns its figures (printed as JSON by main)."""
    setup = _setup(work)
    ws, batch = setup["workspace_id"], setup["batch_id"]
    if engine != "sqlite" or task == "baseline_duckdb":
        import duckdb
    if task in ("baseline", "baseline_duckdb"):
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401

        import crm_core.store.frames  # noqa: F401
        return {"seconds": 0.0}
    if task == "import_full":
        from bench.stages import bench_import

        data = ensure_data(SIZES[size_name], DEFAULT_DATA_DIR)
        return bench_import(data)
    if task == "store":
        frame = _input_frame(work)
        target = work / f"store-{engine}"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        if engine == "sqlite":
            db_path = target / "lines.db"
            shutil.copyfile(work / "template.db", db_path)
            started = time.perf_counter()
            store_sqlite(db_path, frame, ws, batch)
            seconds = time.perf_counter() - started
            sizes = _sqlite_table_bytes(db_path)
            sizes["template_file_bytes"] = (work / "template.db").stat().st_size
            started = time.perf_counter()
            con = sqlite3.connect(db_path)  # the lines' part of an import revert
            con.execute("DELETE FROM transactions WHERE batch_id = ?", (batch,))
            con.commit()
            con.close()
            revert = time.perf_counter() - started
        elif engine == "duckdb":
            path = target / "lines.duckdb"
            started = time.perf_counter()
            store_duckdb(path, frame, ws, batch)
            seconds = time.perf_counter() - started
            sizes = {"file_bytes": _dir_bytes(target)}
            import duckdb

            started = time.perf_counter()
            con = duckdb.connect(str(path))
            con.execute("DELETE FROM transactions WHERE batch_id = ?", [batch])
            con.execute("CHECKPOINT")
            con.close()
            revert = time.perf_counter() - started
        else:
            started = time.perf_counter()
            written = store_parquet(target, frame, ws, batch)
            seconds = time.perf_counter() - started
            sizes = {"file_bytes": _dir_bytes(target)}
            started = time.perf_counter()
            written.unlink()
            _fsync(written.parent)
            revert = time.perf_counter() - started
        shutil.rmtree(target, ignore_errors=True)
        return {"seconds": round(seconds, 3), "rows": len(frame), **sizes, "revert_seconds": round(revert, 3)}
    if task == "read":
        started = time.perf_counter()
        tx = read_sqlite(work, setup) if engine == "sqlite" else read_columnar(engine, work, setup)
        return {"seconds": round(time.perf_counter() - started, 3), "rows": len(tx)}
    if task == "pages":
        out = {}
        started = time.perf_counter()
        pages = _pages(engine, work, setup)
        out["open_seconds"] = round(time.perf_counter() - started, 4)
        per = len(setup["customers_360"])
        for name in PAGE_QUERIES:
            timings = []
            for _ in range(4):  # the first call in this process, then 3 warm ones
                started = time.perf_counter()
                _query(pages, name, setup)
                timings.append(time.perf_counter() - started)
            if name == "customer_360":
                timings = [t / per for t in timings]
            out[name] = {"first": round(timings[0], 4), "warm": round(statistics.median(timings[1:]), 4)}
        return out
    if task == "verify":
        return verify(work, setup)
    raise ValueError(f"unknown task {task}")



# --------------------------------------------------------------------------- parent


def measure(task: str, engines, reps: int, work: Path, size_name: str, log) -> dict:
    """``reps`` rounds, every engine once per round (order rotated), each in its own child process."""
    from bench.run import run_child

    raw = {e: [] for e in engines}
    for rep in range(reps):
        order = list(engines[rep % len(engines):]) + list(engines[:rep % len(engines)])
        for engine in order:
            name = f"{task}-{engine}-{rep}"
            load = os.getloadavg()[0]
            cmd = [sys.executable, "-m", "bench.storage_compare", "--child", task, "--engine", engine,
                   "--work", str(work), "--size", size_name]
            done = run_child(cmd, work / "logs", name, CHILD_TIMEOUT)
            if done["exit_code"] != 0:
                raise SystemExit(f"{name} failed:\n{done['stderr_tail']}")
            result = json.loads((work / "logs" / f"{name}.out").read_text().strip().splitlines()[-1])
            result.update(peak_rss_mb=done["peak_rss_mb"], child_wall_seconds=done["wall_seconds"],
                          load_1min_before=round(load, 2))
            raw[engine].append(result)
            log(f"  {name}: {_brief(result)}")
    return {e: {"median": _medians(r), "runs": r} for e, r in raw.items()}


def _brief(result: dict) -> str:
    keys = [k for k in ("seconds", "peak_rss_mb", "file_bytes") if k in result]
    parts = [f"{k}={result[k]}" for k in keys]
    parts += [f"{q}={result[q]['warm']}" for q in PAGE_QUERIES if q in result]
    return ", ".join(parts)


def _medians(runs: list[dict]) -> dict:
    out = {}
    for key, value in runs[0].items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = round(statistics.median(r[key] for r in runs), 4)
        elif isinstance(value, dict):
            out[key] = {k: round(statistics.median(r[key][k] for r in runs), 4) for k in value}
    return out


def summary_table(results: dict) -> str:
    lines = ["| measurement | sqlite | duckdb | parquet_duckdb | parquet_arrow |",
             "| --- | --- | --- | --- | --- |"]

    def cell(block, engine, key, sub=None):
        m = block.get(engine, {}).get("median", {})
        v = m.get(key)
        if sub is not None and isinstance(v, dict):
            v = v.get(sub)
        return "—" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))

    if "import_full" in results:
        lines.append(f"| import_file, whole (s) | {cell(results['import_full'], 'sqlite', 'seconds')} | — | — | — |")
    if "store" in results:
        s = results["store"]
        lines.append(f"| store step (s) | {cell(s, 'sqlite', 'seconds')} | {cell(s, 'duckdb', 'seconds')} | "
                     f"{cell(s, 'parquet', 'seconds')} (write) | — |")
        lines.append(f"| revert: delete the batch's lines (s) | {cell(s, 'sqlite', 'revert_seconds')} | "
                     f"{cell(s, 'duckdb', 'revert_seconds')} | {cell(s, 'parquet', 'revert_seconds')} | — |")
        lines.append(f"| store step peak RSS (MB) | {cell(s, 'sqlite', 'peak_rss_mb')} | "
                     f"{cell(s, 'duckdb', 'peak_rss_mb')} | {cell(s, 'parquet', 'peak_rss_mb')} | — |")
    if "read" in results:
        r = results["read"]
        lines.append("| pipeline read (s) | " + " | ".join(cell(r, e, "seconds") for e in READ_ENGINES) + " |")
        lines.append("| pipeline read peak RSS (MB) | " + " | ".join(cell(r, e, "peak_rss_mb") for e in READ_ENGINES)
                     + " |")
    if "pages" in results:
        p = results["pages"]
        for q in PAGE_QUERIES:
            lines.append(f"| {q}, warm (s) | " + " | ".join(cell(p, e, q, "warm") for e in PAGE_ENGINES) + " | — |")
            lines.append(f"| {q}, first call (s) | " + " | ".join(cell(p, e, q, "first") for e in PAGE_ENGINES)
                         + " | — |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="100k", choices=sorted(SIZES))
    parser.add_argument("--parts", default=",".join(PARTS), help="import,read,pages (default: all)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--full-import-reps", type=int, help="runs of the whole import_file (default: --reps; "
                        "0 at 1m keeps only the setup's import)")
    parser.add_argument("--work", type=Path, help="work directory (default /tmp/nextbest-storage-<size>)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (default: delete it)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results (merged per size)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    need_duckdb()
    work = args.work or Path(f"/tmp/nextbest-storage-{args.size}")
    if args.child == "prepare":  # in a child, so that the parent stays small: a forked child's
        # ru_maxrss starts from its parent's resident size (Linux keeps it across exec)
        prepare(args.size, work, {p.strip() for p in args.parts.split(",")}, lambda msg: print(msg, flush=True))
        return 0
    if args.child:
        print(json.dumps(child(args.child, args.engine, work, args.size), default=str))
        return 0

    import duckdb

    from bench.run import machine_info

    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    started = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - started:7.1f}s] {msg}", flush=True)

    if (work / "setup.json").exists():
        log(f"reusing {work}")
    else:
        log("setup (in a child process)")
        subprocess.run([sys.executable, "-m", "bench.storage_compare", "--child", "prepare", "--parts", args.parts,
                        "--work", str(work), "--size", args.size], cwd=ROOT, check=True)
    setup = _setup(work)
    con = duckdb.connect()
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    con.close()
    results: dict = {}
    log("verify: every engine returns SQLite's frame and figures")
    done = subprocess.run([sys.executable, "-m", "bench.storage_compare", "--child", "verify", "--engine", "all",
                           "--work", str(work), "--size", args.size], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"verify failed:\n{done.stderr[-3000:]}")
    results["verify"] = json.loads(done.stdout.strip().splitlines()[-1])
    log(f"  {results['verify']}")
    log("baseline RSS: a child that only imports pandas, pyarrow, crm_core (and duckdb)")
    results["baseline"] = measure("baseline", ("sqlite", "duckdb"), 1, work, args.size, log)
    if "import" in parts:
        log("import: the whole import_file on SQLite (context)")
        full_reps = args.reps if args.full_import_reps is None else args.full_import_reps
        if full_reps:
            results["import_full"] = measure("import_full", ("sqlite",), full_reps, work, args.size, log)
        log("import: the store step, engines interleaved")
        results["store"] = measure("store", STORE_ENGINES, args.reps, work, args.size, log)
    if "read" in parts:
        log("read: what the pipeline loads back")
        results["read"] = measure("read", READ_ENGINES, args.reps, work, args.size, log)
    if "pages" in parts:
        log("pages: customer 360, revenue by month, segment by category, product popularity")
        results["pages"] = measure("pages", PAGE_ENGINES, args.reps, work, args.size, log)
    results["store_files"] = {
        "sqlite_base_db_bytes": (work / "base.db").stat().st_size,
        "sqlite_transactions": _sqlite_table_bytes(work / "base.db"),
        "duckdb_file_bytes": (work / "lines.duckdb").stat().st_size,
        "parquet_bytes": _dir_bytes(work / "parquet"),
        "csv_bytes": setup["context"]["data"]["bytes"],
    }
    total = round(time.perf_counter() - started, 1)
    entry = {"date": dt.date.today().isoformat(), "size": args.size, "rows": setup["rows"],
             "duckdb": {"version": duckdb.__version__, "threads": threads},
             "machine": machine_info(), "load_1min_at_end": os.getloadavg()[0], "total_seconds": total,
             "setup": setup, "results": results}
    table = summary_table(results)
    print(table)
    print(json.dumps(results["store_files"], indent=2))
    existing = json.loads(args.out.read_text()) if args.out.exists() else {}
    existing[args.size] = entry
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(existing, indent=2, default=str))
    log(f"written {args.out} ({total} s)")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
