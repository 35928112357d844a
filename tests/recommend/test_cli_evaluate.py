"""The ``evaluate`` command: options, JSON on stdout, files read through the importer."""

import argparse
import datetime as dt
import json

import pytest

from crm_core.cli import evaluate as cli
from tests.recommend.test_evaluate import CUTOFF
from tests.recommend.test_evaluate import world as world  # noqa: F401  (fixture)


def _parser():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    cli.add_parser(sub)
    return parser


def test_options_and_defaults(tmp_path):
    mapping = tmp_path / "m.json"
    mapping.write_text('{"customer_id": "Kunde"}')
    args = _parser().parse_args(["evaluate", "--transactions", "t.csv", "--cutoff", "2024-03-31"])
    assert (args.horizon_days, args.top_n, args.products, args.holdings, args.customers) == (90, 3, None, None, None)
    assert args.cutoff == CUTOFF and args.handler is cli.run
    args = _parser().parse_args(["evaluate", "--transactions", "t.csv", "--cutoff", "2024-03-31", "--top-n", "5",
                                 "--horizon-days", "30", "--mapping", str(mapping), "--date-format", "DD/MM/YYYY",
                                 "--sheet", "Data", "--config", "c.toml", "--products", "p.csv"])
    assert (args.top_n, args.horizon_days, args.date_format, args.sheet) == (5, 30, "DD/MM/YYYY", "Data")
    assert args.mapping == {"customer_id": "Kunde"}


@pytest.mark.parametrize("bad", [["--cutoff", "31/03/2024"], ["--cutoff", "2024-03-31", "--top-n", "0"]])
def test_bad_values_fail_with_a_message(bad, capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(["evaluate", "--transactions", "t.csv", *bad])
    err = capsys.readouterr().err
    assert "YYYY-MM-DD" in err or "at least 1" in err


def _export(world, path):
    export = world.rename(columns={"customer_id": "Customer ID", "invoice_id": "Invoice", "invoice_date":
                                   "InvoiceDate", "product_id": "StockCode", "product_name": "Description",
                                   "quantity": "Quantity", "unit_price": "Price"})
    export[["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID"]].to_csv(
        path, index=False)
    return path


def test_reads_a_csv_export_through_the_importer_and_prints_the_evaluation(tmp_path, world, capsys):  # noqa: F811
    path = _export(world, tmp_path / "sales.csv")
    args = _parser().parse_args(["evaluate", "--transactions", str(path), "--cutoff", "2024-03-31", "--top-n", "2"])
    assert cli.run(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["all"]["popularity"]["hit_rate"] == 0.5 and out["new"]["popularity"]["hit_rate"] == 1.0


def test_a_file_with_many_rejected_rows_is_refused_unless_accepted(tmp_path, world, capsys):  # noqa: F811
    """The evaluation once accepted any file silently; now rejects above the threshold stop it, as for imports."""
    from crm_core.ingest import RejectThresholdExceeded

    path = _export(world, tmp_path / "sales.csv")
    lines = path.read_text().splitlines()
    lines += [f"X{i},P1,Thing,1,not a date,1.0,C9" for i in range(len(lines))]  # about half the rows bad
    path.write_text("\n".join(lines) + "\n")
    args = _parser().parse_args(["evaluate", "--transactions", str(path), "--cutoff", "2024-03-31", "--top-n", "2"])
    with pytest.raises(RejectThresholdExceeded):
        cli.run(args)
    args = _parser().parse_args(["evaluate", "--transactions", str(path), "--cutoff", "2024-03-31", "--top-n", "2",
                                 "--accept-rejects"])
    assert cli.run(args) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["all"]["popularity"]["hit_rate"] == 0.5
    assert "rows were rejected and are not part of the evaluation" in captured.err


def test_several_cutoffs_or_a_step_are_accepted_but_only_one_way_of_choosing():
    args = _parser().parse_args(["evaluate", "--transactions", "t.csv", "--cutoffs", "2024-03-31, 2024-03-20"])
    assert args.cutoffs == [CUTOFF, dt.date(2024, 3, 20)] and args.cutoff is None and args.every is None
    for step, days in (("60d", 60), ("8w", 56), ("45", 45)):
        assert _parser().parse_args(["evaluate", "--transactions", "t.csv", "--every", step]).every == days


@pytest.mark.parametrize("bad", [[], ["--cutoff", "2024-03-31", "--every", "60d"], ["--every", "0d"],
                                 ["--every", "two months"], ["--cutoffs", "2024-03-31,31/03/2024"]])
def test_a_missing_double_or_malformed_choice_of_cutoffs_fails_with_a_message(bad, capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(["evaluate", "--transactions", "t.csv", *bad])
    err = capsys.readouterr().err
    assert any(word in err for word in ("one of the arguments", "not allowed with", "60d or 8w", "YYYY-MM-DD"))


def test_one_cutoff_prints_the_evaluation_alone(tmp_path, world, capsys):  # noqa: F811
    path = _export(world, tmp_path / "sales.csv")
    args = _parser().parse_args(["evaluate", "--transactions", str(path), "--cutoff", "2024-03-31", "--top-n", "2"])
    assert cli.run(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["all", "new"] and list(out["all"]) == ["engine", "popularity", "repeat"]


def test_several_cutoffs_print_each_result_and_the_mean_and_spread(tmp_path, world, capsys):  # noqa: F811
    path = _export(world, tmp_path / "sales.csv")
    args = _parser().parse_args(["evaluate", "--transactions", str(path), "--cutoffs", "2024-03-31,2024-03-20",
                                 "--top-n", "2"])
    assert cli.run(args) == 0
    first = capsys.readouterr().out
    out = json.loads(first)
    assert out["cutoffs"] == ["2024-03-20", "2024-03-31"] and len(out["results"]) == 2
    assert out["results"][1]["all"]["popularity"]["hit_rate"] == 0.5
    assert set(out["summary"]["all"]["engine"]["hit_rate"]) == {"mean", "sd", "min", "max"}
    assert cli.run(args) == 0
    assert capsys.readouterr().out == first  # byte for byte


def test_a_cutoff_without_a_full_window_after_it_is_refused(tmp_path, world):  # noqa: F811
    from crm_core.errors import ConfigError

    path = _export(world, tmp_path / "sales.csv")
    args = _parser().parse_args(["evaluate", "--transactions", str(path), "--cutoffs", "2024-03-31,2024-06-30"])
    with pytest.raises(ConfigError, match="latest cutoff with a full window"):
        cli.run(args)
