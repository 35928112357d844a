"""The desktop-scale figures of issue 14, measured next to the pipeline run of :mod:`bench.run`.

- **pandas floor**: a plain ``pandas.read_csv`` of the same file (every
  column) and a group-by customer (lines, quantity, amount), in a child
  process of its own: the least any tool must spend to look at every line
  once. The whole ``run`` is reported as a multiple of it.
- **pipeline alone**: ``python -m crm_core run`` a second time on the same
  database and file. The import finds the file already loaded (same content
  hash, nothing stored), so the run's other stages are the pipeline on an
  imported workspace; its ``import`` timing is the check that found the
  duplicate.
- **goals**: the issue's limits beside the measured figures (wall seconds,
  peak RSS in MB), each ``met`` True / False, or None when not measured.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.child_json import child_json

FLOOR_SCRIPT = """
import json, sys, time
import pandas as pd
started = time.perf_counter()
lines = pd.read_csv(sys.argv[1])  # every column, as an analyst's notebook would
lines["amount"] = lines["quantity"] * lines["unit_price"]
per_customer = lines.groupby("customer_id").agg(lines=("amount", "size"), quantity=("quantity", "sum"),
                                                amount=("amount", "sum"))
seconds = time.perf_counter() - started
json.dump({"seconds": round(seconds, 3), "lines": int(len(lines)), "customers": int(len(per_customer))},
          open(sys.argv[2], "w"))
"""

# (figure, size, limit, unit, what the issue asks)
SCALE_GOALS = (
    ("run_wall_seconds", "100k", 10.0, "s", "whole `python -m crm_core run`, 100k customers / 1M lines"),
    ("run_wall_seconds", "1m", 120.0, "s", "whole `python -m crm_core run`, 1M customers / 10M lines"),
    ("run_peak_rss_mb", "100k", 1024.0, "MB", "peak memory of the whole run, 100k / 1M"),
    ("run_peak_rss_mb", "1m", 4096.0, "MB", "peak memory of the whole run, 1M / 10M"),
    ("pipeline_alone_seconds", "1m", 60.0, "s", "the pipeline on an already imported 1M / 10M workspace"),
    ("offers_seconds", "1m", 20.0, "s", "offers at 1M customers (the run's offers stage)"),
    ("slowest_page_seconds", "1m", 1.5, "s", "every page after the first view, on the 1M database"),
)


def pandas_floor(csv_path: str, log_dir: Path, run_child) -> dict:
    """Read ``csv_path`` with pandas and group it by customer in a child process: seconds and peak RSS."""
    figures, child = child_json(run_child, lambda result: [sys.executable, "-c", FLOOR_SCRIPT, csv_path, result],
                                log_dir, "pandas-floor", 3600)
    if child["exit_code"] != 0 or figures is None:
        return {"status": "failed", "stderr_tail": child["stderr_tail"]}
    return {"status": "ok", **figures, "process_wall_seconds": child["wall_seconds"],
            "peak_rss_mb": child["peak_rss_mb"]}


def pipeline_alone(first: dict, log_dir: Path, size_name: str, run_child) -> dict:
    """Run the first run's command again (same database and file): the pipeline on an imported workspace."""
    if first.get("status") != "ok":
        return {"status": "not run", "reason": "the first run failed"}
    cmd = [sys.executable, *first["argv"]]  # the list, not the joined text: paths may hold spaces
    out_dir = Path(cmd[cmd.index("--out") + 1])
    child = run_child(cmd, log_dir, f"pipeline-again-{size_name}", 3 * 3600)
    run_json = out_dir / "run.json"
    if child["exit_code"] != 0 or not run_json.exists():
        return {"status": "failed", **child}
    report = json.loads(run_json.read_text())
    timings = report.get("stage_timings") or {}
    duplicate_check = timings.get("import", 0.0)
    return {"status": "ok", "wall_seconds": child["wall_seconds"], "peak_rss_mb": child["peak_rss_mb"],
            "duplicate_check_seconds": duplicate_check,
            "pipeline_seconds": round(child["wall_seconds"] - duplicate_check, 3),
            "stage_timings": timings, "imports": report.get("imports")}


def scale_figures(entry: dict) -> dict:
    """The figures of one size the goals speak of (None where not measured)."""
    run = entry.get("pipeline") or {}
    ok = run.get("status") == "ok"
    again = entry.get("pipeline_alone") or {}
    floor = entry.get("pandas_floor") or {}
    pages = entry.get("pages") or {}
    timings = run.get("stage_timings") or {} if ok else {}
    figures = {
        "run_wall_seconds": run.get("wall_seconds") if ok else None,
        "run_peak_rss_mb": run.get("peak_rss_mb") if ok else None,
        "pipeline_alone_seconds": again.get("pipeline_seconds") if again.get("status") == "ok" else None,
        "offers_seconds": timings.get("offers"),
        "pandas_floor_seconds": floor.get("seconds") if floor.get("status") == "ok" else None,
        "slowest_page_seconds": pages.get("slowest_seconds"),
    }
    if figures["run_wall_seconds"] and figures["pandas_floor_seconds"]:
        figures["run_to_floor_ratio"] = round(figures["run_wall_seconds"] / figures["pandas_floor_seconds"], 1)
    return figures


def summarise_scale_goals(sizes: dict) -> list[dict]:
    """One line per goal of issue 14: measured value, limit, and whether it is met."""
    out = []
    for figure, size_name, limit, unit, what in SCALE_GOALS:
        value = scale_figures(sizes[size_name]).get(figure) if size_name in sizes else None
        out.append({"figure": figure, "size": size_name, "limit": limit, "unit": unit, "goal": what,
                    "value": value, "met": None if value is None else value <= limit})
    return out


def bench_pages(db_file: Path, log_dir: Path, run_child) -> dict:
    """:mod:`bench.page_bench` on the size's database in a child process; ``slowest_seconds`` over its pages."""
    if not db_file.exists():
        return {"status": "not run", "reason": f"{db_file} does not exist (run the pipeline benchmark first)"}
    figures, child = child_json(run_child, lambda result: [sys.executable, "-m", "bench.page_bench", "--db",
                                                           f"sqlite:///{db_file}", "--json", result],
                                log_dir, f"pages-{db_file.stem}", 3600)
    if figures is None:
        return {"status": "failed", "stderr_tail": child["stderr_tail"]}
    pages = figures.get("pages", {})
    measured = [p["seconds"] for p in pages.values() if isinstance(p, dict) and p.get("seconds") is not None]
    return {"status": "ok" if child["exit_code"] == 0 else "failed", **figures,
            "slowest_seconds": max(measured) if measured else None,
            "slowest_page": max(pages, key=lambda n: pages[n].get("seconds") or 0) if measured else None}
