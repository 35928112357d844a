"""model_health: evaluation of a workspace on a hand-built world with known baselines; grade thresholds; errors."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from crm_core.config import Config
from crm_core.errors import ConfigError, PermissionDenied
from crm_core.recommend.evaluate import evaluate
from crm_core.recommend.settings import RecommendConfig
from crm_core.services.model_health import (GRADE_MEANINGS, ModelHealth, TooLittleDataToEvaluate, default_cutoff,
                                            evaluate_workspace, grade_from_ratios, health_from_evaluation)
from crm_core.store import frames
from tests.offers_page.builders import EVAL_CUTOFF, EVAL_HORIZON, EVAL_TOP_N


@pytest.fixture
def health(eval_world, analyst) -> ModelHealth:
    db, ws = eval_world
    return evaluate_workspace(db, ws, actor=analyst, config=Config(), horizon_days=EVAL_HORIZON, top_n=EVAL_TOP_N)


def test_cutoff_defaults_to_the_last_date_minus_the_horizon(health):
    assert health.cutoff == EVAL_CUTOFF == default_cutoff(dt.date(2024, 7, 30), EVAL_HORIZON)
    assert (health.horizon_days, health.top_n) == (EVAL_HORIZON, EVAL_TOP_N)


def test_baselines_match_the_hand_computed_answer(health):
    ev = health.evaluation
    assert ev["all"]["popularity"]["customers"] == 3
    assert ev["all"]["popularity"]["hit_rate"] == pytest.approx(2 / 3, abs=1e-6)
    assert ev["all"]["popularity"]["precision"] == pytest.approx(1 / 3, abs=1e-6)
    assert ev["all"]["popularity"]["coverage"] == pytest.approx(0.5)
    assert ev["all"]["repeat"]["hit_rate"] == pytest.approx(1 / 3, abs=1e-6)
    assert ev["new"]["popularity"]["customers"] == 2
    assert ev["new"]["popularity"]["hit_rate"] == 1.0
    assert health.best_baseline == {"all": "popularity", "new": "popularity"}


def test_ratios_and_grade_follow_from_the_evaluation(health):
    ev = health.evaluation
    for track in ("all", "new"):
        assert health.ratios[track] == pytest.approx(ev[track]["engine"]["hit_rate"]
                                                     / ev[track]["popularity"]["hit_rate"])
    assert health.ratios == pytest.approx({"all": 1.0, "new": 1.0})  # 2/3 vs 2/3 and 1 vs 1, by hand
    assert health.grade == "B"  # level with the best simple rule on both tracks, not 10 % above
    assert health.meaning == GRADE_MEANINGS[health.grade]
    assert any("Only 3 customers" in n for n in health.notes)  # a tiny world says its figures are noisy


def test_workspace_evaluation_is_the_frame_evaluation_of_the_same_data(eval_world, health):
    db, ws = eval_world
    direct = evaluate(frames.read_transactions(db, ws), cutoff=EVAL_CUTOFF, horizon_days=EVAL_HORIZON,
                      top_n=EVAL_TOP_N, products=frames.read_products(db, ws), config=RecommendConfig())
    assert health.evaluation == direct


def test_an_explicit_cutoff_and_top_n_are_used(eval_world, analyst):
    db, ws = eval_world
    health = evaluate_workspace(db, ws, actor=analyst, config=RecommendConfig(), cutoff=dt.date(2024, 6, 25),
                                horizon_days=35, top_n=1)
    assert health.cutoff == dt.date(2024, 6, 25) and health.top_n == 1
    # One offer each: precision = hit-rate; the bestseller D hits nobody.
    assert health.evaluation["all"]["popularity"]["precision"] == health.evaluation["all"]["popularity"]["hit_rate"]
    assert health.evaluation["all"]["popularity"]["hit_rate"] == 0.0


def test_a_config_of_another_kind_is_refused(eval_world, analyst):
    db, ws = eval_world
    with pytest.raises(ConfigError, match="RecommendConfig"):
        evaluate_workspace(db, ws, actor=analyst, config={"top_n": 3})


def test_comparison_table_has_one_row_per_track_and_method(health):
    table = health.comparison()
    assert list(zip(table["track"], table["method"])) == [("all", "engine"), ("all", "popularity"),
                                                          ("all", "repeat"), ("new", "engine"),
                                                          ("new", "popularity")]
    best = table[table["is_best_baseline"]]
    assert best["method"].tolist() == ["popularity", "popularity"]
    assert best["vs_best_baseline"].tolist() == [1.0, 1.0]
    assert table.loc[2, "vs_best_baseline"] == pytest.approx(0.5, abs=1e-5)  # repeat 1/3 vs popularity 2/3


def test_tracks_put_the_engine_next_to_the_best_baseline(health):
    tracks = health.tracks()
    assert tracks["track"].tolist() == ["all", "new"] and tracks["baseline"].tolist() == ["popularity"] * 2
    assert tracks["customers"].tolist() == [3, 2]
    assert tracks["baseline_hit_rate"].tolist() == pytest.approx([2 / 3, 1.0], abs=1e-6)
    assert tracks["ratio"].tolist() == pytest.approx([health.ratios["all"], health.ratios["new"]])
    assert tracks["engine_hit_rate"].tolist() == [health.evaluation[t]["engine"]["hit_rate"] for t in ("all", "new")]


@pytest.mark.parametrize(("ratios", "grade"), [
    ((1.10, 1.5), "A"), ((0.462 / 0.42, 1.2), "A"), ((1.0999, 2.0), "B"), ((1.0, 1.0), "B"),
    ((2.0, 0.999), "C"), ((0.5, 0.5), "C"), ((1.2, None), "A"), ((math.inf, 1.0), "B"),
])
def test_grade_thresholds(ratios, grade):
    assert grade_from_ratios(ratios) == grade


def _result(all_engine, popularity, repeat, new_engine, new_popularity, new_customers=50):
    def m(hit, customers=100):
        return {"customers": customers, "hit_rate": hit, "precision": hit / 3, "recall": hit, "coverage": 0.5}
    return {"all": {"engine": m(all_engine), "popularity": m(popularity), "repeat": m(repeat)},
            "new": {"engine": m(new_engine, new_customers), "popularity": m(new_popularity, new_customers)}}


def test_grade_uses_the_best_baseline_of_each_track():
    # Beats popularity by far on the all track but not repeat: the best baseline decides.
    health = health_from_evaluation(_result(0.65, 0.42, 0.633, 0.30, 0.18), workspace_id=1,
                                    cutoff=EVAL_CUTOFF, horizon_days=90, top_n=3)
    assert health.best_baseline == {"all": "repeat", "new": "popularity"}
    assert health.grade == "B" and health.ratios["all"] == pytest.approx(0.65 / 0.633)
    assert health_from_evaluation(_result(0.70, 0.42, 0.633, 0.30, 0.18), workspace_id=1, cutoff=EVAL_CUTOFF,
                                  horizon_days=90, top_n=3).grade == "A"
    assert health_from_evaluation(_result(0.70, 0.42, 0.633, 0.17, 0.18), workspace_id=1, cutoff=EVAL_CUTOFF,
                                  horizon_days=90, top_n=3).grade == "C"


def test_an_empty_new_track_is_left_out_of_the_grade_and_said(eval_world):
    health = health_from_evaluation(_result(0.70, 0.42, 0.633, 0.0, 0.0, new_customers=0), workspace_id=1,
                                    cutoff=EVAL_CUTOFF, horizon_days=90, top_n=3)
    assert health.ratios["new"] is None and health.grade == "A"
    assert any("grade rests on the all products track" in n for n in health.notes)


def test_viewer_may_not_run_the_evaluation(eval_world, viewer):
    db, ws = eval_world
    with pytest.raises(PermissionDenied):
        evaluate_workspace(db, ws, actor=viewer, config=Config())
    with pytest.raises(PermissionDenied, match="Log in"):
        evaluate_workspace(db, ws, actor=None, config=Config())


def test_no_buyer_after_the_cutoff_is_too_little_data(eval_world, analyst):
    db, ws = eval_world
    with pytest.raises(TooLittleDataToEvaluate, match="earlier cutoff"):
        evaluate_workspace(db, ws, actor=analyst, config=Config(), cutoff=dt.date(2024, 7, 30))


def test_no_history_before_the_cutoff_is_too_little_data(eval_world, analyst):
    db, ws = eval_world
    with pytest.raises(TooLittleDataToEvaluate, match="no customer sales on or before the cutoff"):
        evaluate_workspace(db, ws, actor=analyst, config=Config(), horizon_days=200)


def test_an_empty_workspace_is_too_little_data(db, analyst):
    from crm_core.store.models import Workspace

    with db.unit_of_work() as s:
        s.add(Workspace(name="empty"))
    with pytest.raises(TooLittleDataToEvaluate, match="no transactions yet"):
        evaluate_workspace(db, 1, actor=analyst, config=Config())


@pytest.mark.parametrize("bad", [{"horizon_days": 0}, {"top_n": 0}, {"top_n": 2.5}])
def test_bad_settings_are_refused(eval_world, analyst, bad):
    db, ws = eval_world
    with pytest.raises(ConfigError):
        evaluate_workspace(db, ws, actor=analyst, config=Config(), **bad)


def test_the_same_data_gives_the_same_health(eval_world, analyst, health):
    db, ws = eval_world
    again = evaluate_workspace(db, ws, actor=analyst, config=Config(), horizon_days=EVAL_HORIZON, top_n=EVAL_TOP_N)
    assert again == health
