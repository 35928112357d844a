"""`python -m crm_core uplift`: CSV with ',' and with ';' + decimal comma, XLSX, --by, and the user errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crm_core.cli import main
from crm_core.stats import newcombe_diff_interval

ROOT = Path(__file__).resolve().parents[2]


def _rows(region_of=lambda i: "N" if i % 2 else "S"):
    """control 4/40 and offer 12/40 converted; each converter spent 12.50; flags in mixed spellings."""
    rows = []
    for arm, conversions in (("control", 4), ("offer", 12)):
        for i in range(40):
            yes = i < conversions
            flag = ("yes", "Y", "1", "TRUE")[i % 4] if yes else ("no", "n", "0", "False")[i % 4]
            rows.append((f"{arm[0]}{i}", arm, flag, "12.50" if yes else "", region_of(i)))
    return rows


def _write_csv(path: Path, delimiter=",", decimal_comma=False, rows=None):
    lines = [delimiter.join(("customer", "arm", "converted", "revenue", "region"))]
    for customer, arm, flag, revenue, region in rows or _rows():
        lines.append(delimiter.join((customer, arm, flag, revenue.replace(".", ",") if decimal_comma else revenue,
                                     region)))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _uplift(tmp_path, file, *extra, out="out.json"):
    return main(["uplift", "--file", str(file), "--group", "arm", "--control", "control", "--converted",
                 "converted", "--out", str(tmp_path / out), *extra])


@pytest.fixture
def comma_csv(tmp_path):
    return _write_csv(tmp_path / "experiment.csv")


def test_comma_csv_with_revenue(tmp_path, comma_csv, capsys):
    assert _uplift(tmp_path, comma_csv, "--revenue", "revenue") == 0
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["control"] == {"group": "control", "n": 40, "conversions": 4, "rate": 0.1,
                               "revenue_per_customer": 1.25}
    [offer] = data["groups"]
    low, high = newcombe_diff_interval(12, 40, 4, 40)
    assert offer["group"] == "offer" and (offer["n"], offer["conversions"], offer["rate"]) == (40, 12, 0.3)
    assert offer["diff"] == 0.2 and offer["diff_ci"] == [round(low, 6), round(high, 6)]
    assert offer["relative"] == 2.0
    assert (offer["revenue_per_customer"], offer["revenue_diff"]) == (3.75, 2.5)
    assert offer["revenue_diff_ci"][0] < 2.5 < offer["revenue_diff_ci"][1]
    assert offer["verdict"].startswith("Converts 20.0 points more than control")
    assert "offer: Converts 20.0 points more" in capsys.readouterr().out


def test_semicolon_csv_with_decimal_comma_gives_the_same_result(tmp_path, comma_csv):
    semicolon = _write_csv(tmp_path / "experiment_eu.csv", delimiter=";", decimal_comma=True)
    assert _uplift(tmp_path, comma_csv, "--revenue", "revenue", out="a.json") == 0
    assert _uplift(tmp_path, semicolon, "--revenue", "revenue", out="b.json") == 0
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert json.loads((tmp_path / "b.json").read_text())["control"]["revenue_per_customer"] == 1.25


def test_without_revenue_the_revenue_fields_are_null(tmp_path, comma_csv):
    assert _uplift(tmp_path, comma_csv) == 0
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["control"]["revenue_per_customer"] is None
    assert {k: data["groups"][0][k] for k in ("revenue_per_customer", "revenue_diff", "revenue_diff_ci")} == \
        {"revenue_per_customer": None, "revenue_diff": None, "revenue_diff_ci": None}


def test_by_compares_within_each_value_and_lists_the_controls(tmp_path):
    # region N: odd customers. control converters are i = 0..3 (N: 1, 3), offer i = 0..11 (N: six of them)
    semicolon = _write_csv(tmp_path / "experiment_eu.csv", delimiter=";", decimal_comma=True)
    assert _uplift(tmp_path, semicolon, "--revenue", "revenue", "--by", "region") == 0
    data = json.loads((tmp_path / "out.json").read_text())
    assert [(g["by"], g["group"], g["n"], g["conversions"]) for g in data["groups"]] == \
        [("N", "offer", 20, 6), ("S", "offer", 20, 6)]
    assert [(c["by"], c["n"], c["conversions"]) for c in data["controls"]] == [("N", 20, 2), ("S", 20, 2)]
    assert data["control"]["n"] == 40
    assert data["groups"][0]["revenue_per_customer"] == 3.75


def test_two_runs_write_byte_identical_json(tmp_path, comma_csv):
    for name in ("one.json", "two.json"):
        assert _uplift(tmp_path, comma_csv, "--revenue", "revenue", "--by", "region", out=name) == 0
    one = (tmp_path / "one.json").read_bytes()
    assert one == (tmp_path / "two.json").read_bytes()
    assert one == (json.dumps(json.loads(one), indent=2, sort_keys=True) + "\n").encode()  # sorted, indented


def test_xlsx_file(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["customer", "arm", "converted", "revenue", "region"])
    for customer, arm, flag, revenue, region in _rows():
        sheet.append([customer, arm, flag, float(revenue) if revenue else None, region])
    book.save(tmp_path / "experiment.xlsx")
    assert _uplift(tmp_path, tmp_path / "experiment.xlsx", "--revenue", "revenue") == 0
    data = json.loads((tmp_path / "out.json").read_text())
    assert (data["control"]["revenue_per_customer"], data["groups"][0]["revenue_per_customer"]) == (1.25, 3.75)


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    return err[0]


def test_an_unknown_column_exits_2_listing_the_columns(tmp_path, comma_csv, capsys):
    code = main(["uplift", "--file", str(comma_csv), "--group", "arms", "--control", "control", "--converted",
                 "converted", "--out", str(tmp_path / "out.json")])
    assert code == 2
    assert _error_line(capsys) == ("error: experiment.csv: Column 'arms' is not in the table; its columns are: "
                                   "customer, arm, converted, revenue, region.")
    assert not (tmp_path / "out.json").exists()


def test_an_unknown_control_exits_2_listing_the_values(tmp_path, comma_csv, capsys):
    code = main(["uplift", "--file", str(comma_csv), "--group", "arm", "--control", "holdout", "--converted",
                 "converted", "--out", str(tmp_path / "out.json")])
    assert code == 2
    assert "Control value 'holdout' does not occur in column 'arm'; the values found are: 'control', 'offer'." \
        in _error_line(capsys)
    assert not (tmp_path / "out.json").exists()


def test_an_unreadable_converted_value_exits_2_naming_line_and_value(tmp_path, capsys):
    rows = _rows()
    rows[6] = (*rows[6][:2], "maybe", *rows[6][3:])  # data row 7 is line 8 of the file
    bad = _write_csv(tmp_path / "experiment.csv", rows=rows)
    assert _uplift(tmp_path, bad) == 2
    assert _error_line(capsys) == ("error: experiment.csv: line 8: column 'converted' value 'maybe' is not a yes/no "
                                   "value; write 1/0, true/false, yes/no or y/n.")
    assert not (tmp_path / "out.json").exists()


def test_an_unreadable_revenue_exits_2_naming_line_and_value(tmp_path, capsys):
    rows = _rows()
    rows[0] = (*rows[0][:3], "twelve", rows[0][4])
    assert _uplift(tmp_path, _write_csv(tmp_path / "experiment.csv", rows=rows), "--revenue", "revenue") == 2
    assert "line 2: column 'revenue' value 'twelve' is not a number" in _error_line(capsys)


def test_a_line_with_too_many_fields_exits_2_instead_of_being_skipped(tmp_path, comma_csv, capsys):
    text = comma_csv.read_text().splitlines()
    text[5] += ",extra"
    comma_csv.write_text("\n".join(text) + "\n")
    assert _uplift(tmp_path, comma_csv) == 2
    assert "line 6 has 6 fields where the header has 5" in _error_line(capsys)
    assert not (tmp_path / "out.json").exists()


def test_the_module_entry_point_prints_one_line_and_exits_2(tmp_path, comma_csv):
    p = subprocess.run([sys.executable, "-m", "crm_core", "uplift", "--file", str(comma_csv), "--group", "arm",
                        "--control", "control", "--converted", "nope", "--out", str(tmp_path / "out.json")],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == ["error: experiment.csv: Column 'nope' is not in the table; its "
                                             "columns are: customer, arm, converted, revenue, region."]
