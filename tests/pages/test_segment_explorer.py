"""crm_core.views.segments: filters, KPIs and the listed customers, on a small run_customers frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core.views.runs import RUN_CUSTOMER_COLUMNS
from crm_core.views.segments import (UNKNOWN_REGION, CustomerFilter, customer_list, explorer_kpis, filter_choices,
                                     filter_customers, persona_cards)


def _customers(rows: list[tuple]) -> pd.DataFrame:
    """rows: (id, segment, cluster, churn_risk, region, monetary, clv)."""
    frame = pd.DataFrame(rows, columns=["customer_id", "rfm_segment", "cluster", "churn_risk", "region", "monetary",
                                        "clv"]).set_index("customer_id")
    frame = frame.reindex(columns=list(RUN_CUSTOMER_COLUMNS))
    for col in ("rfm_segment", "churn_risk", "region", "name", "segment", "persona_name"):
        frame[col] = frame[col].astype("string")
    frame["cluster"] = frame["cluster"].astype("Int64")
    frame["clv"] = frame["clv"].astype("Float64")
    frame["monetary"] = frame["monetary"].astype("float64")
    return frame


SAMPLE = _customers([
    ("A", "CHAMPIONS", 1, "low", "North", 500.0, 300.0),
    ("B", "LOYAL", 1, "low", "South", 300.0, None),
    ("C", "AT_RISK", 2, "high", None, 200.0, 20.0),
    ("D", "LOST", 2, "high", "North", -10.0, 1.0),
    ("E", "CANT_LOSE", 3, None, "South", 800.0, None),
])


def test_no_filter_keeps_everyone():
    assert filter_customers(SAMPLE, CustomerFilter()).index.tolist() == ["A", "B", "C", "D", "E"]


@pytest.mark.parametrize(("chosen", "expected"), [
    (CustomerFilter(segments=("CHAMPIONS", "LOST")), ["A", "D"]),
    (CustomerFilter(clusters=(2,)), ["C", "D"]),
    (CustomerFilter(churn_risks=("high",)), ["C", "D"]),
    (CustomerFilter(regions=("North",)), ["A", "D"]),
    (CustomerFilter(regions=(UNKNOWN_REGION,)), ["C"]),
    (CustomerFilter(value_min=200.0, value_max=500.0), ["A", "B", "C"]),
    (CustomerFilter(value_column="clv", value_min=10.0), ["A", "C"]),  # unknown CLV is out once a bound is set
    (CustomerFilter(segments=("CHAMPIONS", "LOYAL"), regions=("South",)), ["B"]),
    (CustomerFilter(segments=("NEW",)), []),
])
def test_each_filter_narrows_as_stated(chosen, expected):
    assert filter_customers(SAMPLE, chosen).index.tolist() == expected


@settings(max_examples=50, deadline=None)
@given(segments=st.sets(st.sampled_from(["CHAMPIONS", "LOYAL", "AT_RISK", "LOST", "CANT_LOSE"])),
       clusters=st.sets(st.integers(1, 3)), low=st.none() | st.floats(-20, 900))
def test_adding_a_filter_never_widens_the_list(segments, clusters, low):
    wide = filter_customers(SAMPLE, CustomerFilter(segments=tuple(segments)))
    narrow = filter_customers(SAMPLE, CustomerFilter(segments=tuple(segments), clusters=tuple(clusters),
                                                     value_min=low))
    assert set(narrow.index) <= set(wide.index)
    assert list(narrow.columns) == list(SAMPLE.columns)


def test_unknown_value_column_is_refused():
    with pytest.raises(ValueError, match="monetary"):
        CustomerFilter(value_column="revenue")


def test_choices_list_what_the_run_holds_in_display_order():
    clusters = pd.DataFrame({"persona_name": ["Loyalists", "Lapsed", "Big spenders"]}, index=[1, 2, 3])
    choices = filter_choices(SAMPLE, clusters)
    assert [code for code, _ in choices.segments] == ["CHAMPIONS", "LOYAL", "AT_RISK", "CANT_LOSE", "LOST"]
    assert dict(choices.segments)["CANT_LOSE"] == "Can't Lose Them"
    assert choices.clusters == ((1, "1 · Loyalists"), (2, "2 · Lapsed"), (3, "3 · Big spenders"))
    assert choices.churn_risks == ("low", "high")
    assert choices.regions == ("North", "South", UNKNOWN_REGION)
    assert choices.value_bounds == {"monetary": (-10.0, 800.0), "clv": (1.0, 300.0)}


def test_kpis_say_unknown_rather_than_invent():
    kpis = explorer_kpis(SAMPLE)
    assert (kpis.customers, kpis.revenue) == (5, 1790.0)
    assert kpis.mean_clv == pytest.approx((300 + 20 + 1) / 3)
    assert kpis.high_churn_share == 0.5  # of the 4 with a known risk
    assert kpis.slipping_share == 0.4 and kpis.champions_share == 0.2
    no_value = SAMPLE.assign(clv=pd.array([pd.NA] * 5, dtype="Float64"),
                             churn_risk=pd.array([pd.NA] * 5, dtype="string"))
    assert explorer_kpis(no_value).mean_clv is None and explorer_kpis(no_value).high_churn_share is None
    empty = explorer_kpis(SAMPLE.iloc[:0])
    assert (empty.customers, empty.revenue, empty.slipping_share) == (0, 0.0, 0.0)


def test_list_is_most_valuable_first_with_the_id_as_a_column():
    listed = customer_list(SAMPLE)
    assert listed["customer_id"].tolist() == ["E", "A", "B", "C", "D"]
    assert customer_list(SAMPLE, limit=2)["customer_id"].tolist() == ["E", "A"]
    ties = SAMPLE.assign(monetary=np.zeros(5))
    assert customer_list(ties)["customer_id"].tolist() == ["A", "B", "C", "D", "E"]  # stable on ties


def test_persona_cards_keep_missing_medians_missing():
    clusters = pd.DataFrame({"persona_name": ["Loyalists"], "description": ["Buy often."], "size": [3],
                             "share": [1.0], "median_monetary": [12.5]}, index=pd.Index([1], name="cluster"))
    cards = persona_cards(clusters)
    assert cards.loc[0, "cluster"] == 1 and cards.loc[0, "median_monetary"] == 12.5
    assert pd.isna(cards.loc[0, "median_frequency"])


def test_what_the_segments_page_runs_leaves_the_shared_frame_as_it_was():
    """The page keeps one copy of a run's customers for every session (st.cache_resource): nothing it calls may
    change that frame, or one analyst's filter would show up in another's page."""
    from crm_core.charts import segments as charts

    shared = SAMPLE.assign(r_score=pd.array([5, 4, 2, 1, 1], dtype="Int64"),
                           f_score=pd.array([5, 3, 2, 1, 4], dtype="Int64"))
    before = shared.copy(deep=True)
    filter_choices(shared)
    explorer_kpis(shared)
    for measure in ("customers", "revenue"):
        charts.segment_treemap(shared, measure=measure, currency="EUR")
    charts.rf_heatmap(shared)
    charts.clv_distribution(shared, currency="EUR")
    charts.churn_risk_distribution(shared)
    for chosen in (CustomerFilter(), CustomerFilter(segments=("LOST",)), CustomerFilter(regions=(UNKNOWN_REGION,)),
                   CustomerFilter(value_column="clv", value_min=1.0)):
        listed = customer_list(filter_customers(shared, chosen), limit=2)
        listed.iloc[:, 0] = None  # the page's own copy: changing it must not reach the shared frame
        explorer_kpis(filter_customers(shared, chosen))
    pd.testing.assert_frame_equal(shared, before)
