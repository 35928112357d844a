"""The benchmark harness runs end to end on the small size and writes results of the promised shape.

No figure is asserted: speed goals live in bench/results.json, never in tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.run import cli_available, run
from bench.sizes import SIZES, parse_sizes
from bench.stages import Incompatible, NotAvailable, call_with, load, run_stage


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("bench-data")


def _check_common_shape(results: dict) -> dict:
    assert set(results) == {"generated_at", "machine", "machine_speed", "sizes", "goals", "scale_goals"}
    for when in ("before", "after"):  # the reference workload, timed around the sizes
        speed = results["machine_speed"][when]
        assert speed["status"] == "ok", speed
        assert set(speed["parts"]) == {"python_objects", "numpy_sort", "pandas_group_by", "sqlite_rows"}
        assert all(len(runs) == 3 and min(runs) > 0 for runs in speed["runs"].values())
        assert speed["seconds"] == pytest.approx(sum(speed["parts"].values()), abs=0.01)
    assert [(g["figure"], g["size"]) for g in results["scale_goals"]][:2] == [("run_wall_seconds", "100k"),
                                                                              ("run_wall_seconds", "1m")]
    machine = results["machine"]
    assert machine["cores"] >= 1 and machine["python"].count(".") == 2
    assert {"pandas", "numpy", "sqlalchemy"} <= set(machine["versions"])
    small = results["sizes"]["small"]
    assert small["customers"] == 2000 and small["lines"] == 20_000
    data = small["data"]
    assert data["lines"] > 19_000 and data["bytes"] > 0 and isinstance(data["reused"], bool)
    floor = small["pandas_floor"]
    assert floor["status"] == "ok" and floor["lines"] == data["lines"] and floor["customers"] > 1000
    assert [g["stage"] for g in results["goals"]] == ["import", "segmentation", "recommend"]
    for goal in results["goals"]:
        assert {"size", "goal_seconds", "seconds", "met", "status"} <= set(goal)
    return small


@pytest.mark.slow
def test_harness_writes_results_json(tmp_path, data_dir):
    out = tmp_path / "results.json"
    results = run(parse_sizes("small"), out, data_dir, stages=("import",), pipeline=False, log=lambda *_: None)
    assert json.loads(out.read_text()) == json.loads(json.dumps(results, default=str))
    small = _check_common_shape(results)
    stage = small["stages"]["import"]
    assert stage["status"] == "ok", stage.get("reason")  # a benchmark that failed is a failure, not a figure
    assert stage["peak_rss_mb"] > 10 and stage["process_wall_seconds"] > 0 and stage["seconds"] > 0
    # the second run reuses the generated file
    again = run(parse_sizes("small"), out, data_dir, stages=(), pipeline=False, log=lambda *_: None)
    assert again["sizes"]["small"]["data"]["reused"] is True


@pytest.mark.slow
def test_harness_times_the_cli_run(tmp_path, data_dir):
    available, reason = cli_available()
    assert available, reason
    results = run(parse_sizes("small"), tmp_path / "results.json", data_dir, stages=(), pages=False,
                  log=lambda *_: None)
    small = _check_common_shape(results)
    pipeline = small["pipeline"]
    assert pipeline["status"] == "ok", pipeline.get("stderr_tail")
    assert pipeline["command"].startswith("-m crm_core run --transactions ")
    assert pipeline["wall_seconds"] > 0 and pipeline["peak_rss_mb"] > 10
    assert isinstance(pipeline["stage_timings"], dict) and set(pipeline["stage_timings"]) >= {"import", "audit"}
    assert pipeline["customers"] > 1000 and pipeline["rows"]["read"] > 19_000
    alone = small["pipeline_alone"]  # the second run finds the file imported: the pipeline alone
    assert alone["status"] == "ok" and alone["imports"]["transactions"]["status"] == "duplicate"
    assert 0 < alone["pipeline_seconds"] < alone["wall_seconds"]
    figures = small["figures"]
    assert figures["run_to_floor_ratio"] == round(pipeline["wall_seconds"] / small["pandas_floor"]["seconds"], 1)


@pytest.mark.slow
def test_page_bench_times_a_page_of_the_size_database(tmp_path, data_dir):
    from bench.page_bench import main as page_bench

    db_file = data_dir / "small.db"
    if not db_file.exists():
        run(parse_sizes("small"), tmp_path / "results.json", data_dir, stages=(), pages=False, log=lambda *_: None)
    out = tmp_path / "pages.json"
    page_bench(["--db", f"sqlite:///{db_file}", "--pages", "settings,run_history", "--repeats", "2",
                "--json", str(out)])
    pages = json.loads(out.read_text())["pages"]
    assert set(pages) == {"settings", "run_history"}
    for page in pages.values():
        assert page.get("failure") is None, page
        assert len(page["runs"]) == 2 and page["seconds"] > 0 and page["goal_seconds"] == 1.5


def test_missing_modules_and_signatures_are_reported_not_raised():
    with pytest.raises(NotAvailable):
        load("crm_core.no_such_module", "anything")
    with pytest.raises(NotAvailable):
        load("crm_core.ids", "no_such_function")

    def needs_mystery(tx, mystery):
        return tx

    assert call_with(lambda tx, k=3: (tx, k), tx=1, k=None, other=2) == (1, 3)
    with pytest.raises(Incompatible, match="mystery"):
        call_with(needs_mystery, tx=1)
    assert run_stage("import", {"transactions": "/nonexistent.csv", "lines": 0})["status"] in {
        "not available yet", "incompatible", "failed"}


def test_unknown_size_names_the_known_ones():
    with pytest.raises(ValueError, match="small"):
        parse_sizes("huge")
    assert [s.name for s in parse_sizes("small,100k")] == ["small", "100k"]
    assert SIZES["1m"].customers == 1_000_000 and SIZES["1m"].lines == 10_000_000


def test_machine_speed_counts_each_parts_median_and_reports_a_failed_child(tmp_path):
    from bench.machine_speed import machine_speed

    def child_writing(runs, exit_code=0):
        def run_child(cmd, log_dir, name, timeout):
            assert cmd[-1] == "3" and name == "machine-speed"  # three runs of each part, asked of the child
            Path(cmd[-2]).write_text(json.dumps(runs))
            return {"exit_code": exit_code, "stderr_tail": "boom" if exit_code else ""}
        return run_child

    speed = machine_speed(tmp_path, child_writing({"python_objects": [3.0, 1.0, 2.0], "sqlite_rows": [0.5, 9.0, 0.4]}))
    assert speed["parts"] == {"python_objects": 2.0, "sqlite_rows": 0.5}  # the median: one slow run does not count
    assert speed["seconds"] == 2.5
    failed = machine_speed(tmp_path, child_writing({}, exit_code=1))
    assert failed == {"status": "failed", "stderr_tail": "boom"}
