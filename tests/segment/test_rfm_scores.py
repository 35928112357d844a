"""RFM scores (ceil of 5 x percentile rank, ties shared) and the named segments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core.errors import ConfigError
from crm_core.segment.rfm import assign_segments, rfm_scores, score, segment_catalog, segment_text
from crm_core.segment.settings import SEGMENT_CODES, RfmConfig


def features(recency, frequency, monetary) -> pd.DataFrame:
    n = len(recency)
    return pd.DataFrame(
        {"recency_days": np.asarray(recency, dtype="int64"), "frequency": np.asarray(frequency, dtype="int64"),
         "monetary": np.asarray(monetary, dtype="float64")},
        index=pd.Index([f"C{i:03d}" for i in range(n)], dtype="string", name="customer_id"),
    )


def test_score_is_ceil_of_five_times_the_lowest_rank_share():
    # lowest ranks 1, 1, 1, 4, 5 of 5 -> ceil(1), ceil(1), ceil(1), ceil(4), ceil(5)
    assert score(pd.Series([1, 1, 1, 2, 3])).tolist() == [1, 1, 1, 4, 5]
    # exact boundaries: rank 2 of 10 -> ceil(1.0) = 1, not 2 (no float rounding)
    assert score(pd.Series(range(10))).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_recent_is_high():
    s = rfm_scores(features([0, 10, 200, 400, 1], [1] * 5, [1.0] * 5))
    assert s["r_score"].tolist() == [5, 3, 2, 1, 4]


def test_one_customer_is_a_champion():
    f = features([3], [2], [50.0])
    s = rfm_scores(f)
    assert s.iloc[0].tolist() == [5, 5, 5]
    assert assign_segments(s, RfmConfig()).tolist() == ["CHAMPIONS"]


def test_everybody_bought_once_all_on_one_day():
    f = features([7] * 6, [1] * 6, [10.0, 10.0, 20.0, 30.0, 40.0, 50.0])
    s = rfm_scores(f)
    assert s["r_score"].nunique() == 1 and s["f_score"].nunique() == 1  # ties share a score
    assert s["m_score"].tolist() == [1, 1, 3, 4, 5, 5]


def test_when_most_bought_once_one_off_buyers_are_f1_and_recent_ones_new():
    frequency = [1] * 60 + [2] * 25 + [5] * 15
    recency = list(range(30)) + list(range(70, 100)) + list(range(30, 70))  # one-off buyers: newest and oldest
    s = rfm_scores(features(recency, frequency, [10.0] * 60 + [30.0] * 40))
    assert set(s["f_score"].iloc[:60]) == {1}
    assert s["f_score"].iloc[60] == 4 and s["f_score"].iloc[-1] == 5
    segments = assign_segments(s, RfmConfig())
    assert segments.iloc[0] == "NEW" and segments.iloc[59] == "LOST"


def test_returns_exceeding_sales_score_lowest_on_monetary():
    s = rfm_scores(features([1, 2, 3, 4, 5], [1, 1, 1, 1, 1], [-20.0, 5.0, 10.0, 15.0, 20.0]))
    assert s["m_score"].iloc[0] == 1


@pytest.mark.parametrize(
    "r, f, m, expected",
    [
        (5, 5, 5, "CHAMPIONS"), (4, 4, 4, "CHAMPIONS"), (5, 3, 3, "LOYAL"), (3, 5, 5, "LOYAL"),
        (1, 4, 5, "CANT_LOSE"),  # precedence: Can't Lose Them before At Risk
        (1, 3, 3, "AT_RISK"), (2, 5, 5, "AT_RISK"), (5, 1, 1, "NEW"), (5, 1, 2, "NEW"),
        (4, 1, 1, "PROMISING"), (4, 2, 2, "POTENTIAL_LOYALISTS"), (5, 2, 3, "POTENTIAL_LOYALISTS"),
        (3, 2, 2, "NEED_ATTENTION"), (3, 1, 1, "ABOUT_TO_SLEEP"), (2, 2, 3, "ABOUT_TO_SLEEP"),
        (2, 1, 1, "HIBERNATING"), (1, 2, 2, "HIBERNATING"), (1, 1, 1, "LOST"), (1, 1, 2, "LOST"),
    ],
)
def test_grid(r, f, m, expected):
    scores = pd.DataFrame({"r_score": [r], "f_score": [f], "m_score": [m]})
    assert assign_segments(scores, RfmConfig()).iloc[0] == expected


def test_every_default_segment_is_reachable_and_has_texts():
    scores = pd.DataFrame(
        [(r, f, m) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)],
        columns=["r_score", "f_score", "m_score"],
    )
    assert set(assign_segments(scores, RfmConfig())) == set(SEGMENT_CODES)
    catalog = segment_catalog()
    assert catalog.index.tolist() == list(SEGMENT_CODES)
    assert segment_text("CANT_LOSE").label == "Can't Lose Them"
    assert catalog["label"].str.len().min() >= 3
    assert catalog["description"].str.len().min() > 20 and catalog["action"].str.len().min() > 20


def test_a_grid_with_a_hole_is_rejected():
    grid = tuple(box for box in RfmConfig().grid if box[0] != "LOST")
    with pytest.raises(ConfigError, match="without a segment"):
        RfmConfig(grid=grid)


values = st.lists(st.integers(min_value=-5, max_value=8), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(recency=values, frequency=values, monetary=values)
def test_scores_in_range_ties_equal_and_one_segment_each(recency, frequency, monetary):
    n = min(len(recency), len(frequency), len(monetary))
    f = features(np.abs(recency[:n]), np.abs(frequency[:n]) + 1, monetary[:n])
    s = rfm_scores(f)
    assert s.isin([1, 2, 3, 4, 5]).all().all()
    for col, score_col in (("recency_days", "r_score"), ("frequency", "f_score"), ("monetary", "m_score")):
        per_value = s[score_col].groupby(f[col].to_numpy()).nunique()
        assert (per_value == 1).all()  # equal values, equal score
        order = np.argsort(f[col].to_numpy(), kind="stable")
        sc = s[score_col].to_numpy()[order]
        assert (np.diff(sc) <= 0).all() if col == "recency_days" else (np.diff(sc) >= 0).all()
    lowest = -(-5 // n)  # ceil(5 / n): 1 from five customers on
    assert s["f_score"].min() == lowest and s["r_score"].min() == lowest  # the worst value scores lowest
    segments = assign_segments(s, RfmConfig())
    assert len(segments) == n and segments.isin(list(SEGMENT_CODES)).all()
