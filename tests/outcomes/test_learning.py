"""Learning: proposals only where the evidence leaves zero, with the evidence quoted; what converts best."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from crm_core.outcomes.evidence import learning_evidence
from crm_core.outcomes.learning import (COMPONENT_COLUMNS, LearningEvidence, conversion_leaders,
                                        propose, threshold_proposals, weight_proposal)
from crm_core.outcomes.uplift import uplift_from_counts
from crm_core.recommend.settings import RecommendConfig
from tests.outcomes.builders import EXPORT_DAY, build_world

DEFAULTS = RecommendConfig()


def _components(**rows) -> pd.DataFrame:
    """component -> (converted n, mean, var, other n, mean, var)."""
    return pd.DataFrame([[name, *values] for name, values in rows.items()], columns=COMPONENT_COLUMNS)


def _counts(rows: list[tuple]) -> pd.DataFrame:
    """(value, group, customers, conversions) -> group_counts rows without revenue."""
    frame = pd.DataFrame(rows, columns=["value", "group", "customers", "conversions"])
    return frame.assign(revenue_sum=0.0, revenue_sumsq=0.0, matched=frame["conversions"])


def test_a_component_clearly_higher_among_converted_offers_gains_weight_and_the_total_is_kept():
    components = _components(affinity=(200, 0.7, 0.01, 800, 0.4, 0.01),  # clearly higher: +0.05
                             popularity=(200, 0.5, 0.04, 800, 0.5, 0.04),  # no difference
                             profit=(1, 0.9, np.nan, 800, 0.5, 0.04))  # one offer: cannot tell
    proposal = weight_proposal(components, DEFAULTS, base_version=None)
    after = {c.key: c.after for c in proposal.changes}
    expected = {"weight_affinity": 0.45, "weight_popularity": 0.3, "weight_profit": 0.2, "weight_scenario_fit": 0.1}
    expected = {k: round(v / 1.05, 3) for k, v in expected.items()}
    assert after == expected and sum(after.values()) == pytest.approx(1.0, abs=1e-9)
    assert {c.key: c.before for c in proposal.changes} == {k: getattr(DEFAULTS, k) for k in after}
    evidence = " ".join(proposal.evidence)
    assert "Affinity: converted offers 0.70 on average, the others 0.40 (200 and 800 offers" in evidence
    assert "weigh it more" in evidence and "Popularity" in evidence and "spans zero): no change" in evidence
    assert "Profit" in evidence and "too few offers to tell" in evidence
    assert proposal.base_version is None and proposal.title.startswith("Adjust the scoring weights")


def test_a_component_clearly_lower_loses_weight_but_never_below_zero():
    current = RecommendConfig(weight_affinity=0.5, weight_popularity=0.3, weight_profit=0.02, weight_scenario_fit=0.18)
    proposal = weight_proposal(_components(profit=(300, 0.2, 0.01, 900, 0.6, 0.01)), current, base_version=3)
    after = {c.key: c.after for c in proposal.changes}
    assert after["weight_profit"] == 0.0 and proposal.base_version == 3
    assert sum({**current.weights, **{k.removeprefix("weight_"): v for k, v in after.items()}}.values()) == \
        pytest.approx(1.0)


def test_no_weight_proposal_when_every_interval_spans_zero():
    components = _components(affinity=(20, 0.52, 0.05, 30, 0.5, 0.05), popularity=(20, 0.4, 0.05, 30, 0.41, 0.05))
    assert weight_proposal(components, DEFAULTS, base_version=None) is None


def _scenarios() -> pd.DataFrame:
    return _counts([("WINBACK", "treatment", 70, 56), ("WINBACK", "holdout", 80, 48),  # real uplift
                    ("UPSELL", "treatment", 80, 10), ("UPSELL", "holdout", 80, 40),  # real drop
                    ("REBUY", "treatment", 10, 3), ("REBUY", "holdout", 10, 2),  # too few to tell
                    ("CROSS_SELL", "treatment", 70, 56), ("CROSS_SELL", "holdout", 80, 48)])  # no threshold


def test_a_real_uplift_widens_a_scenario_and_a_real_drop_narrows_one():
    result = uplift_from_counts(_scenarios(), by="scenario", with_revenue=False)
    proposals = {p.code: p for p in threshold_proposals(result, DEFAULTS, base_version=None, campaigns=2)}
    assert set(proposals) == {"threshold:WINBACK", "threshold:UPSELL"}
    winback = proposals["threshold:WINBACK"].changes[0]
    upsell = proposals["threshold:UPSELL"].changes[0]
    assert (winback.key, winback.before, winback.after) == ("winback_inactive_days", 180, 150)
    assert (upsell.key, upsell.before, upsell.after) == ("upsell_value_quantile", 0.8, 0.85)
    assert proposals["threshold:WINBACK"].title.startswith("Give WINBACK to more customers")
    assert ("WINBACK: treated customers converted at 80.0% against 60.0% in the holdout (70 and 80 customers, "
            "2 campaigns). Converts 20.0 points more") in proposals["threshold:WINBACK"].evidence[0]


def test_a_threshold_at_its_bound_is_not_proposed_again():
    result = uplift_from_counts(_scenarios(), by="scenario", with_revenue=False)
    at_bound = RecommendConfig(winback_inactive_days=30, upsell_value_quantile=0.95)
    assert threshold_proposals(result, at_bound, base_version=None) == []


def test_propose_lists_the_weights_first_and_leaders_sort_by_conversion():
    by_scenario = uplift_from_counts(_scenarios(), by="scenario", with_revenue=False)
    empty = uplift_from_counts(_counts([]), by="segment", with_revenue=False)
    evidence = LearningEvidence(campaigns=(1, 2), settings_version=None, by_scenario=by_scenario, by_segment=empty,
                                by_family=empty, components=_components(affinity=(200, 0.7, 0.01, 800, 0.4, 0.01)))
    assert [p.code for p in propose(evidence, DEFAULTS, None)] == ["weights", "threshold:UPSELL", "threshold:WINBACK"]
    leaders = conversion_leaders(evidence)
    assert leaders["dimension"].unique().tolist() == ["scenario"]
    assert leaders["value"].tolist()[:2] in (["WINBACK", "CROSS_SELL"], ["CROSS_SELL", "WINBACK"])
    assert leaders["value"].tolist()[-1] == "UPSELL"


def test_evidence_from_the_store_leads_to_the_same_proposals(db):
    """A WINBACK campaign that clearly worked and offers whose affinity told converters apart."""
    world = build_world(db)
    day = EXPORT_DAY + dt.timedelta(days=4)
    for i in range(70):
        converts = i < 56
        world.customer(f"T{i:03d}", "treatment", scenario="WINBACK",
                       components={"affinity": 0.8 if converts else 0.3, "popularity": 0.5, "profit": 0.5,
                                   "scenario_fit": 1.0})
        if converts:
            world.sale(f"T{i:03d}", "P1", day, 12.0)
    for i in range(80):
        world.customer(f"H{i:03d}", "holdout", scenario="WINBACK")
        if i < 48:
            world.sale(f"H{i:03d}", "P1", day, 12.0)
    evidence = learning_evidence(db, world.workspace_id)
    assert evidence.campaigns == (world.campaign_id,)
    assert [(g.by, g.n, g.conversions) for g in evidence.by_scenario.groups] == [("WINBACK", 70, 56)]
    affinity = evidence.components.set_index("component").loc["affinity"]
    assert affinity["converted_n"] == 56 and affinity["other_n"] == 14
    assert (affinity["converted_mean"], affinity["other_mean"]) == (pytest.approx(0.8), pytest.approx(0.3))
    codes = [p.code for p in propose(evidence, DEFAULTS, None)]
    assert codes == ["weights", "threshold:WINBACK"]
    assert learning_evidence(db, world.workspace_id, settings_version=1).campaigns == ()  # runs used the defaults
