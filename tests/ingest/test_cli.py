"""``python -m crm_core import``: the report on stdout, exit 0 for loaded or duplicate, 2 for bad input."""

from __future__ import annotations

import argparse

import pytest

from crm_core.cli import import_cmd
from tests.ingest.conftest import BAD, GOOD


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    import_cmd.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["import", *argv])
    return import_cmd.run(args)


def test_import_prints_the_report_and_a_second_run_is_a_duplicate(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert _run(["--kind", "transactions", str(GOOD / "online_retail_excerpt.csv"), "--db", url]) == 0
    out = capsys.readouterr().out
    assert "loaded 8" in out and "anonymous 4" in out and "cancellation" in out
    assert _run(["--kind", "transactions", str(GOOD / "online_retail_excerpt.csv"), "--db", url]) == 0
    assert "nothing was added" in capsys.readouterr().out


def test_bad_input_exits_2_naming_columns_and_options(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert _run(["--kind", "transactions", str(BAD / "missing_date_column.csv"), "--db", url]) == 2
    err = capsys.readouterr().err
    assert "invoice_date" in err and "--mapping FILE" in err and "Traceback" not in err


def test_mapping_file_and_date_format_options(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    data = tmp_path / "odd.csv"
    data.write_text("who;when;what\n1;01/02/2024;5,5\n2;03/04/2024;6\n")
    assert _run(["--kind", "transactions", str(data), "--db", url]) == 2
    mapping = tmp_path / "map.toml"
    mapping.write_text('customer_id = "who"\ninvoice_date = "when"\namount = "what"\n')
    assert _run(["--kind", "transactions", str(data), "--db", url, "--mapping", str(mapping)]) == 2
    assert "--date-format" in capsys.readouterr().err
    assert _run(["--kind", "transactions", str(data), "--db", url, "--mapping", str(mapping),
                 "--date-format", "DMY"]) == 0
    assert "loaded 2" in capsys.readouterr().out


def test_over_threshold_needs_accept_rejects_and_writes_the_issues(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    issues = tmp_path / "issues.csv"
    args = ["--kind", "transactions", str(BAD / "too_many_rejects.csv"), "--db", url, "--issues-csv", str(issues)]
    assert _run(args) == 2
    assert "--accept-rejects" in capsys.readouterr().err
    assert _run(args + ["--accept-rejects"]) == 0
    assert issues.read_text().splitlines()[1].startswith("3,amount,rejected,bad_number,abc")


def test_a_bad_mapping_file_is_refused_by_the_parser(tmp_path):
    bad = tmp_path / "map.json"
    bad.write_text("{not json")
    with pytest.raises(SystemExit) as caught:
        _run(["--kind", "transactions", str(GOOD / "dayfirst.csv"), "--mapping", str(bad)])
    assert caught.value.code == 2
