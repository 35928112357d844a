"""Segment figures: the data they are given ends up in the traces, and empty data says so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_core.charts import segments as charts
from crm_core.segment.compare import segment_migration


@pytest.fixture
def customers() -> pd.DataFrame:
    return pd.DataFrame({
        "rfm_segment": pd.array(["CHAMPIONS", "CHAMPIONS", "LOST", "AT_RISK"], dtype="string"),
        "monetary": [100.0, 300.0, -5.0, 50.0],
        "r_score": [5, 4, 1, 1], "f_score": [5, 5, 1, 3],
        "clv": pd.array([120.0, 340.0, pd.NA, 10.0], dtype="Float64"),
        "churn_risk": pd.array(["low", "low", "high", pd.NA], dtype="string"),
    }, index=pd.Index(["a", "b", "c", "d"], dtype="string", name="customer_id"))


def test_treemap_by_customers_and_revenue(customers):
    fig = charts.segment_treemap(customers)
    tm = fig.data[0]
    assert list(tm.ids) == ["CHAMPIONS", "AT_RISK", "LOST"]
    assert list(tm.values) == [2, 1, 1]
    assert list(tm.labels)[0] == "Champions"
    revenue = charts.segment_treemap(customers, measure="revenue").data[0]
    assert list(revenue.ids) == ["CHAMPIONS", "AT_RISK"]  # LOST nets negative: cannot be a tile
    assert list(revenue.values) == [400.0, 50.0]


def test_heatmap_counts(customers):
    z = np.array(charts.rf_heatmap(customers).data[0].z)
    assert z.shape == (5, 5) and z.sum() == 4
    assert z[4, 4] == 1 and z[3, 4] == 1 and z[0, 0] == 1 and z[0, 2] == 1


def test_distributions(customers):
    hist = charts.clv_distribution(customers, currency="GBP").data[0]
    assert list(hist.y).count(0) == charts.CLV_BINS - 3 and sum(hist.y) == 3  # the NA is left out
    assert hist.y[0] == 1 and hist.y[-1] == 1  # 10.0 in the first bin, 340.0 in the last
    assert hist.x[0] - hist.width[0] / 2 == pytest.approx(10.0) and hist.x[-1] + hist.width[-1] / 2 == 340.0
    bars = charts.churn_risk_distribution(customers).data[0]
    assert list(bars.y) == [2, 0, 1]


def test_clv_bins_are_counted_here_whatever_the_number_of_customers():
    clv = np.random.default_rng(3).gamma(2.0, 50.0, 20_000)
    fig = charts.clv_distribution(pd.DataFrame({"clv": clv}), currency="EUR")
    bars = fig.data[0]
    assert len(bars.x) == charts.CLV_BINS and sum(bars.y) == 20_000  # bars, not the 20,000 values
    top = np.quantile(clv, 0.99)  # the top 1% counted in the last bin, at the 99th percentile
    assert bars.y[-1] >= (clv >= top).sum() and "99th percentile" in fig.layout.title.text
    assert bars.customdata[-1][1] == pytest.approx(top) and "EUR" in bars.hovertemplate


def test_missing_value_model_is_explained(customers):
    fig = charts.clv_distribution(customers.assign(clv=pd.array([pd.NA] * 4, dtype="Float64")),
                                  reason="BG/NBD needs at least 20 repeat buyers")
    assert not fig.data and "20 repeat buyers" in fig.layout.annotations[0].text


def test_cluster_scatter_one_trace_per_cluster():
    points = pd.DataFrame({"x": [0.0, 1.0, 2.0], "y": [1.0, 0.0, 1.0], "cluster": pd.array([1, 2, 1], dtype="Int64")},
                          index=pd.Index(["a", "b", "c"], dtype="string"))
    fig = charts.cluster_scatter(points, pd.Series({1: "Big-basket loyalists", 2: "Newcomers"}))
    assert [t.name for t in fig.data] == ["1: Big-basket loyalists", "2: Newcomers"]
    assert list(fig.data[0].customdata) == ["a", "c"]


def test_sankey_links_are_the_migration_counts():
    before = pd.Series(["CHAMPIONS", "CHAMPIONS", "LOST"], index=["a", "b", "c"])
    after = pd.Series(["CHAMPIONS", "AT_RISK", "LOST"], index=["a", "b", "c"])
    fig = charts.migration_sankey(segment_migration(before, after))
    link = fig.data[0].link
    assert sorted(link.value) == [1, 1, 1] and len(fig.data[0].node.label) == 5


def test_empty_inputs_give_a_message_not_an_error(customers):
    for fig in (charts.segment_treemap(customers.iloc[:0]), charts.rf_heatmap(customers.iloc[:0]),
                charts.churn_risk_distribution(customers.iloc[:0])):
        assert fig.layout.annotations and not fig.data
