"""A pipeline run calibrates before it scores: the choice and its figures in run.json and on the read side."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crm_core.store import Database
from crm_core.views.model_health import run_calibration
from tests.recommend.shops import TRAIN_AS_OF, refill_shop

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def refill_run(tmp_path_factory):
    """``python -m crm_core run`` on the refill shop's export as of the training date: (out dir, database URL)."""
    tmp = tmp_path_factory.mktemp("refill-run")
    tx = refill_shop()
    export = tx.rename(columns={"customer_id": "Customer ID", "invoice_id": "Invoice", "invoice_date": "InvoiceDate",
                                "product_id": "StockCode", "product_name": "Description", "quantity": "Quantity",
                                "unit_price": "Price"})
    export["Invoice"] = "N" + export["Invoice"]  # an invoice number starting with C is a cancellation
    path = tmp / "sales.csv"
    export[["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID"]].to_csv(
        path, index=False)
    url = f"sqlite:///{tmp / 'run.db'}"
    p = subprocess.run([sys.executable, "-m", "crm_core", "run", "--transactions", str(path), "--out", str(tmp / "out"),
                        "--as-of", TRAIN_AS_OF.isoformat(), "--db", url, "--quiet"],
                       capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert p.returncode == 0, p.stderr
    yield tmp / "out", url
    Database._open.pop(url, None)


def test_run_json_holds_the_chosen_blend_its_backtest_figures_and_the_baselines(refill_run):
    out, _ = refill_run
    meta = json.loads((out / "run.json").read_text())
    model = meta["params"]["offers_model"]
    calibration = model["calibration"]
    assert (calibration["status"], calibration["chosen"]) == ("calibrated", "rebuy_first")
    assert calibration["window"] == {"start": "2023-12-02", "end": "2024-03-01", "days": 90}
    assert calibration["baselines"]["all"]["repeat"] > 0 and calibration["baselines"]["new"]["popularity"] > 0
    rows = {b["code"]: b for b in calibration["blends"]}
    assert rows["rebuy_first"]["hit_rate"]["all"] > rows["configured"]["hit_rate"]["all"]
    assert calibration["complete"] and calibration["seconds"] <= calibration["budget_seconds"]
    assert calibration["weights"]["scenario_fit"] == 0.24 and model["learning_days"] == 90


def test_the_offers_are_scored_with_the_chosen_blend(refill_run):
    from crm_core.views.offers import offers_frame

    _, url = refill_run
    db = Database.open(url)
    o = offers_frame(db, _latest_run(db))
    assert len(o) > 3000
    # No margins: profit is left out and rebuy_first's 0.4 / 0.16 / 0.24 renormalised over 0.8.
    expected = (0.4 * o["affinity"] + 0.16 * o["popularity"] + 0.24 * o["scenario_fit"]) / 0.8
    assert (o["score"] - expected).abs().max() < 1e-5


def _latest_run(db) -> int:
    from sqlalchemy import func, select

    from crm_core.store.models import PipelineRun

    with db.read() as s:
        return s.scalar(select(func.max(PipelineRun.id)))


def test_the_read_side_gives_the_page_the_blend_and_a_table_of_blends_and_baselines(refill_run):
    _, url = refill_run
    db = Database.open(url)
    run_id = _latest_run(db)
    blend = run_calibration(db, run_id)
    assert (blend.run_id, blend.status, blend.chosen) == (run_id, "calibrated", "rebuy_first")
    assert (blend.window_start.isoformat(), blend.window_end.isoformat()) == ("2023-12-02", "2024-03-01")
    frame = blend.blends_frame()
    assert frame["method"].tolist() == ["configured", "affinity_led", "popularity_led", "rebuy_first",
                                        "discovery_first", "baseline:repeat", "baseline:popularity"]
    assert frame["chosen"].tolist() == [False, False, False, True, False, False, False]
    best_all = max(blend.baselines["all"].values())
    assert frame.loc[frame["method"] == "baseline:repeat", "all_vs_best"].item() == pytest.approx(
        blend.baselines["all"]["repeat"] / best_all)
    assert str(frame["all_hit_rate"].dtype) == "float64" and str(frame["label"].dtype) == "string"
    assert run_calibration(db, run_id + 1000) is None
