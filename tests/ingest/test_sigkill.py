"""SIGKILL during an import, 40 times: the database holds none or all of the file and stays intact."""

from __future__ import annotations

import multiprocessing
import os
import random
import shutil
import signal
import sqlite3
import time

import pytest

from crm_core.auth import Actor, Role
from crm_core.ingest import import_file
from crm_core.store import Database

ROWS = 2000


def _child(url: str, data: bytes) -> None:
    """Runs in a forked process: import the file, then exit without cleanup."""
    Database._open.clear()  # engines inherited from the parent must not be shared
    db = Database(url)
    import_file(db, "shop", (data, "tx.csv"), kind="transactions", actor=Actor("ann", Role.ANALYST))
    os._exit(0)


def _state(path) -> tuple[str, int, int, int]:
    con = sqlite3.connect(path)
    try:
        check = con.execute("PRAGMA integrity_check").fetchone()[0]
        tx = con.execute("SELECT count(*) FROM transactions").fetchone()[0]
        batches = con.execute("SELECT count(*) FROM import_batches").fetchone()[0]
        customers = con.execute("SELECT count(*) FROM customers").fetchone()[0]
        return check, tx, batches, customers
    finally:
        con.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_sigkill_mid_import_leaves_all_or_nothing(db, tmp_path):
    body = "".join(f"{i % 500},INV{i // 4},2024-01-{1 + i % 28:02d},P{i % 97},{1 + i % 3},{i % 50}.25\n"
                   for i in range(ROWS))
    data = ("customer_id,invoice_id,invoice_date,product_id,quantity,unit_price\n" + body).encode()
    template = tmp_path / "test.db"
    db.engine.dispose()
    ctx = multiprocessing.get_context("fork")

    def run(path, delay=None) -> float:
        shutil.copy(template, path)
        start = time.perf_counter()
        proc = ctx.Process(target=_child, args=(f"sqlite:///{path}", data))
        proc.start()
        if delay is not None:
            time.sleep(delay)
            os.kill(proc.pid, signal.SIGKILL)
        proc.join(60)
        return time.perf_counter() - start

    shutil.copy(template, tmp_path / "warm.db")  # load lazy imports before forking, so children start warm
    warm = Database(f"sqlite:///{tmp_path / 'warm.db'}")
    import_file(warm, "shop", (data, "tx.csv"), kind="transactions", actor=Actor("ann", Role.ANALYST))
    warm.engine.dispose()
    full = run(tmp_path / "full.db")
    print("full import in a child:", round(full, 3), "s")
    assert _state(tmp_path / "full.db") == ("ok", ROWS, 1, min(ROWS, 500))
    rng = random.Random(20240501)
    outcomes = []
    for i in range(40):
        path = tmp_path / f"kill{i}.db"
        run(path, delay=rng.uniform(0, full * 1.1))
        check, tx, batches, customers = _state(path)
        assert check == "ok"
        assert (tx, batches) in ((0, 0), (ROWS, 1)), f"run {i}: {tx} rows, {batches} batches"
        assert customers in (0, min(ROWS, 500))
        outcomes.append(tx)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(f"{path}{suffix}"):
                os.remove(f"{path}{suffix}")
    assert 0 in outcomes  # most kills land before the commit
