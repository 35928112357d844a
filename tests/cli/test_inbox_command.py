"""``python -m crm_core run --inbox DIR``: the exit code says whether a file was rejected, the files land in
processed/ and rejected/ with their reports, the run's files are written with --out, and the plain run still
needs --transactions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.services.test_inbox import write_inbox

ROOT = Path(__file__).resolve().parents[2]


def _run(*args):
    return subprocess.run([sys.executable, "-m", "crm_core", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)


def test_an_inbox_with_a_rejected_file_exits_1_and_files_everything_away(tmp_path):
    inbox = write_inbox(tmp_path / "inbox")
    db = f"sqlite:///{tmp_path / 'team.db'}"
    p = _run("run", "--inbox", str(inbox), "--db", db, "--workspace", "shop", "--out", str(tmp_path / "out"),
             "--quiet")
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr and "3 file(s) rejected" in p.stderr
    assert sorted(f.name for f in (inbox / "rejected").glob("*.csv") if ".issues" not in f.name) == [
        "notes.csv", "transactions_broken.csv", "transactions_missing.csv"]
    assert (inbox / "rejected" / "notes.csv.report.txt").is_file()
    assert (inbox / "rejected" / "transactions_broken.csv.issues.csv").is_file()
    assert sorted(f.name for f in (inbox / "processed").glob("*.csv") if ".report" not in f.name
                  and ".issues" not in f.name) == ["catalog.csv", "customers_2026-12.csv", "customers_copy.csv",
                                                   "sales week 49.csv"]
    lines = p.stdout.splitlines()
    assert lines[0].startswith("loaded    catalog.csv (products)")  # products first
    assert any(line.startswith("run #1 as of ") for line in lines)
    meta = json.loads((tmp_path / "out" / "run.json").read_text())
    assert meta["workspace"] == "shop" and set(meta["imports"]) >= {"catalog.csv", "sales week 49.csv"}
    assert (tmp_path / "out" / "customers.csv").is_file()

    again = _run("run", "--inbox", str(inbox), "--db", db, "--workspace", "shop", "--quiet")
    assert again.returncode == 0, again.stderr
    assert "nothing new was loaded" in again.stdout


def test_the_plain_run_still_needs_its_files_and_the_two_modes_do_not_mix(tmp_path):
    p = _run("run", "--out", str(tmp_path / "out"))
    assert p.returncode == 2 and "--transactions FILE" in p.stderr and "--inbox DIR" in p.stderr
    p = _run("run", "--transactions", "x.csv")
    assert p.returncode == 2 and "--out DIR" in p.stderr
    p = _run("run", "--inbox", str(tmp_path), "--transactions", "x.csv")
    assert p.returncode == 2 and "not both" in p.stderr
    assert "--inbox" in _run("run", "--help").stdout
