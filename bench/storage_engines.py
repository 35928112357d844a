"""The sales lines' stores for :mod:`bench.storage_compare`: setup, store step and the pipeline's read.

SQLite (today's store, as ``TransactionLoader`` stores the lines), a DuckDB file and Parquet files (one per
import batch); the setup that builds the work directory (``prepare``, run in a child process by
``bench.storage_compare``) and what the pipeline reads back from each store. The page queries are in
:mod:`bench.storage_queries`; the measurements, the children and the results in :mod:`bench.storage_compare`.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
from pathlib import Path

from bench.sizes import DEFAULT_DATA_DIR, SIZES, ensure_data

BATCH_ROWS = 250_000  # the importer's batch (crm_core.ingest.batches.BATCH_ROWS)
CHILD_TIMEOUT = 3600
READ_ENGINES = ("sqlite", "duckdb", "parquet_duckdb", "parquet_arrow")
INPUT_COLUMNS = ("id", "line_no", "customer_pk", "product_pk", "invoice_code", "invoice_date", "quantity",
                 "unit_price_minor", "amount_minor", "is_return", "category", "channel")
DUCK_TABLE = ("CREATE TABLE IF NOT EXISTS transactions (id BIGINT, workspace_id INTEGER, batch_id INTEGER, "
              "line_no INTEGER, customer_id BIGINT, product_id BIGINT, invoice_code VARCHAR, "
              "invoice_date TIMESTAMP, quantity DOUBLE, unit_price_minor BIGINT, amount_minor BIGINT, "
              "is_return BOOLEAN, category VARCHAR, channel VARCHAR)")
DUCK_INSERT = ("INSERT INTO transactions SELECT id, {ws}, {batch}, line_no, customer_pk, product_pk, invoice_code, "
               "invoice_date, quantity, unit_price_minor, amount_minor, is_return, category, channel FROM batch_rows")
# What frames.read_transactions reads (its _RAW_COLUMNS), in load order.
DUCK_RAW = ("SELECT customer_id AS customer_pk, product_id AS product_pk, invoice_code AS invoice_id, invoice_date, "
            "quantity, unit_price_minor, amount_minor, CAST(is_return AS BIGINT) AS is_return, category "
            "FROM {src} WHERE workspace_id = {ws}")


# --------------------------------------------------------------------------- helpers shared by the children


def _setup(work: Path) -> dict:
    return json.loads((work / "setup.json").read_text())


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _input_frame(work: Path):
    """The checked rows as the importer holds them: pandas, nullable integers, string dtype."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    mapping = {pa.int64(): pd.Int64Dtype(), pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype()}
    frame = pq.read_table(work / "input.parquet").to_pandas(types_mapper=mapping.get)
    frame["invoice_date"] = frame["invoice_date"].astype("datetime64[ns]")
    frame["quantity"] = frame["quantity"].astype("float64")
    frame["is_return"] = frame["is_return"].astype(bool)
    return frame


def _batches(frame):
    for start in range(0, len(frame), BATCH_ROWS):
        yield frame.iloc[start:start + BATCH_ROWS]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def store_sqlite(db_path: Path, frame, ws: int, batch: int) -> None:
    """The lines stored as crm_core.ingest.load_transactions.TransactionLoader stores them."""
    from crm_core.ingest.load import objects, sqlite_datetimes
    from crm_core.store import Database
    from crm_core.store.bulk import bulk_load

    db = Database.open(_sqlite_url(db_path))
    with (db.unit_of_work(check_foreign_keys=False) as session,
          bulk_load(session.connection(), "transactions", row_count=len(frame)) as insert):
        for sel in _batches(frame):
            cols = {
                "line_no": sel["line_no"].to_numpy(dtype="int64").tolist(),
                "customer_id": objects(sel["customer_pk"]), "product_id": objects(sel["product_pk"]),
                "invoice_code": objects(sel["invoice_code"]),
                "invoice_date": sqlite_datetimes(sel["invoice_date"]),
                "quantity": sel["quantity"].astype("float64").tolist(),
                "unit_price_minor": objects(sel["unit_price_minor"]), "amount_minor": objects(sel["amount_minor"]),
                "is_return": sel["is_return"].astype(bool).astype(int).tolist(),
                "category": objects(sel["category"]), "channel": objects(sel["channel"]),
            }
            present = {"customer_id": sel["customer_pk"], "product_id": sel["product_pk"],
                       "invoice_code": sel["invoice_code"], "unit_price_minor": sel["unit_price_minor"],
                       "category": sel["category"], "channel": sel["channel"]}
            cols = {k: v for k, v in cols.items() if k not in present or present[k].notna().any()}
            insert(list(cols), zip(*cols.values()), {"workspace_id": ws, "batch_id": batch})
    db.engine.dispose()


def store_duckdb(path: Path, frame, ws: int, batch: int) -> None:
    """The lines appended to a DuckDB file in one transaction, batch by batch; closed (checkpointed)."""
    import duckdb

    con = duckdb.connect(str(path))
    try:
        con.execute(DUCK_TABLE)
        con.begin()
        for batch_rows in _batches(frame):
            con.register("batch_rows", batch_rows)
            con.execute(DUCK_INSERT.format(ws=int(ws), batch=int(batch)))
            con.unregister("batch_rows")
        con.commit()
        con.execute("CHECKPOINT")
    finally:
        con.close()


def parquet_schema():
    import pyarrow as pa

    return pa.schema([("id", pa.int64()), ("workspace_id", pa.int32()), ("batch_id", pa.int32()),
                      ("line_no", pa.int64()), ("customer_id", pa.int64()), ("product_id", pa.int64()),
                      ("invoice_code", pa.string()), ("invoice_date", pa.timestamp("us")),
                      ("quantity", pa.float64()), ("unit_price_minor", pa.int64()), ("amount_minor", pa.int64()),
                      ("is_return", pa.bool_()), ("category", pa.string()), ("channel", pa.string())])


def store_parquet(directory: Path, frame, ws: int, batch: int) -> Path:
    """One Parquet file for the import batch (a row group per 250k rows), fsynced, renamed into place."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema()
    target = directory / f"ws={ws}" / f"batch-{batch:06d}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".parquet.tmp")
    with pq.ParquetWriter(tmp, schema) as writer:
        for sel in _batches(frame):
            n = len(sel)
            writer.write_table(pa.table({
                "id": pa.array(sel["id"].to_numpy(dtype="int64")),
                "workspace_id": pa.array([ws] * n, pa.int32()), "batch_id": pa.array([batch] * n, pa.int32()),
                "line_no": pa.array(sel["line_no"].to_numpy(dtype="int64")),
                "customer_id": pa.array(sel["customer_pk"], pa.int64()),
                "product_id": pa.array(sel["product_pk"], pa.int64()),
                "invoice_code": pa.array(sel["invoice_code"], pa.string()),
                "invoice_date": pa.array(sel["invoice_date"].to_numpy(dtype="datetime64[us]")),
                "quantity": pa.array(sel["quantity"].to_numpy()),
                "unit_price_minor": pa.array(sel["unit_price_minor"], pa.int64()),
                "amount_minor": pa.array(sel["amount_minor"], pa.int64()),
                "is_return": pa.array(sel["is_return"].to_numpy()),
                "category": pa.array(sel["category"], pa.string()),
                "channel": pa.array(sel["channel"], pa.string()),
            }, schema=schema))
    _fsync(tmp)
    os.replace(tmp, target)
    _fsync(target.parent)
    return target


def _dir_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _sqlite_table_bytes(db_path: Path) -> dict:
    """Bytes of the transactions table and of its indexes (dbstat), and of the whole file."""
    con = sqlite3.connect(db_path)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'transactions'")]
        sizes = dict(con.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
    finally:
        con.close()
    table = sizes.get("transactions", 0)
    return {"table_bytes": table, "index_bytes": sum(sizes.get(n, 0) for n in names if n != "transactions"),
            "file_bytes": db_path.stat().st_size}


# --------------------------------------------------------------------------- the pipeline's read


def read_columnar(engine: str, work: Path, setup: dict):
    """The canonical tx frame with the lines from a columnar store and customers/products from SQLite."""
    import pyarrow as pa

    from crm_core.store import Database, frames

    ws = setup["workspace_id"]
    db = Database.open(_sqlite_url(work / "base.db"))
    factor = frames._minor_factor(db, ws)
    with db.engine.connect() as conn:
        customers = frames._fetch_all(conn, "SELECT id, customer_code FROM customers WHERE workspace_id = :ws", ws)
        products = frames._fetch_all(conn, "SELECT id, product_code, name, family, is_merchandise FROM products "
                                           "WHERE workspace_id = :ws", ws)
    if engine == "parquet_arrow":
        import pyarrow.dataset as ds

        files = sorted(str(p) for p in (work / "parquet" / f"ws={ws}").glob("*.parquet"))  # batch order
        t = ds.dataset(files, format="parquet").to_table(
            columns=["customer_id", "product_id", "invoice_code", "invoice_date", "quantity", "unit_price_minor",
                     "amount_minor", "is_return", "category"])
        raw = t.rename_columns(list(frames._RAW_COLUMNS))
    else:
        import duckdb

        if engine == "duckdb":
            con = duckdb.connect(str(work / "lines.duckdb"), read_only=True)
            src = "transactions"
        else:
            con = duckdb.connect()
            src = f"read_parquet('{work / 'parquet' / f'ws={ws}' / '*.parquet'}')"
        try:
            result = con.execute(DUCK_RAW.format(src=src, ws=int(ws)))
            raw = result.to_arrow_table() if hasattr(result, "to_arrow_table") else result.fetch_arrow_table()
        finally:
            con.close()
    raw = raw.cast(pa.schema([(n, frames._RAW_TYPES[n]) for n in frames._RAW_COLUMNS]))
    return frames._canonical_transactions(raw, customers, products, factor)


def read_sqlite(work: Path, setup: dict):
    from crm_core.store import Database
    from crm_core.store.frames import read_transactions

    return read_transactions(Database.open(_sqlite_url(work / "base.db")), setup["workspace_id"])


# --------------------------------------------------------------------------- setup (parent)


def prepare(size_name: str, work: Path, parts: set[str], log) -> dict:
    """Base database, checked rows, template and read stores; reused while setup.json is there."""
    from bench.run import run_child

    work.mkdir(parents=True, exist_ok=True)
    data = ensure_data(SIZES[size_name], DEFAULT_DATA_DIR)
    base = work / "base.db"
    context = {"data": data}
    if not base.exists():
        if "pages" in parts:  # a real run: the segment query needs run_customers
            cmd = [sys.executable, "-m", "crm_core", "run", "--transactions", data["transactions"], "--products",
                   data["products"], "--db", _sqlite_url(base), "--out", str(work / "run-out"), "--quiet",
                   "--accept-rejects", "--contact-date", "2026-12-02"]
        else:
            code = ("import sys; from pathlib import Path; from crm_core.store import Database; "
                    "from crm_core.ingest import import_file, IngestConfig; from crm_core.auth import Actor, Role; "
                    f"db = Database.open({_sqlite_url(base)!r}); db.upgrade(); "
                    f"r = import_file(db, 'bench', Path({data['transactions']!r}), kind='transactions', "
                    "actor=Actor('bench', Role.ANALYST), accept_rejects=True, config=IngestConfig(max_upload_mb=4000)); "
                    "print(r.status, r.rows_loaded)")
            cmd = [sys.executable, "-c", code]
        log("setup: " + " ".join(cmd[:4]) + " ...")
        context["base_build"] = run_child(cmd, work / "logs", "base", CHILD_TIMEOUT)
        if context["base_build"]["exit_code"] != 0:
            raise SystemExit(f"setup failed: {context['base_build']['stderr_tail']}")
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    con = sqlite3.connect(base)
    ws, batch = con.execute("SELECT workspace_id, batch_id FROM transactions ORDER BY id LIMIT 1").fetchone()
    last = con.execute("SELECT max(invoice_date) FROM transactions WHERE workspace_id = ?", (ws,)).fetchone()[0]
    as_of = pd.Timestamp(last).normalize()
    setup = {"workspace_id": ws, "batch_id": batch, "as_of": str(as_of.date()),
             "end_of_as_of": str(as_of + pd.Timedelta(days=1)),
             "since_365": str(as_of - pd.Timedelta(days=365)), "since_90": str(as_of - pd.Timedelta(days=90))}
    run = con.execute("SELECT max(id) FROM pipeline_runs WHERE workspace_id = ?", (ws,)).fetchone()[0]
    setup["run_id"] = run
    decimals = con.execute("SELECT currency_decimals FROM workspaces WHERE id = ?", (ws,)).fetchone()[0]
    setup["factor"] = 10 ** int(2 if decimals is None else decimals)
    if run is not None:  # the biggest RFM segment of the run: the heaviest case for both engines
        seg, n = con.execute("SELECT rfm_segment, count(*) FROM run_customers WHERE run_id = ? GROUP BY 1 "
                             "ORDER BY 2 DESC LIMIT 1", (run,)).fetchone()
        setup["segment"], setup["segment_customers"] = seg, n
    else:
        setup["segment"], setup["segment_customers"] = None, 0
    # 5 customers for the 360 page: the median line count, and spread around it (fixed choice)
    counts = con.execute("SELECT customer_id, count(*) FROM transactions WHERE customer_id IS NOT NULL "
                         "GROUP BY customer_id ORDER BY 2, 1").fetchall()
    picks = [counts[int(q * (len(counts) - 1))][0] for q in (0.1, 0.3, 0.5, 0.7, 0.99)]
    setup["customers_360"] = [int(p) for p in picks]
    log("setup: checked rows -> input.parquet")
    rows = pd.read_sql_query(
        "SELECT id, line_no, customer_id AS customer_pk, product_id AS product_pk, invoice_code, invoice_date, "
        "quantity, unit_price_minor, amount_minor, is_return, category, channel FROM transactions "
        "WHERE workspace_id = ? ORDER BY id", con, params=(ws,))
    con.close()
    rows["invoice_date"] = pd.to_datetime(rows["invoice_date"], format="ISO8601").astype("datetime64[us]")
    for col in ("customer_pk", "product_pk", "unit_price_minor", "amount_minor"):
        rows[col] = rows[col].astype("Int64")
    rows["is_return"] = rows["is_return"].astype(bool)
    pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), work / "input.parquet")
    setup["rows"] = len(rows)
    del rows
    log("setup: template.db (state without lines)")
    shutil.copyfile(base, work / "template.db")
    con = sqlite3.connect(work / "template.db")
    con.execute("PRAGMA foreign_keys = OFF")
    con.execute("DELETE FROM transactions")
    con.commit()
    con.execute("VACUUM")
    con.close()
    log("setup: lines.duckdb and parquet/ for the reads")
    frame = _input_frame(work)
    store_duckdb(work / "lines.duckdb", frame, ws, batch)
    store_parquet(work / "parquet", frame, ws, batch)
    setup["context"] = context
    (work / "setup.json").write_text(json.dumps(setup, indent=2, default=str))
    return setup

