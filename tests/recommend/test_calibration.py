"""Calibration: a backtest on the shop's own last window chooses the blend the offers are scored with.

The shops (tests/recommend/shops.py) are each made so that one blend should win; every test that
says a blend wins also checks, on the 60 days after the training date, that the calibrated engine
finds more buyers than the configured one (or, where the configured blend is kept, that no blend
does clearly better): the backtest's choice is right, not just consistent.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from crm_core.recommend.calibration import BLENDS, FLOOR_SECONDS, calibrate, calibration_budget
from crm_core.recommend.engine import prepare
from crm_core.recommend.evaluate import evaluate
from crm_core.recommend.settings import RecommendConfig
from tests.recommend.shops import TRAIN_AS_OF, bestseller_shop, loyal_shop, refill_shop
from tests.recommend.worlds import AS_OF

pytestmark = pytest.mark.slow
FUTURE_DAYS = 60
_SHOPS: dict = {}


def _shop(name: str) -> pd.DataFrame:
    if name not in _SHOPS:
        _SHOPS[name] = {"loyal": loyal_shop, "refill": refill_shop, "bestseller": bestseller_shop}[name]()
    return _SHOPS[name]


def _engine(tx: pd.DataFrame, config: RecommendConfig | None = None):
    train = tx[tx["invoice_date"] < pd.Timestamp(TRAIN_AS_OF) + pd.Timedelta(days=1)]
    return prepare(train, None, None, None, as_of=TRAIN_AS_OF, config=config or RecommendConfig())


def _future_hit_rate(tx: pd.DataFrame, config: RecommendConfig) -> float:
    """The all-products hit-rate on the days after the training date (calibrated unless switched off)."""
    return evaluate(tx, cutoff=TRAIN_AS_OF, horizon_days=FUTURE_DAYS, config=config)["all"]["engine"]["hit_rate"]


def _without_timings(report: dict) -> dict:
    return {k: v for k, v in report.items() if k not in ("seconds", "budget_seconds")}


class StepClock:
    """A clock that moves one second each time it is read."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_where_bestsellers_mislead_loyal_rebuyers_the_purchase_model_leads_and_finds_more_buyers():
    tx = _shop("loyal")
    cal = calibrate(_engine(tx), budget_seconds=60)
    assert (cal.report["status"], cal.blend.code) == ("calibrated", "affinity_led")
    chosen = next(b for b in cal.report["blends"] if b["code"] == "affinity_led")
    assert chosen["clearly_better"] and chosen["gain"]["all"] > chosen["margin"]["all"]
    assert cal.engine.config.weight_affinity > RecommendConfig().weight_affinity
    calibrated = _future_hit_rate(tx, RecommendConfig())
    configured = _future_hit_rate(tx, RecommendConfig(calibrate=False))
    assert calibrated >= configured + 0.01


def test_where_young_lines_are_refilled_before_any_repeat_shows_rebuy_first_wins_by_far():
    """The configured rules drop a product bought once whose buyers never rebought it yet; rebuy_first keeps it."""
    tx = _shop("refill")
    cal = calibrate(_engine(tx), budget_seconds=60)
    assert (cal.report["status"], cal.blend.code) == ("calibrated", "rebuy_first")
    assert cal.engine.config.replenish_min_repeat_rate == 0.0 and cal.engine.config.due_factor == 0.75
    calibrated = _future_hit_rate(tx, RecommendConfig())
    configured = _future_hit_rate(tx, RecommendConfig(calibrate=False))
    assert calibrated >= configured + 0.05


def test_on_a_bestseller_shop_no_blend_is_clearly_better_so_the_configured_one_stays():
    tx = _shop("bestseller")
    cal = calibrate(_engine(tx), budget_seconds=60)
    assert (cal.report["status"], cal.report["chosen"]) == ("kept", "configured")
    assert cal.engine.config == RecommendConfig()
    assert not any(b.get("clearly_better") for b in cal.report["blends"])
    assert "No blend did clearly better" in cal.report["reason"]
    configured = _future_hit_rate(tx, RecommendConfig(calibrate=False))
    for code in ("affinity_led", "popularity_led"):  # the closest on the backtest are no better after it either
        other = next(b for b in BLENDS if b.code == code).config(RecommendConfig(calibrate=False))
        assert _future_hit_rate(tx, other) <= configured + 0.01


def test_the_same_data_gives_the_same_choice_figures_and_offers():
    tx = _shop("refill")
    first, second = calibrate(_engine(tx), budget_seconds=60), calibrate(_engine(tx), budget_seconds=60)
    assert _without_timings(first.report) == _without_timings(second.report)
    assert first.report["complete"] and first.report["tried"] == len(BLENDS)
    pd.testing.assert_frame_equal(first.engine.offers(), second.engine.offers())


def test_the_report_is_json_and_names_the_window_the_customers_and_the_baselines():
    cal = calibrate(_engine(_shop("refill")), budget_seconds=60)
    report = json.loads(json.dumps(cal.report))
    assert report["window"] == {"start": "2023-12-02", "end": "2024-03-01", "days": 90}
    assert report["customers"]["sampled"] == report["customers"]["bought_in_window"] > 1000
    assert set(report["baselines"]) == {"all", "new"} and set(report["baselines"]["all"]) == {"repeat", "popularity"}
    assert [b["code"] for b in report["blends"]] == [b.code for b in BLENDS]
    # rebuy_first: affinity keeps 0.4 (= 0.5 of the 0.8 left beside profit), popularity 0.2 and fit 0.3 of it
    assert report["settings"] == {"due_factor": 0.75, "replenish_min_repeat_rate": 0.0, "weight_popularity": 0.16,
                                  "weight_scenario_fit": 0.24}
    assert sum(report["weights"].values()) == pytest.approx(1.0)


def test_the_budget_stops_the_backtest_before_a_blend_would_overrun_it():
    engine = _engine(_shop("refill"))
    # Clock reads: start 1; check 2 (1 s spent, no blend yet: go); blend from 3 to 4; check 5 (4 s + 1 s > 3: stop).
    cal = calibrate(engine, budget_seconds=3, clock=StepClock())
    assert (cal.report["complete"], cal.report["tried"], cal.report["chosen"]) == (False, 1, "configured")
    assert "stopped the backtest after 1 of 5 blends" in cal.report["reason"]
    nothing = calibrate(engine, budget_seconds=0, clock=StepClock())
    assert nothing.report["tried"] == 0 and "took the whole budget" in nothing.report["reason"]
    assert nothing.engine.config == engine.config


def test_a_real_run_stays_within_its_budget():
    engine = _engine(_shop("refill"))
    cal = calibrate(engine, budget_seconds=FLOOR_SECONDS * 10)
    assert cal.report["complete"] and cal.report["seconds"] <= cal.report["budget_seconds"]


def test_the_budget_is_a_share_of_the_stage_with_a_floor_and_a_cap():
    config = RecommendConfig()
    assert calibration_budget(25.0, config) == pytest.approx(0.2 * 2 * 25.0)  # the stage is about twice preparing
    assert calibration_budget(0.3, config) == FLOOR_SECONDS
    assert calibration_budget(1000.0, config) == config.calibration_max_seconds
    assert calibration_budget(25.0, dataclasses.replace(config, calibration_budget_share=0.1)) == pytest.approx(5.0)


def test_switched_off_it_scores_with_the_configured_settings_and_says_so():
    engine = _engine(_shop("refill"), RecommendConfig(calibrate=False))
    cal = calibrate(engine, budget_seconds=60)
    assert (cal.report["status"], cal.report["chosen"], cal.report["blends"]) == ("off", "configured", [])
    assert cal.engine.config == engine.config and cal.engine.learning is None


def test_too_few_buyers_in_the_window_keep_the_configured_blend(scenario_world):
    engine = prepare(scenario_world, None, None, None, as_of=AS_OF, config=RecommendConfig())
    cal = calibrate(engine, budget_seconds=60)
    assert cal.report["status"] == "kept" and cal.report["blends"] == []
    assert "are needed to tell blends apart" in cal.report["reason"] or "Nobody had bought" in cal.report["reason"]


def test_a_blend_keeps_the_profit_weight_and_moves_the_others():
    base = RecommendConfig(weight_affinity=0.2, weight_popularity=0.2, weight_profit=0.5, weight_scenario_fit=0.1)
    led = next(b for b in BLENDS if b.code == "affinity_led").config(base)
    assert led.weight_profit == 0.5
    assert (led.weight_affinity, led.weight_popularity, led.weight_scenario_fit) == (0.375, 0.0625, 0.0625)
    assert next(b for b in BLENDS if b.code == "configured").changes(base) == {}


def test_the_sample_is_capped_and_drawn_with_the_seed():
    tx = _shop("refill")
    small = calibrate(_engine(tx, RecommendConfig(calibration_customers=300)), budget_seconds=60).report
    again = calibrate(_engine(tx, RecommendConfig(calibration_customers=300)), budget_seconds=60).report
    other = calibrate(_engine(tx, RecommendConfig(calibration_customers=300, seed=7)), budget_seconds=60).report
    assert small["customers"]["sampled"] == 300 < small["customers"]["bought_in_window"]
    assert small["blends"] == again["blends"]
    assert small["blends"] != other["blends"]
    assert np.isfinite(small["blends"][0]["hit_rate"]["all"])


def test_for_a_bank_a_hit_is_a_product_opened_in_the_window():
    """300 customers with a current account; 120 open a card and 30 a loan in the 90 days before the as-of date."""
    from tests.recommend.worlds import days_before, make_tx

    tx = make_tx([(f"K{k:03d}", f"f{k}-{m}", days_before(15 + 30 * m), "CURRENT", 2.0, "Accounts")
                  for k in range(300) for m in range(12)])
    held = [(f"K{k:03d}", "CURRENT", "2021-01-01") for k in range(300)]
    held += [(f"K{k:03d}", "SAVINGS", "2022-06-01") for k in range(0, 300, 2)]
    held += [(f"K{k:03d}", "CARD", str(days_before(20 + k % 60))) for k in range(120)]
    held += [(f"K{k:03d}", "LOAN", str(days_before(10))) for k in range(270, 300)]
    holdings = pd.DataFrame(held, columns=["customer_id", "product_id", "opened_at"])
    holdings["opened_at"] = pd.to_datetime(holdings["opened_at"])
    holdings["closed_at"] = pd.NaT
    products = pd.DataFrame({"product_id": ["CURRENT", "SAVINGS", "CARD", "LOAN"], "name": ["Current", "Savings",
                             "Card", "Loan"], "family": ["Accounts", "Savings", "Cards", "Loans"],
                             "price": 0.0, "margin_rate": [0.1, 0.2, 0.3, 0.4], "active": True,
                             "is_merchandise": True, "in_catalog": True})
    engine = prepare(tx, None, products, holdings, as_of=AS_OF, config=RecommendConfig(calibration_min_customers=50))
    report = calibrate(engine, budget_seconds=60).report
    assert report["customers"] == {"bought_in_window": 150, "sampled": 150, "new_track": 150}
    assert report["tried"] == len(BLENDS) and report["baselines"]["new"]["popularity"] is not None
