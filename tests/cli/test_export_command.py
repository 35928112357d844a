"""``python -m crm_core export``: writes CSV and Excel, one summary line; user errors exit 2 with one line."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from crm_core.cli import main
from crm_core.views.campaigns import campaign_info, campaign_members
from crm_core.workflow import create_campaign
from tests.workflow import campaign_world
from tests.workflow.campaign_world import ANALYST, approve, csv_rows

campaign_template, world = campaign_world.campaign_template, campaign_world.world  # fixtures

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(r"^Exported (\d+) offers to (\d+) customers \((\d+) held out, (\d+) excluded(: [a-z ,0-9]+)?\)"
                     r"[^\n]*\.\n$")


@pytest.fixture
def campaign(world) -> int:
    return create_campaign(world.db, ANALYST, "CLI campaign", approve(world.db, "id <= 30"), holdout_share=0.2)


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crm_core", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, check=False)


def test_export_writes_a_csv_and_says_what_it_did(world, campaign, tmp_path):
    out = tmp_path / "campaign.csv"
    done = _cli("export", "--campaign", str(campaign), "--out", str(out), "--db", world.url, "--user", "manager")
    assert done.returncode == 0, done.stderr
    offers, customers, held, excluded = map(int, SUMMARY.match(done.stdout).groups()[:4])
    rows = csv_rows(out)
    members = campaign_members(world.db, campaign)
    assert (offers, customers) == (len(rows), len({r["customer_id"] for r in rows}))
    assert held == (members["group"] == "holdout").sum() == 2 and excluded == 0  # round(0.2 × 10 customers)
    assert campaign_info(world.db, campaign).exported_by == "manager"


def test_export_writes_excel_with_the_evidence_sheet_as_the_system_principal(world, campaign, tmp_path, capsys):
    out = tmp_path / "campaign.xlsx"
    assert main(["export", "--campaign", str(campaign), "--out", str(out), "--db", world.url]) == 0
    assert SUMMARY.match(capsys.readouterr().out)
    with zipfile.ZipFile(out) as book:
        assert {"xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"} <= set(book.namelist())
        assert b'name="Evidence"' in book.read("xl/workbook.xml")
    assert campaign_info(world.db, campaign).exported_by == "cli"


@pytest.mark.parametrize("name", ["campaign.txt", "campaign.xls", "campaign"])
def test_a_bad_suffix_exits_2_with_one_line_and_writes_nothing(world, campaign, tmp_path, capsys, name):
    code = main(["export", "--campaign", str(campaign), "--out", str(tmp_path / name), "--db", world.url])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and ".csv" in err and ".xlsx" in err
    assert not list(tmp_path.glob("campaign*")) and campaign_info(world.db, campaign).state == "draft"


@pytest.mark.parametrize("unknown_campaign, extra, message", [
    (False, ["--user", "analyst"], "may not export campaigns"),
    (False, ["--user", "nobody"], "No active user 'nobody'"),
    (True, [], "no campaign #999"),
])
def test_user_errors_exit_2_with_one_line(world, campaign, tmp_path, capsys, unknown_campaign, extra, message):
    target = "999" if unknown_campaign else str(campaign)
    code = main(["export", "--campaign", target, "--out", str(tmp_path / "c.csv"), "--db", world.url, *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "c.csv").exists()


def test_the_command_documents_itself(capsys):
    with pytest.raises(SystemExit) as done:
        main(["export", "--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0 and "--campaign" in out and ".xlsx" in out and "--user" in out
