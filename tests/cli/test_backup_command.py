"""``python -m crm_core backup`` and ``restore``: files written, checked before replacing, confirmed, exit codes."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from crm_core.cli import main
from crm_core.store.migrate import head_revision
from tests.app.sample_db import build_sample_database

ROOT = Path(__file__).resolve().parents[2]


def _count(path: Path, table: str = "transactions") -> int:
    with contextlib.closing(sqlite3.connect(path)) as c:
        return c.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.fixture
def live(tmp_path) -> Path:
    path = tmp_path / "live.db"
    build_sample_database(f"sqlite:///{path}")
    return path


def test_a_backup_then_a_restore_into_another_database(live, tmp_path, capsys):
    out = tmp_path / "copies" / "shop.db"
    assert main(["backup", "--db", f"sqlite:///{live}", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert f"to {out} (" in said
    assert f"schema revision {head_revision()} (2 workspaces, 40 customers, 402 transactions" in said
    assert out.stat().st_mode & 0o777 == 0o600
    target = tmp_path / "target.db"
    assert main(["restore", "--from", str(out), "--db", f"sqlite:///{target}", "--yes"]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"shop.db: a NextBest sqlite backup at schema revision {head_revision()}")
    assert f"Restored sqlite:///{target} from shop.db." in said
    assert _count(target) == 402


def test_without_an_out_file_the_backup_goes_to_the_backup_folder(live, tmp_path, capsys):
    assert main(["backup", "--db", f"sqlite:///{live}"]) == 0
    (written,) = (tmp_path / "data" / "backups").glob("live-*.db")
    assert str(written) in capsys.readouterr().out


def test_a_restore_is_not_done_without_yes_when_nobody_can_be_asked(live, tmp_path, capsys, monkeypatch):
    backup = tmp_path / "b.db"
    main(["backup", "--db", f"sqlite:///{live}", "--out", str(backup)])
    with contextlib.closing(sqlite3.connect(live)) as c:
        c.execute("DELETE FROM transactions")
        c.commit()
    monkeypatch.setattr(sys, "stdin", open(os.devnull))
    assert main(["restore", "--from", str(backup), "--db", f"sqlite:///{live}"]) == 2
    assert "add --yes to confirm. Nothing was replaced." in capsys.readouterr().err
    assert _count(live) == 0


def test_a_restore_asked_on_a_terminal_goes_on_only_when_told_restore(live, tmp_path, capsys, monkeypatch):
    backup = tmp_path / "b.db"
    main(["backup", "--db", f"sqlite:///{live}", "--out", str(backup)])
    with contextlib.closing(sqlite3.connect(live)) as c:
        c.execute("DELETE FROM transactions")
        c.commit()
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    assert main(["restore", "--from", str(backup), "--db", f"sqlite:///{live}"]) == 1
    assert "Nothing was replaced." in capsys.readouterr().out and _count(live) == 0
    monkeypatch.setattr("builtins.input", lambda prompt: "restore")
    assert main(["restore", "--from", str(backup), "--db", f"sqlite:///{live}"]) == 0
    assert _count(live) == 402
    saved = next((tmp_path / "data" / "backups").glob("live-before-restore-*.db"))
    assert _count(saved) == 0  # what was replaced is kept


def test_a_file_that_is_not_a_backup_exits_2_and_replaces_nothing(live, tmp_path, capsys):
    bogus = tmp_path / "sales.csv"
    bogus.write_text("customer_id,amount\n1,2\n")
    assert main(["restore", "--from", str(bogus), "--db", f"sqlite:///{live}", "--yes"]) == 2
    assert "error: sales.csv is not a NextBest backup" in capsys.readouterr().err
    assert _count(live) == 402


def test_the_commands_run_as_python_dash_m(live, tmp_path):
    out = tmp_path / "copy.db"
    done = subprocess.run([sys.executable, "-m", "crm_core", "backup", "--db", f"sqlite:///{live}", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert _count(out) == 402
