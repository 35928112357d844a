"""Online Retail II (../shared/data): features equal a plain pandas reference; segmentation holds up."""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import pandas as pd
import pytest

from crm_core.features import customer_features
from crm_core.segment import SegmentConfig, segment_customers

pytestmark = pytest.mark.realdata
AS_OF = dt.date(2010, 12, 9)


@pytest.fixture
def raw(shared_data) -> pd.DataFrame:
    return _load(str(shared_data))[0]


@pytest.fixture
def features(shared_data) -> pd.DataFrame:
    return _load(str(shared_data))[1]


@functools.cache
def _load(folder: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The raw file and the features of the canonical frame the importer would produce (read once)."""
    raw = pd.read_parquet(f"{folder}/online_retail_II_2009-2010.parquet")
    ids = raw["Customer ID"].map(lambda v: pd.NA if pd.isna(v) else str(int(v))).astype("string")
    invoice = raw["Invoice"].astype("string")
    tx = pd.DataFrame({
        "customer_id": ids,
        "invoice_id": invoice,
        "invoice_date": pd.to_datetime(raw["InvoiceDate"]),
        "product_id": raw["StockCode"].astype("string").str.upper(),
        "quantity": raw["Quantity"].astype("float64"),
        "unit_price": raw["Price"].astype("float64"),
        "amount": (raw["Quantity"] * raw["Price"]).astype("float64"),
        "is_return": (invoice.str.startswith("C").to_numpy(dtype=bool) | (raw["Quantity"] < 0).to_numpy()),
        "is_merchandise": True,  # no catalog here: every line is merchandise
    })
    return raw, customer_features(tx, AS_OF)


def test_rfm_equals_a_plain_pandas_reference(raw, features):
    d = raw[raw["Customer ID"].notna()].copy()
    d["cid"] = d["Customer ID"].map(lambda v: str(int(v)))
    d["day"] = pd.to_datetime(d.InvoiceDate).dt.normalize()
    d["amount"] = d.Quantity * d.Price
    d = d[d.day <= pd.Timestamp(AS_OF)]
    cancel = d.Invoice.astype(str).str.startswith("C") | (d.Quantity < 0)
    g = d[~cancel].groupby("cid")
    ref = pd.DataFrame({"first": g.day.min(), "last": g.day.max(), "freq": g.Invoice.nunique(),
                        "net": d.groupby("cid").amount.sum()}).dropna(subset=["first"])
    ref["rec"] = (pd.Timestamp(AS_OF) - ref["last"]).dt.days

    assert len(features) == len(ref) == 4314
    assert features.index.tolist() == sorted(ref.index)
    f = features.reindex(ref.index)
    assert (f["first_purchase"] == ref["first"]).all()
    assert (f["last_purchase"] == ref["last"]).all()
    assert (f["recency_days"] == ref["rec"]).all()
    assert (f["frequency"] == ref["freq"]).all()
    assert np.abs(f["monetary"] - ref["net"]).max() <= 0.01


def test_segmentation_of_a_real_shop(features):
    r = segment_customers(features, SegmentConfig.from_dict({"cluster": {"k": 5}}))
    c = r.customers
    assert r.reasons == ()
    assert c["rfm_segment"].nunique() == 11  # every named segment occurs in a real year of data
    assert c[["expected_purchases", "clv", "p_alive", "churn_risk"]].notna().all().all()
    assert r.clusters["persona"].is_unique and len(r.clusters) == 5
    model = r.params["clv_model"]
    assert 0 < model["r"] and 0 < model["alpha"] and model["q"] > 1
    # value models agree with history: champions are worth more than the lost
    by_segment = c.groupby("rfm_segment")["clv"].median()
    assert by_segment["CHAMPIONS"] > 5 * by_segment["LOST"]
    # one-off buyers who last bought long ago are not low risk
    old_one_offs = (features["purchase_days"] == 1) & (features["recency_days"] >= 300)
    assert old_one_offs.sum() > 50 and not (c.loc[old_one_offs, "churn_risk"] == "low").any()
