"""The benchmark harness: ``python -m bench.run [--sizes 100k,1m] [--out bench/results.json]``.

For each size it generates (or reuses) a transactions CSV under bench/data/,
times ``python -m crm_core run`` on it as a child process (wall time, the
child's own peak RSS, and the stage timings of its run.json), then runs the
single-stage benchmarks of :mod:`bench.stages` each in its own process, and
writes everything with the machine's description to a JSON file. A fixed
reference workload is timed before the first size and after the last
(:mod:`bench.machine_speed`): the machine's speed moves from day to day, and
figures from two days compare only in proportion to it. Nothing
here is a test: the figures are reported against the issues' goals, never
asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import importlib.util
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.machine_speed import machine_speed
from bench.scale import bench_pages, pandas_floor, pipeline_alone, scale_figures, summarise_scale_goals
from bench.sizes import DEFAULT_DATA_DIR, DEFAULT_SIZES, SIZES, Size, ensure_data, parse_sizes
from bench.stages import BENCH_UPLOAD_MB, STAGES

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "bench" / "results.json"
PIPELINE_TIMEOUT = 3 * 3600
STAGE_TIMEOUT = 3600
MEMORY_FRACTION = 0.8  # of physical memory, per child process
# (stage, size the goal is stated for, goal in seconds, what the issue asks)
GOALS = (
    ("import", "100k", 15.0, "issue 3: a 1M-row CSV parsed, validated and stored"),
    ("segmentation", "1m", 10.0, "issue 4: RFM, clustering (k given) and value models at 1M customers"),
    ("recommend", "1m", 20.0, "issue 5: top-3 offers for 1M customers"),
)
VERSIONED = ("pandas", "numpy", "scipy", "scikit-learn", "sqlalchemy", "pyarrow", "openpyxl", "streamlit",
             "nextbest")


def machine_info() -> dict:
    """Cores, memory, Python, platform, library versions and the git commit of this tree."""
    memory_gb = None
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    memory_gb = round(int(line.split()[1]) / 1024 ** 2, 1)
    except OSError:
        pass
    versions = {}
    for name in VERSIONED:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    commit = None
    if shutil.which("git"):
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        commit = done.stdout.strip() or None
    limit = memory_limit_bytes()
    return {"cores": os.cpu_count(), "memory_gb": memory_gb,
            "child_memory_limit_gb": round(limit / 1024 ** 3, 1) if limit else None, "python": platform.python_version(),
            "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "versions": versions, "git_commit": commit}


def memory_limit_bytes(fraction: float = MEMORY_FRACTION) -> int | None:
    """``fraction`` of the machine's memory, the address-space cap given to each child (None if unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * fraction)
    except (ValueError, OSError, AttributeError):
        return None


def _cap_memory(limit: int | None):
    """A preexec hook: a child that outgrows ``limit`` gets MemoryError instead of waking the OOM killer."""
    def apply():
        if limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def run_child(cmd: list[str], log_dir: Path, name: str, timeout: float) -> dict:
    """Run ``cmd`` from the project root; return exit code, wall seconds and the child's own peak RSS.

    Output goes to ``log_dir/<name>.out`` and ``.err``; ``os.wait4`` gives the
    resource usage of this child alone (RUSAGE_CHILDREN would mix children).
    The child's address space is capped (see :func:`memory_limit_bytes`) so
    that a benchmark too big for the machine fails alone, not other processes.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / f"{name}.out", log_dir / f"{name}.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err,
                                preexec_fn=_cap_memory(memory_limit_bytes()))
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"exit_code": proc.returncode, "wall_seconds": round(wall, 3),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "timed_out": wall > timeout,
            "stderr_tail": err_path.read_text(errors="replace")[-2000:], "log": str(err_path)}


def cli_available() -> tuple[bool, str]:
    """Whether ``python -m crm_core run`` exists and answers ``--help``; else the reason."""
    if importlib.util.find_spec("crm_core.__main__") is None:
        return False, "python -m crm_core is not written yet (no crm_core/__main__.py)"
    done = subprocess.run([sys.executable, "-m", "crm_core", "run", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [""])[-1]
        return False, f"python -m crm_core run --help exits {done.returncode}: {last[:300]}"
    return True, ""


def bench_pipeline(size: Size, data: dict, data_dir: Path) -> dict:
    """Time ``python -m crm_core run`` on the size's CSV into a fresh ``<size>.db``."""
    available, reason = cli_available()
    if not available:
        return {"status": "not available yet", "reason": reason}
    db_file = data_dir / f"{size.name}.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    out_dir = data_dir / f"out-{size.name}"
    shutil.rmtree(out_dir, ignore_errors=True)
    # Benchmark files are far above the 200 MB upload limit a desktop user gets by default.
    config = data_dir / "bench-config.toml"
    config.write_text(f"[ingest]\nmax_upload_mb = {BENCH_UPLOAD_MB}\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "crm_core", "run", "--transactions", data["transactions"],
           "--db", f"sqlite:///{db_file}", "--config", str(config), "--out", str(out_dir)]
    child = run_child(cmd, data_dir / "logs", f"pipeline-{size.name}", PIPELINE_TIMEOUT)
    result = {"command": " ".join(cmd[1:]), "argv": cmd[1:], **child}
    run_json = out_dir / "run.json"
    if child["exit_code"] != 0 or not run_json.exists():
        return {"status": "failed", **result}
    report = json.loads(run_json.read_text())
    return {"status": "ok", **result, "stage_timings": report.get("stage_timings"),
            "rows": report.get("rows"), "customers": report.get("customers")}


def bench_stage(stage: str, size: Size, data_dir: Path, seed: int) -> dict:
    """Run one :mod:`bench.stages` benchmark in its own process and merge its JSON with wall time and peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        result_path = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "bench.stages", stage, "--size", size.name, "--data-dir", str(data_dir),
               "--seed", str(seed), "--json", str(result_path)]
        child = run_child(cmd, data_dir / "logs", f"{stage}-{size.name}", STAGE_TIMEOUT)
        if result_path.exists():
            result = json.loads(result_path.read_text())
        else:
            result = {"status": "failed", "reason": "the worker wrote no result", "stderr_tail": child["stderr_tail"]}
    result["process_wall_seconds"] = child["wall_seconds"]
    result["peak_rss_mb"] = child["peak_rss_mb"]
    return result


def summarise_goals(sizes: dict) -> list[dict]:
    """One line per issue goal: the measured seconds and whether the goal is met (None when not measured)."""
    out = []
    for stage, size_name, goal, what in GOALS:
        measured = sizes.get(size_name, {}).get("stages", {}).get(stage, {})
        seconds = measured.get("seconds") if measured.get("status") == "ok" else None
        out.append({"stage": stage, "size": size_name, "goal_seconds": goal, "goal": what,
                    "seconds": seconds, "met": None if seconds is None else seconds <= goal,
                    "status": measured.get("status", "not run")})
    return out


def run(sizes: list[Size], out: Path, data_dir: Path, *, stages: tuple[str, ...] = STAGES,
        pipeline: bool = True, pages: bool = True, seed: int = 7, log=print) -> dict:
    """Run the benchmarks for ``sizes`` and write the results JSON to ``out``.

    Args:
        sizes: sizes to run (see :data:`bench.sizes.SIZES`).
        out: results file, written after every size so a long run leaves partial figures.
        data_dir: where generated data, databases and logs go (git-ignored).
        stages: single-stage benchmarks to run per size.
        pipeline: also time the full CLI run (twice: the second finds the file imported).
        pages: also time every page on the size's database (:mod:`bench.page_bench`).
        seed: generator seed.
        log: progress printer.
    Returns:
        The results dictionary that was written.
    """
    results = {"generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "machine": machine_info(), "sizes": {}, "goals": []}
    out.parent.mkdir(parents=True, exist_ok=True)
    log("machine speed: the reference workload (bench/machine_speed.py)")
    results["machine_speed"] = {"before": machine_speed(data_dir / "logs", run_child)}
    log(f"  {results['machine_speed']['before'].get('seconds')} s")
    for size in sizes:
        log(f"[{size.name}] data: {size.customers:,} customers, {size.lines:,} lines")
        entry = {"customers": size.customers, "lines": size.lines, "data": ensure_data(size, data_dir, seed),
                 "stages": {}}
        results["sizes"][size.name] = entry
        log(f"[{size.name}] pandas floor: read the file and group by customer")
        entry["pandas_floor"] = pandas_floor(entry["data"]["transactions"], data_dir / "logs", run_child)
        log(f"[{size.name}]   {entry['pandas_floor']['status']} {entry['pandas_floor'].get('seconds', '')}")
        if pipeline:
            log(f"[{size.name}] python -m crm_core run")
            entry["pipeline"] = bench_pipeline(size, entry["data"], data_dir)
            log(f"[{size.name}]   {entry['pipeline']['status']} {entry['pipeline'].get('wall_seconds', '')} s, "
                f"{entry['pipeline'].get('peak_rss_mb', '')} MB")
            log(f"[{size.name}] python -m crm_core run again (file already imported: the pipeline alone)")
            entry["pipeline_alone"] = pipeline_alone(entry["pipeline"], data_dir / "logs", size.name, run_child)
            log(f"[{size.name}]   {entry['pipeline_alone']['status']} "
                f"{entry['pipeline_alone'].get('pipeline_seconds', '')}")
        if pages:
            log(f"[{size.name}] pages on {size.name}.db (python -m bench.page_bench)")
            entry["pages"] = bench_pages(data_dir / f"{size.name}.db", data_dir / "logs", run_child)
            log(f"[{size.name}]   {entry['pages']['status']} slowest {entry['pages'].get('slowest_seconds')} s")
        for stage in stages:
            log(f"[{size.name}] stage {stage}")
            entry["stages"][stage] = bench_stage(stage, size, data_dir, seed)
            log(f"[{size.name}]   {entry['stages'][stage]['status']} {entry['stages'][stage].get('seconds', '')}")
        entry["figures"] = scale_figures(entry)
        results["goals"] = summarise_goals(results["sizes"])
        results["scale_goals"] = summarise_scale_goals(results["sizes"])
        out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    log("machine speed again, after the sizes")
    results["machine_speed"]["after"] = machine_speed(data_dir / "logs", run_child)
    log(f"  {results['machine_speed']['after'].get('seconds')} s")
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return results


def main(argv: list[str] | None = None) -> int:
    """Command-line entry (``make bench``)."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(DEFAULT_SIZES),
                        help=f"comma-separated, from {', '.join(SIZES)} (default {','.join(DEFAULT_SIZES)})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--stages", default=",".join(STAGES), help="single-stage benchmarks, '' for none")
    parser.add_argument("--no-pipeline", action="store_true", help="skip timing python -m crm_core run")
    parser.add_argument("--no-pages", action="store_true", help="skip timing the pages on the size's database")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    try:
        sizes = parse_sizes(args.sizes)
    except ValueError as exc:
        parser.error(str(exc))
    stages = tuple(s for s in args.stages.split(",") if s)
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        parser.error(f"Unknown stage(s) {unknown}: choose from {', '.join(STAGES)}")
    results = run(sizes, args.out.resolve(), args.data_dir.resolve(), stages=stages,
                  pipeline=not args.no_pipeline, pages=not args.no_pages, seed=args.seed)
    for goal in results["goals"]:
        print(f"{goal['stage']:>13} @ {goal['size']:>4}: {goal['status']}, {goal['seconds']} s "
              f"(goal {goal['goal_seconds']} s)")
    for goal in results["scale_goals"]:
        print(f"{goal['figure']:>23} @ {goal['size']:>4}: {goal['value']} {goal['unit']} "
              f"(goal {goal['limit']} {goal['unit']}, met: {goal['met']})")
    speed = results["machine_speed"]
    print(f"machine speed (reference workload, lower is faster): {speed['before'].get('seconds')} s before, "
          f"{speed['after'].get('seconds')} s after")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
