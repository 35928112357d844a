"""Offer figures and the model-health card."""

import pandas as pd
import pytest

from crm_core.charts.offers import offers_by_scenario_figure, score_components_figure, score_distribution_figure
from crm_core.recommend.engine import recommend
from crm_core.recommend.settings import RecommendConfig
from tests.recommend.worlds import AS_OF


@pytest.fixture
def offers(scenario_world):
    return recommend(scenario_world, None, None, None, as_of=AS_OF, config=RecommendConfig())


def test_offers_by_scenario_and_segment_counts_every_offer(offers):
    seg = offers.assign(segment=["Champions" if c.startswith("LOW") else "New" for c in offers["customer_id"]])
    fig = offers_by_scenario_figure(seg)
    assert sum(sum(t.y) for t in fig.data) == len(offers)
    assert {t.name for t in fig.data} == set(offers["scenario"])
    assert set(fig.data[0].x) <= {"Champions", "New"}


def test_without_segments_bars_are_per_scenario(offers):
    fig = offers_by_scenario_figure(offers)
    assert fig.layout.xaxis.title.text == "Scenario"


def test_score_distribution_has_every_score(offers):
    fig = score_distribution_figure(offers)
    assert sum(len(t.x) for t in fig.data) == len(offers)


def test_components_of_one_offer_show_missing_profit_as_no_data(offers):
    fig = score_components_figure(offers.iloc[0], RecommendConfig().weights)
    assert list(fig.data[0].y) == ["Affinity", "Popularity", "Profit", "Scenario fit"]
    assert fig.data[0].text[2] == "no data (left out)"
    assert fig.data[0].x[0] == pytest.approx(offers.iloc[0]["affinity"])


def test_empty_offers_give_a_message_not_an_error():
    empty = pd.DataFrame({"scenario": pd.Series(dtype="string"), "score": pd.Series(dtype=float)})
    assert offers_by_scenario_figure(empty).layout.annotations[0].text.startswith("No offers")
    assert score_distribution_figure(empty).layout.annotations[0].text.startswith("No offers")


def test_counted_rows_draw_the_same_bars_as_one_row_per_offer(offers):
    seg = offers.assign(segment=["Champions" if c.startswith("LOW") else "New" for c in offers["customer_id"]])
    counted = seg.groupby(["segment", "scenario"], as_index=False).size().rename(columns={"size": "offers"})
    one_per_offer, from_counts = offers_by_scenario_figure(seg), offers_by_scenario_figure(counted, count_column="offers")
    assert [(t.name, list(t.x), list(t.y)) for t in from_counts.data] == \
        [(t.name, list(t.x), list(t.y)) for t in one_per_offer.data]
