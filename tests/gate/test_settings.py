"""GateConfig: defaults from the issue, from_dict merging and validation that names the key."""

from __future__ import annotations

import pytest

from crm_core.errors import ConfigError
from crm_core.gate import STANDARD, GateConfig


def test_defaults():
    c = GateConfig()
    assert (c.silence_window_days, c.recent_export_days, c.basket_price_ratio, c.low_score, c.thin_data_days,
            c.stale_data_days, c.margin_floor, c.default_repurchase_days) == (14, 30, 3.0, 0.15, 365, 365, 0.10, 30)
    assert c.weights == {"ERROR": 100, "WARN": 15, "INFO": 2}
    assert c.policy() == STANDARD


def test_weights_override_per_severity_or_per_code_and_keep_the_other_defaults():
    c = GateConfig.from_dict({"weights": {"warn": 10, "LOW_SCORE": 5}})
    assert c.weights == {"ERROR": 100, "WARN": 10, "INFO": 2, "LOW_SCORE": 5}
    assert (c.weight("LOW_SCORE", "WARN"), c.weight("THIN_DATA", "WARN"), c.weight("NO_PITCH", "INFO")) == (5, 10, 2)


def test_quality_levels_override_one_threshold_and_keep_the_rest():
    c = GateConfig.from_dict({"quality_levels": {"GOOD": {"min_coverage": 0.7}}})
    assert c.quality_levels["GOOD"] == {"min_coverage": 0.7, "min_high_score_share": 0.6, "max_error_rate": 0.05}
    assert c.quality_levels["EXCELLENT"]["min_coverage"] == 0.8


def test_custom_policies_in_config_are_checked_and_found_by_name():
    c = GateConfig.from_dict({"default_policy": "careful",
                              "policies": {"careful": {"review_below": 90, "block_below": 50, "version": 3}}})
    p = c.policy()
    assert (p.name, p.version, p.review_below) == ("careful", 3, 90)
    assert c.policy("strict").name == "strict"


@pytest.mark.parametrize("bad, words", [
    ({"silence_window": 14}, r"Unknown \[gate\] setting\(s\) \['silence_window'\]"),
    ({"silence_window_days": -1}, "silence_window_days must be a whole number >= 0"),
    ({"silence_window_days": 2.5}, "silence_window_days"),
    ({"price_window_days": 0}, "price_window_days must be a whole number >= 1"),
    ({"basket_price_ratio": 0}, "basket_price_ratio must be a number above 0"),
    ({"low_score": 1.5}, "low_score must be between 0 and 1"),
    ({"margin_floor": "ten"}, "margin_floor"),
    ({"high_audit_score": 101}, "high_audit_score must be a whole number from 0 to 100"),
    ({"weights": {"SHINY": 3}}, r"weights: unknown key 'SHINY'"),
    ({"weights": {"WARN": -1}}, r"weights.WARN must be a number of points from 0 to 100"),
    ({"quality_levels": {"SUPERB": {}}}, r"unknown level\(s\) \['SUPERB'\]"),
    ({"quality_levels": {"GOOD": {"min_coverage": 2}}}, "quality_levels.GOOD.min_coverage must be a share"),
    ({"quality_levels": {"GOOD": {"coverage": 0.5}}},
     r"quality_levels.GOOD: unknown or missing key\(s\) \['coverage'\]"),
    ({"quality_levels": {"GOOD": {"min_coverage": 0.9}}}, "EXCELLENT must be at least as demanding as GOOD"),
    ({"default_policy": "lax"}, "default_policy 'lax' is neither a built-in policy"),
    ({"policies": {"careful": {"review_below": 90, "block_below": 95}}}, r"\[gate.policies.careful\] block_below"),
    ({"policies": {"strict": {"review_below": 90, "block_below": 50}}}, "'strict' is a built-in policy"),
])
def test_from_dict_rejects_bad_values_naming_them(bad, words):
    with pytest.raises(ConfigError, match=words):
        GateConfig.from_dict(bad)


def test_an_unknown_policy_name_is_refused_with_the_known_ones():
    with pytest.raises(ConfigError, match="permissive"):
        GateConfig().policy("lax")
