"""Audit score and policies: weights, thresholds, ERROR always blocks, custom policy validation."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_core.errors import ConfigError
from crm_core.gate import (BUILTIN_POLICIES, PERMISSIVE, STANDARD, STRICT, GateConfig, Policy, builtin_policy,
                           evaluate_rules, policy_from_dict)
from tests.gate.builders import gate_world

CLEAN = {"scenario": "CROSS_SELL", "score": 0.5, "email_opt_in": True, "do_not_contact": False,
         "consent_known": True, "last_contacted_at": pd.NaT, "days_since_contact": float("nan"), "held": False,
         "days_since_bought": float("nan"), "repurchase_days": 30.0, "product_active": True, "price": 20.0,
         "price_source": "catalog", "basket": 30.0, "purchases": 3, "days_since_first": 300.0,
         "days_since_last_line": 20.0, "margin_rate": 0.5, "days_since_exported": float("nan"), "has_pitch": True,
         "pitch_failures": ""}
# One change per warning, so that offers can carry 0..5 of them.
WARNINGS = [{"score": 0.01}, {"price": 200.0}, {"margin_rate": 0.01}, {"days_since_exported": 3.0},
            {"consent_known": False, "email_opt_in": None, "do_not_contact": None}]


def facts_rows(*changes) -> pd.DataFrame:
    """A facts frame (offer_facts' dtypes) with one offer per dict of changes to the clean facts."""
    from crm_core.gate import FACT_COLUMNS
    return pd.DataFrame([{**CLEAN, **c} for c in changes]).astype(FACT_COLUMNS)


def warned(k: int, pitch: bool = True) -> dict:
    out = {"has_pitch": pitch}
    for w in WARNINGS[:k]:
        out.update(w)
    return out


def verdict(changes: dict, policy: Policy, config: GateConfig | None = None) -> tuple[int, str]:
    v = evaluate_rules(facts_rows(changes), config or GateConfig(), policy)
    return int(v["audit_score"].iloc[0]), v["gate"].iloc[0]


@pytest.mark.parametrize("changes, score", [
    (warned(0), 100), (warned(0, pitch=False), 98), (warned(1), 85), (warned(1, pitch=False), 83),
    (warned(2), 70), (warned(2, pitch=False), 68), (warned(5, pitch=False), 23), ({"held": True}, 0),
])
def test_the_audit_score_takes_the_weights_of_the_flags_off_100(changes, score):
    assert verdict(changes, STANDARD)[0] == score


def test_no_pitch_alone_and_one_warning_keep_an_offer_at_80_or_more_two_warnings_do_not():
    assert verdict(warned(0, pitch=False), STANDARD)[0] >= 80
    assert verdict(warned(1, pitch=False), STANDARD)[0] >= 80
    assert verdict(warned(2, pitch=False), STANDARD)[0] < 80


@pytest.mark.parametrize("changes", [{"held": True}, {"email_opt_in": False}, {"do_not_contact": True},
                                     {"product_active": False}, {"price": float("nan")}, {"days_since_contact": 2.0},
                                     {"days_since_bought": 1.0}])
@pytest.mark.parametrize("policy", [*BUILTIN_POLICIES.values(),
                                    Policy("lenient", 3, review_below=0, block_below=0, review_on=())])
def test_any_error_blocks_under_every_policy(changes, policy):
    assert verdict(changes, policy) == (0, "BLOCK")


def test_an_error_blocks_even_when_its_weight_is_set_to_zero():
    config = GateConfig.from_dict({"weights": {"ALREADY_HELD": 0, "NO_PITCH": 0}})
    assert verdict({"held": True}, PERMISSIVE, config) == (100, "BLOCK")


@pytest.mark.parametrize("k, standard, strict, permissive", [
    (0, "PASS", "PASS", "PASS"),          # 98 (no pitch)
    (1, "PASS", "REVIEW", "PASS"),        # 83: strict reviews any warning
    (2, "REVIEW", "REVIEW", "PASS"),      # 68
    (3, "REVIEW", "BLOCK", "REVIEW"),     # 53: strict blocks below 60
    (5, "BLOCK", "BLOCK", "REVIEW"),      # 23: standard blocks below 30, permissive never on the score alone
])
def test_built_in_policy_thresholds(k, standard, strict, permissive):
    changes = warned(k, pitch=False)
    assert [verdict(changes, p)[1] for p in (STANDARD, STRICT, PERMISSIVE)] == [standard, strict, permissive]


def test_a_custom_policy_can_review_on_a_code_or_a_severity():
    on_code = Policy("export-care", 1, review_below=50, block_below=10, review_on=("RECENTLY_EXPORTED",))
    assert verdict({"days_since_exported": 3.0}, on_code)[1] == "REVIEW"
    assert verdict({"score": 0.01}, on_code)[1] == "PASS"
    on_info = Policy("pitch-first", 1, review_below=50, block_below=10, review_on=("INFO",))
    assert verdict({"has_pitch": False}, on_info)[1] == "REVIEW"


def test_a_custom_policy_can_escalate_a_warning_to_a_blocking_error():
    policy = policy_from_dict({"name": "no-low-margin", "review_below": 80, "block_below": 30,
                               "escalate": ["low_margin"]})
    v = evaluate_rules(facts_rows({"margin_rate": 0.01}), GateConfig(), policy)
    assert (v["gate"].iloc[0], v["worst_severity"].iloc[0]) == ("BLOCK", "ERROR")
    assert v["flag_details"].iloc[0][0]["severity"] == "ERROR"


def test_every_gated_offer_carries_the_policy_name_and_version():
    policy = Policy("careful", 4, review_below=85, block_below=20)
    _, g = gate_world(policy=policy)
    assert (g["policy_name"].iloc[0], g["policy_version"].iloc[0]) == ("careful", 4)
    _, g = gate_world()
    assert (g["policy_name"].iloc[0], g["policy_version"].iloc[0]) == ("standard", 1)


def test_built_in_policies_round_trip_through_their_dicts():
    for policy in BUILTIN_POLICIES.values():
        assert policy_from_dict(policy.to_dict(), allow_builtin_name=True) == policy
    assert builtin_policy(" Strict ") is STRICT


def test_an_unknown_built_in_policy_name_is_refused_with_the_known_ones():
    with pytest.raises(ConfigError, match="permissive"):
        builtin_policy("lax")


GOOD = {"name": "careful", "review_below": 85, "block_below": 40}


@pytest.mark.parametrize("bad, words", [
    ({**GOOD, "allow_errors": True}, r"Unknown \[gate.policies.careful\] setting\(s\) \['allow_errors'\]"),
    ({**GOOD, "review_below": 120}, "review_below must be an audit score from 0 to 100"),
    ({**GOOD, "review_below": True}, "review_below"),
    ({"name": "careful", "block_below": 10}, "review_below is missing"),
    ({**GOOD, "block_below": 90}, r"block_below \(90\) must not be above review_below \(85\)"),
    ({**GOOD, "review_on": ["LOW_SCORE", "SHINY"]}, r"review_on has unknown flag code\(s\) \['SHINY'\]"),
    ({**GOOD, "review_on": "LOW_SCORE"}, "review_on must be a list of flag codes"),
    ({**GOOD, "escalate": ["WARN"]}, r"escalate has unknown flag code\(s\) \['WARN'\]"),
    ({**GOOD, "version": 0}, "version must be a whole number >= 1"),
    ({**GOOD, "name": "Careful Policy"}, "name must be lower-case"),
    ({**GOOD, "name": "standard"}, "'standard' is a built-in policy"),
    ({**GOOD, "description": 3}, "description must be text"),
])
def test_custom_policy_validation_names_the_bad_key(bad, words):
    with pytest.raises(ConfigError, match=words):
        policy_from_dict(bad)


def test_a_valid_custom_policy_is_normalised_and_serialisable():
    p = policy_from_dict({**GOOD, "version": 2, "review_on": ["warn", "LOW_SCORE", "LOW_SCORE"],
                          "escalate": ["consent_unknown"]})
    assert (p.review_on, p.escalate, p.version) == (("LOW_SCORE", "WARN"), ("CONSENT_UNKNOWN",), 2)
    assert p.to_dict() == {"name": "careful", "version": 2, "description": "", "review_below": 85, "block_below": 40,
                           "review_on": ["LOW_SCORE", "WARN"], "escalate": ["CONSENT_UNKNOWN"]}


def test_a_policy_table_keyed_by_name_takes_its_name_from_the_key():
    assert policy_from_dict({"review_below": 70, "block_below": 0}, name="quiet").name == "quiet"
    with pytest.raises(ConfigError, match="differs"):
        policy_from_dict({**GOOD}, name="other")
