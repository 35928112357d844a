"""The evaluation at many cutoffs: the schedule, the checks, and the mean and spread of every figure."""

from __future__ import annotations

import datetime as dt

import pytest

from crm_core.errors import ConfigError
from crm_core.recommend.cutoffs import check_cutoffs, cutoff_schedule, evaluate_cutoffs, spread
from crm_core.recommend.evaluate import EvaluationImpossible, evaluate
from crm_core.recommend.settings import RecommendConfig
from tests.recommend.test_evaluate import world as world  # noqa: F401  (fixture)

D = dt.date


def test_every_60_days_on_the_online_retail_year_gives_four_cutoffs_ending_at_the_last_full_window():
    cutoffs = cutoff_schedule(D(2009, 12, 1), D(2010, 12, 9), every_days=60, horizon_days=90)
    assert cutoffs == [D(2010, 3, 14), D(2010, 5, 13), D(2010, 7, 12), D(2010, 9, 10)]


def test_a_schedule_needs_two_horizons_of_data_and_a_positive_step():
    with pytest.raises(EvaluationImpossible, match="needs 90 days of history before it and 90 days of truth"):
        cutoff_schedule(D(2024, 1, 1), D(2024, 6, 1), every_days=30, horizon_days=90)
    with pytest.raises(ConfigError, match="at least 1"):
        cutoff_schedule(D(2023, 1, 1), D(2024, 6, 1), every_days=0, horizon_days=90)


def test_cutoffs_are_sorted_once_each_and_a_window_past_the_data_is_refused():
    assert check_cutoffs([D(2010, 5, 1), D(2010, 3, 1), D(2010, 5, 1)], D(2010, 12, 9), 90) == [
        D(2010, 3, 1), D(2010, 5, 1)]
    with pytest.raises(ConfigError, match="latest cutoff with a full window is 2010-09-10"):
        check_cutoffs([D(2010, 3, 1), D(2010, 10, 1)], D(2010, 12, 9), 90)
    with pytest.raises(ConfigError, match="at least one cutoff"):
        check_cutoffs([], D(2010, 12, 9), 90)


def test_spread_is_the_mean_the_sample_standard_deviation_and_the_range():
    assert spread([0.5, 0.7, 0.6, 0.8]) == {"mean": 0.65, "sd": 0.129099, "min": 0.5, "max": 0.8}
    assert spread([0.7]) == {"mean": 0.7, "sd": 0.0, "min": 0.7, "max": 0.7}
    assert spread([None, 1.0, 3.0]) == {"mean": 2.0, "sd": 1.414214, "min": 1.0, "max": 3.0}
    assert spread([None]) == {"mean": None, "sd": None, "min": None, "max": None}


def test_each_cutoff_is_evaluated_as_alone_and_summarised(world):  # noqa: F811
    cutoffs = [D(2024, 3, 31), D(2024, 3, 20)]
    out = evaluate_cutoffs(world, cutoffs, horizon_days=90, top_n=2, config=RecommendConfig())
    assert out["cutoffs"] == ["2024-03-20", "2024-03-31"] and (out["horizon_days"], out["top_n"]) == (90, 2)
    for result, cutoff in zip(out["results"], sorted(cutoffs), strict=True):
        alone = evaluate(world, cutoff=cutoff, horizon_days=90, top_n=2, config=RecommendConfig())
        assert {"all": result["all"], "new": result["new"]} == alone
        assert result["calibration"]["status"] in {"kept", "calibrated", "off"}
        assert "seconds" not in result["calibration"]  # the output is the same for the same data
        repeat = alone["all"]["repeat"]["hit_rate"]
        assert result["ratios"]["all"]["repeat"] == round(alone["all"]["engine"]["hit_rate"] / repeat, 6)
    hit = [r["all"]["popularity"]["hit_rate"] for r in out["results"]]
    assert out["summary"]["all"]["popularity"]["hit_rate"] == spread(hit)
    assert set(out["summary"]) == {"all", "new"} and set(out["summary"]["new"]) == {"engine", "popularity"}
    assert set(out["summary"]["all"]["engine"]) == {"customers", "hit_rate", "precision", "recall", "coverage"}
    assert set(out["ratio_summary"]["all"]) == {"repeat", "popularity"}
