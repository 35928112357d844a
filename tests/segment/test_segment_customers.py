"""The public pair: customer_features then segment_customers."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from crm_core.errors import ConfigError
from crm_core.features import customer_features
from crm_core.segment import SegmentConfig, segment_customers
from crm_core.segment.segmentation import SEGMENT_COLUMNS
from crm_core.segment.settings import SEGMENT_CODES

from .builders import AS_OF, make_tx


@pytest.fixture(scope="module")
def features(simulated_tx):
    return customer_features(simulated_tx, AS_OF)


@pytest.fixture(scope="module")
def result(features):
    return segment_customers(features, SegmentConfig.from_dict({"cluster": {"k": 4}}))


def test_every_customer_gets_every_column(features, result):
    c = result.customers
    assert c.index.equals(features.index)
    assert list(c.columns) == list(SEGMENT_COLUMNS)
    assert c["rfm_segment"].isin(list(SEGMENT_CODES)).all()
    assert c[["r_score", "f_score", "m_score"]].isin([1, 2, 3, 4, 5]).all().all()
    assert sorted(c["cluster"].unique()) == [1, 2, 3, 4]
    assert c["persona"].notna().all() and c["churn_risk"].isin(["low", "medium", "high"]).all()
    # the persona of a customer is the persona of their cluster
    assert (c["persona"].to_numpy() == result.clusters.loc[c["cluster"].to_numpy(), "persona"].to_numpy()).all()


def test_params_are_json_ready(result):
    text = json.dumps(result.params)
    params = json.loads(text)
    assert set(params["clv_model"]) >= {"r", "alpha", "a", "b", "p", "q", "gamma", "time_unit", "log_likelihood"}
    assert sum(params["cluster_sizes"].values()) == len(result.customers)
    assert params["clustering"]["k"] == 4 and params["clustering"]["k_chosen_by"] == "config"
    assert sum(params["segment_sizes"].values()) == len(result.customers)
    assert set(result.timings) == {"rfm", "cluster", "value"}


def test_same_input_same_output_byte_for_byte(features, result):
    again = segment_customers(features.copy(), SegmentConfig.from_dict({"cluster": {"k": 4}}))
    one, two = io.StringIO(), io.StringIO()
    result.customers.to_csv(one)
    again.customers.to_csv(two)
    assert one.getvalue() == two.getvalue()
    pd.testing.assert_frame_equal(result.clusters, again.clusters)
    assert json.dumps(result.params, sort_keys=True) == json.dumps(again.params, sort_keys=True)


def test_auto_k_is_recorded(features):
    r = segment_customers(features, SegmentConfig.from_dict({"cluster": {"k_max": 4}}))
    assert r.params["clustering"]["k_chosen_by"] == "silhouette"
    assert set(r.params["clustering"]["silhouettes"]) == {"2", "3", "4"}


def test_no_customers_gives_empty_frames_and_reasons():
    f = customer_features(make_tx([{"customer_id": "1", "invoice_date": "2030-01-01", "amount": 1.0}]), AS_OF)
    r = segment_customers(f)
    assert r.customers.empty and list(r.customers.columns) == list(SEGMENT_COLUMNS)
    assert r.clusters.empty and r.reasons


def test_a_handful_of_customers_are_ranked_by_the_stated_history_rule():
    tx = make_tx([
        {"customer_id": "A", "invoice_id": "1", "invoice_date": "2024-01-01", "amount": 10.0},
        {"customer_id": "B", "invoice_id": "2", "invoice_date": "2024-05-01", "amount": 30.0},
        {"customer_id": "B", "invoice_id": "3", "invoice_date": "2024-06-01", "amount": 30.0},
    ])
    r = segment_customers(customer_features(tx, AS_OF))
    assert r.customers["rfm_segment"].notna().all()
    c = r.customers
    assert c[["expected_purchases", "clv", "p_alive", "churn_score", "churn_risk"]].notna().all().all()
    assert c.loc["B", "clv"] > c.loc["A", "clv"] and c.loc["B", "churn_score"] < c.loc["A", "churn_score"]
    assert r.params["clv_model"]["method"] == "history_rule" and r.params["clv_model"]["r"] is None
    note = next(reason for reason in r.reasons if "BG/NBD needs at least" in reason)
    assert "simple rule instead" in note and "days since the last purchase" in note


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(ConfigError, match="unknown"):
        SegmentConfig.from_dict({"clusters": {}})
    with pytest.raises(ConfigError, match="horizon"):
        SegmentConfig.from_dict({"value": {"horizon": 30}})
    config = SegmentConfig.from_dict({"value": {"horizon_days": 90, "churn_bands": [0.2, 0.5]}})
    assert config.value.horizon_days == 90 and config.value.churn_bands == (0.2, 0.5)
    assert SegmentConfig.from_dict(config.to_dict()) == config
