"""Online Retail II (../shared/data): the issue's baselines, and the engine beats them by the goal margins."""

import datetime as dt

import pandas as pd
import pytest

from crm_core.ingest.settings import DEFAULT_NON_MERCHANDISE
from crm_core.recommend.evaluate import evaluate
from crm_core.recommend.settings import RecommendConfig

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

NON_MERCHANDISE = set(DEFAULT_NON_MERCHANDISE)


def online_retail_tx(path) -> pd.DataFrame:
    """The canonical tx frame of the Online Retail II parquet."""
    raw = pd.read_parquet(path)
    cid = raw["Customer ID"]
    product = raw["StockCode"].astype("string").str.strip().str.upper()
    invoice = raw["Invoice"].astype("string")
    tx = pd.DataFrame({
        "customer_id": cid.round().astype("Int64").astype("string"),
        "invoice_id": invoice,
        "invoice_date": pd.to_datetime(raw["InvoiceDate"]).astype("datetime64[ns]"),
        "product_id": product,
        "product_name": raw["Description"].astype("string"),
        "category": pd.Series(pd.NA, index=raw.index, dtype="string"),
        "quantity": raw["Quantity"].astype("float64"),
        "unit_price": raw["Price"].astype("float64"),
    })
    tx["amount"] = tx["quantity"] * tx["unit_price"]
    tx["is_return"] = invoice.str.startswith("C").fillna(False).astype(bool) | (tx["quantity"] < 0)
    tx["is_merchandise"] = ~product.isin(NON_MERCHANDISE).fillna(False).astype(bool)
    return tx


_CACHE: dict = {}


@pytest.fixture
def result(shared_data):
    """The evaluation, computed once per session (shared_data is function-scoped)."""
    if "result" not in _CACHE:
        tx = online_retail_tx(shared_data / "online_retail_II_2009-2010.parquet")
        _CACHE["result"] = evaluate(tx, cutoff=dt.date(2010, 9, 9), horizon_days=90, top_n=3,
                                    config=RecommendConfig())
    return _CACHE["result"]


def test_baselines_reproduce_the_issue_figures(result):
    assert result["all"]["popularity"]["customers"] == 1934
    assert result["all"]["popularity"]["hit_rate"] == pytest.approx(0.422, abs=0.005)
    assert result["all"]["repeat"]["hit_rate"] == pytest.approx(0.633, abs=0.005)
    assert result["new"]["popularity"]["customers"] == 1869
    assert result["new"]["popularity"]["hit_rate"] == pytest.approx(0.184, abs=0.005)


def test_engine_beats_the_goal(result):
    assert result["all"]["engine"]["hit_rate"] >= 1.10 * result["all"]["repeat"]["hit_rate"]
    assert result["new"]["engine"]["hit_rate"] >= 1.5 * result["new"]["popularity"]["hit_rate"]
