"""One test per scenario rule and per candidate kind."""

import numpy as np
import pandas as pd

from crm_core.recommend.engine import prepare, recommend
from crm_core.recommend.scenarios import CROSS_SELL, NURTURE, REBUY, UPSELL, WINBACK, candidate_kinds, primary_scenarios
from crm_core.recommend.settings import RecommendConfig
from tests.recommend.worlds import AS_OF


def _primaries(tx, config=RecommendConfig()):
    eng = prepare(tx, None, None, None, as_of=AS_OF, config=config)
    s = primary_scenarios(eng.history, eng.offerable, config)
    return pd.Series(s["scenario"].to_numpy(), index=eng.lines.customers[s.index])


def test_each_customer_gets_the_primary_scenario_of_the_first_rule_that_applies(scenario_world):
    s = _primaries(scenario_world)
    assert s["NEW"] == NURTURE
    assert s["LAPSED"] == WINBACK
    assert s["REBUYER"] == REBUY
    assert s["BIG"] == UPSELL
    assert s["REGULAR"] == CROSS_SELL


def test_thresholds_come_from_config(scenario_world):
    # Nobody is inactive for 1000 days, so LAPSED is no longer WINBACK; its LAMP is due -> REBUY.
    s = _primaries(scenario_world, RecommendConfig(winback_inactive_days=1000))
    assert s["LAPSED"] == REBUY
    # A long new-customer window makes REGULAR (first purchase 60 days ago) a NURTURE.
    assert _primaries(scenario_world, RecommendConfig(new_customer_days=90))["REGULAR"] == NURTURE


def test_rebuy_needs_the_usual_interval_to_have_passed(scenario_world):
    # SOAP every 30 days, last 45 days ago: due at factor 1, not at factor 2.
    assert _primaries(scenario_world, RecommendConfig(due_factor=2.0))["REBUYER"] != REBUY


def _kinds(rows, primary, price=(10.0, 20.0, 30.0), family=(0, 0, 1), config=RecommendConfig()):
    """candidate_kinds on a hand-made history: customer 0 bought product 0 (family 0) at 10."""
    class H:
        pairs = pd.DataFrame({"c": [0], "p": [0], "n": [2], "first": [100], "last": [40], "held": [False]})
        usual_interval = np.array([30.0, np.nan, np.nan])
        repeat_rate = np.array([0.5, 0.0, 0.0])
    cand = pd.DataFrame(rows, columns=["c", "p", "hist", "n", "first", "last"])
    return candidate_kinds(cand, np.full(len(cand), primary), np.array(family), np.array(price), H, config)


def test_candidate_kinds_rebuy_upsell_cross_sell():
    kind, fit, keep = _kinds([(0, 0, True, 2, 100, 40), (0, 1, False, 0, 0, 0), (0, 2, False, 0, 0, 0)], REBUY)
    assert list(kind) == [REBUY, UPSELL, CROSS_SELL]  # 20 >= 1.2 x 10 in family 0; product 2 is another family
    assert list(fit[1:]) == [0.5, 0.5]  # not the REBUY customer's primary kind: fills at fill_fit
    assert keep.all()


def test_rebuy_fit_is_how_due_the_product_is():
    kind, fit, _ = _kinds([(0, 0, True, 2, 100, 40)], REBUY)
    assert np.isclose(fit[0], 40 / 60)
    kind, fit, _ = _kinds([(0, 0, True, 2, 100, 40)], CROSS_SELL)
    assert np.isclose(fit[0], 0.5 * 40 / 60)  # a fill from REBUY for a CROSS_SELL customer


def test_new_products_are_nurture_for_nurture_customers_and_past_products_winback_for_winback():
    kind, _, _ = _kinds([(0, 1, False, 0, 0, 0)], NURTURE)
    assert kind[0] == NURTURE
    kind, fit, keep = _kinds([(0, 0, True, 1, 400, 400)], WINBACK,)
    assert kind[0] == WINBACK and fit[0] == 1.0 and keep[0]


def test_non_replenishable_past_product_is_not_offered_again():
    config = RecommendConfig(replenish_min_repeat_rate=0.9)
    _, _, keep = _kinds([(0, 0, True, 1, 50, 50)], CROSS_SELL, config=config)
    assert not keep[0]


def test_fill_from_the_next_best_scenario_is_explained(scenario_world):
    offers = recommend(scenario_world, None, None, None, as_of=AS_OF, config=RecommendConfig())
    rebuyer = offers[offers["customer_id"] == "REBUYER"]
    assert rebuyer.iloc[0]["scenario"] == "REBUY"
    fills = rebuyer[rebuyer["scenario"] != "REBUY"]
    assert len(fills) == 2  # only one replenishable product: the rest is filled
    assert fills["explanation"].str.contains("filled from CROSS_SELL: fewer than 3 REBUY offers").all()
    assert all(p["filled"] and p["primary_scenario"] == "REBUY" for p in fills["explanation_params"])


def test_every_scenario_appears_on_the_world(scenario_world):
    offers = recommend(scenario_world, None, None, None, as_of=AS_OF, config=RecommendConfig())
    assert set(offers["scenario"]) == {"REBUY", "CROSS_SELL", "UPSELL", "WINBACK", "NURTURE"}
