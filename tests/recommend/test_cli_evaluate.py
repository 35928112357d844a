"""The ``evaluate`` command: options, JSON on stdout, files read through the importer."""

import argparse
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


def test_run_prints_the_evaluation_json(world, monkeypatch, capsys):  # noqa: F811
    monkeypatch.setattr(cli, "read_inputs", lambda args, config: {"transactions": world})
    args = _parser().parse_args(["evaluate", "--transactions", "t.csv", "--cutoff", "2024-03-31", "--top-n", "2"])
    assert cli.run(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["all"]["popularity"]["hit_rate"] == 0.5 and out["new"]["popularity"]["hit_rate"] == 1.0


def test_reads_a_csv_export_through_the_importer(tmp_path, world):  # noqa: F811
    path = tmp_path / "sales.csv"
    export = world.rename(columns={"customer_id": "Customer ID", "invoice_id": "Invoice", "invoice_date":
                                   "InvoiceDate", "product_id": "StockCode", "product_name": "Description",
                                   "quantity": "Quantity", "unit_price": "Price"})
    export[["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID"]].to_csv(
        path, index=False)
    args = _parser().parse_args(["evaluate", "--transactions", str(path), "--cutoff", "2024-03-31"])
    from crm_core.config import Config
    frames = cli.read_inputs(args, Config())
    tx = frames["transactions"]
    assert len(tx) == len(world) and set(tx["product_id"].dropna()) == {"P1", "P2", "P3", "P4"}
    assert tx["is_return"].sum() == 1
