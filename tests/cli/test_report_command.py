"""``python -m crm_core report``: writes the PDF or the workbook of a run; user errors exit 2 with one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from crm_core.auth import Role
from crm_core.auth.bootstrap import BOOTSTRAP_ACTOR
from crm_core.auth.users import add_user
from crm_core.cli import main
from tests.reports.report_world import small_world  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def url(small_world) -> str:  # noqa: F811
    return str(small_world.db.engine.url)


def test_the_workbook_is_written_with_one_line_saying_so(small_world, url, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "run.xlsx"
    assert main(["report", "--run", str(small_world.run_id), "--out", str(out), "--db", url]) == 0
    line = capsys.readouterr().out
    assert line.startswith(f"Wrote {out}: the Excel report of run #{small_world.run_id} (") and line.count("\n") == 1
    book = load_workbook(out)
    assert "Campaigns" in book.sheetnames and book["Campaigns"]["C2"].value == 20


def test_the_pdf_is_written_by_a_viewer_and_the_window_is_an_option(small_world, url, tmp_path, monkeypatch,  # noqa: F811
                                                                    capsys):
    with small_world.db.unit_of_work() as s:
        add_user(s, BOOTSTRAP_ACTOR, "vera", Role.VIEWER, password="Vera-Secret-42", display_name="Vera")
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-chromium"))  # quick: the charts are the PDF test's
    out = tmp_path / "run.pdf"
    code = main(["report", "--run", str(small_world.run_id), "--out", str(out), "--db", url, "--user", "vera",
                 "--window", "2"])
    assert code == 0 and out.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, check=True).stdout.decode()
    assert "within 2 days of the export" in " ".join(text.split())
    assert "Treated: 0 of 20 converted" in " ".join(text.split())  # the purchases came on day 3


@pytest.mark.parametrize("args, message", [
    (["--out", "run.docx"], "FILE.pdf or FILE.xlsx"),
    (["--out", "run.xlsx", "--run", "999"], "no pipeline run #999"),
    (["--out", "run.xlsx", "--user", "nobody"], "No active user 'nobody'"),
    (["--out", "run.xlsx", "--window", "-3"], "attribution window"),
])
def test_user_errors_exit_2_with_one_line_and_write_nothing(small_world, url, tmp_path, capsys, args,  # noqa: F811
                                                            message):
    folder = tmp_path / "out"
    folder.mkdir()
    argv = ["report", "--run", str(small_world.run_id), "--db", url, *args]
    argv[argv.index("--out") + 1] = str(folder / argv[argv.index("--out") + 1])
    if "--run" in args:
        argv = argv[:1] + argv[3:]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert list(folder.iterdir()) == []


def test_the_command_is_listed_and_documented():
    done = subprocess.run([sys.executable, "-m", "crm_core", "report", "--help"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, check=False)
    assert done.returncode == 0 and "--run ID --out FILE" in done.stdout and "FILE.xlsx" in done.stdout
