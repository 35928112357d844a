"""How fast the machine is while the benchmarks run: a fixed reference workload, timed before and after.

The 2-core machine's speed moves from day to day: the whole 1M-customer run
took 259 s on 2026-12-03 (1873fa2) and 393-413 s on 2026-12-04 (e71a713 and
9aef770, whose only change since saves ~5 s); most stages moved 1.5-1.7x
(offers 17 → 29 s, segments 4.1 → 6.3 s), the lines' read, mostly SQLite, least. A figure alone cannot say whether the code or the machine
changed. So :func:`bench.run.run` times this workload in a child process
before the first size and after the last; two result files are comparable in
proportion to their reference seconds, and a before/after gap shows the
machine moving during the run itself.

The parts are the kinds of work the pipeline does, on data made from a fixed
seed (so the work is the same everywhere): Python objects (tuples made,
hashed and turned into text, as the importer and the stores do), a NumPy sort,
a pandas group-by, and SQLite (rows inserted into an indexed table of a file
in one transaction, then summed by key). Each part is timed three times; the
median counts.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from bench.child_json import child_json

REPEATS = 3
SPEED_SCRIPT = """
import json, os, sqlite3, sys, tempfile, time
import numpy as np
import pandas as pd

def python_objects():
    seen = {}
    for i in range(1_000_000):
        seen[(i, i % 97)] = str(i)
    return len(seen)

def numpy_sort():
    values = np.random.default_rng(7).random(3_000_000)
    return int(np.argsort(values, kind="stable")[0])

def pandas_group_by():
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"key": rng.integers(0, 500_000, 5_000_000), "amount": rng.random(5_000_000)})
    return len(frame.groupby("key")["amount"].agg(["sum", "size"]))

def sqlite_rows():
    with tempfile.TemporaryDirectory() as folder:
        db = sqlite3.connect(os.path.join(folder, "speed.db"))
        db.execute("CREATE TABLE lines (id INTEGER PRIMARY KEY, key INTEGER, amount INTEGER)")
        db.execute("CREATE INDEX ix_lines_key ON lines (key)")
        db.executemany("INSERT INTO lines (key, amount) VALUES (?, ?)",
                       ((i * 7919 % 100_003, i % 1000) for i in range(150_000)))
        db.commit()
        count = len(db.execute("SELECT key, sum(amount) FROM lines GROUP BY key").fetchall())
        db.close()
    return count

parts = {}
for name, work in (("python_objects", python_objects), ("numpy_sort", numpy_sort),
                   ("pandas_group_by", pandas_group_by), ("sqlite_rows", sqlite_rows)):
    seconds = []
    for _ in range(int(sys.argv[2])):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    parts[name] = seconds
json.dump(parts, open(sys.argv[1], "w"))
"""


def machine_speed(log_dir: Path, run_child, *, repeats: int = REPEATS) -> dict:
    """Time the reference workload in a child process.

    Returns:
        ``{"status": "ok", "seconds": total of the parts' medians, "parts": {part: median},
        "runs": {part: [each run's seconds]}}``, or ``{"status": "failed", "stderr_tail": ...}``.
    """
    runs, child = child_json(run_child, lambda result: [sys.executable, "-c", SPEED_SCRIPT, result, str(repeats)],
                             log_dir, "machine-speed", 600)
    if child["exit_code"] != 0 or runs is None:
        return {"status": "failed", "stderr_tail": child["stderr_tail"]}
    parts = {name: round(statistics.median(seconds), 3) for name, seconds in runs.items()}
    return {"status": "ok", "seconds": round(sum(parts.values()), 3), "parts": parts,
            "runs": {name: [round(s, 3) for s in seconds] for name, seconds in runs.items()}}
