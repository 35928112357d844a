"""compare_groups on a worked example computed by hand, the verdicts, the JSON shape and the input errors."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crm_core.errors import NextBestError
from crm_core.stats import (NothingToCompare, UnknownColumn, UnknownControl, UnreadableValue, compare_groups,
                            conversion_flags, verdict)


def _arm(name, n, conversions, revenue_each, region="N"):
    """n customers of one group: the first `conversions` convert and spend `revenue_each`, the rest nothing."""
    return pd.DataFrame({"arm": name, "converted": [1] * conversions + [0] * (n - conversions),
                         "revenue": [revenue_each] * conversions + [None] * (n - conversions), "region": region})


@pytest.fixture
def experiment():
    # control 20/200 spend 50; A 40/200 spend 30; B 0/50; C 4/30 spend 10
    return pd.concat([_arm("control", 200, 20, 50.0), _arm("A", 200, 40, 30.0), _arm("B", 50, 0, None),
                      _arm("C", 30, 4, 10.0)], ignore_index=True)


def _revenue_ci(frame, arm):
    a = frame.loc[frame.arm == arm, "revenue"].astype(float).fillna(0.0)
    b = frame.loc[frame.arm == "control", "revenue"].astype(float).fillna(0.0)
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    return ci.low, ci.high


def test_the_worked_example(experiment):
    result = compare_groups(experiment, group="arm", control="control", converted="converted", revenue="revenue")
    assert (result.control.n, result.control.conversions, result.control.rate) == (200, 20, 0.1)
    assert result.control.revenue_per_customer == pytest.approx(5.0)  # 20 · 50 / 200: blanks count as 0
    a, b, c = result.groups
    assert [g.group for g in result.groups] == ["A", "B", "C"]

    # A: 40/200 = 0.20 vs 0.10. Wilson 40/200 = (0.150452, 0.260855), 20/200 = (0.065670, 0.149406)
    # low  = 0.1 - sqrt((0.20 - 0.150452)² + (0.149406 - 0.10)²) = 0.1 - 0.069971 = 0.030029
    # high = 0.1 + sqrt((0.260855 - 0.20)² + (0.10 - 0.065670)²) = 0.1 + 0.069870 = 0.169870
    assert (a.n, a.conversions, a.rate, a.diff, a.relative) == (200, 40, 0.2, pytest.approx(0.1), pytest.approx(1.0))
    assert a.diff_ci == pytest.approx((0.030029, 0.169870), abs=2e-6)
    assert (a.revenue_per_customer, a.revenue_diff) == (pytest.approx(6.0), pytest.approx(1.0))
    assert a.revenue_diff_ci == pytest.approx(_revenue_ci(experiment, "A"), rel=1e-10)
    assert a.needed_per_group == 199  # (1.959964·sqrt(2·.15·.85) + 0.841621·sqrt(.16 + .09))² / .01 = 198.96
    assert a.verdict == "Converts 10.0 points more than control (95 % interval +3.0 to +17.0 points): a real uplift."

    # B: no conversions at all. Wilson 0/50 = (0, 0.071348)
    # low  = -0.1 - sqrt(0² + (0.149406 - 0.1)²) = -0.149406
    # high = -0.1 + sqrt(0.071348² + (0.1 - 0.065670)²) = -0.1 + 0.079177 = -0.020823
    assert (b.n, b.conversions, b.rate, b.relative) == (50, 0, 0.0, pytest.approx(-1.0))
    assert b.diff_ci == pytest.approx((-0.149406, -0.020823), abs=2e-6)
    assert (b.revenue_per_customer, b.revenue_diff) == (0.0, pytest.approx(-5.0))
    assert b.revenue_diff_ci == pytest.approx(_revenue_ci(experiment, "B"), rel=1e-10)
    assert b.verdict == ("Converts 10.0 points less than control (95 % interval \u221214.9 to \u22122.1 points): "
                         "a real drop.")

    # C: 4/30 = 0.1333 vs 0.10, too few. Wilson 4/30 = (0.053097, 0.296813)
    # low  = 0.033333 - sqrt((0.133333 - 0.053097)² + 0.049406²) = -0.060894
    # high = 0.033333 + sqrt((0.296813 - 0.133333)² + 0.034330²) = 0.200379
    assert c.diff_ci == pytest.approx((-0.060894, 0.200379), abs=2e-6)
    assert c.relative == pytest.approx(1 / 3)
    assert c.needed_per_group == 1455
    assert c.verdict == ("Too few customers to tell: the 95 % interval (\u22126.1 to +20.0 points) spans zero. "
                         "About 1,500 customers per group would be needed to detect a difference this size.")


def test_without_revenue_the_revenue_figures_are_none(experiment):
    result = compare_groups(experiment, group="arm", control="control", converted="converted")
    assert result.control.revenue_per_customer is None
    assert all(g.revenue_per_customer is None and g.revenue_diff is None and g.revenue_diff_ci is None
               for g in result.groups)
    data = result.to_json_dict()
    assert data["groups"][0]["revenue_diff_ci"] is None and "controls" not in data and "by" not in data["groups"][0]


def test_by_compares_each_group_with_the_control_of_the_same_value():
    frame = pd.concat([_arm("control", 100, 10, 5.0, "N"), _arm("A", 100, 30, 5.0, "N"),
                       _arm("control", 100, 40, 5.0, "S"), _arm("A", 100, 30, 5.0, "S"),
                       _arm("A", 10, 1, 5.0, "W")], ignore_index=True)
    result = compare_groups(frame, group="arm", control="control", converted="converted", by="region")
    assert [(g.by, g.group) for g in result.groups] == [("N", "A"), ("S", "A"), ("W", "A")]
    north, south, west = result.groups
    assert north.diff == pytest.approx(0.2) and north.verdict.endswith("a real uplift.")
    assert south.diff == pytest.approx(-0.1) and not south.verdict.endswith("a real uplift.")
    assert result.control.n == 200 and result.control.rate == pytest.approx(0.25)  # overall control
    assert [(c.by, c.n, c.conversions) for c in result.controls] == [("N", 100, 10), ("S", 100, 40), ("W", 0, 0)]
    assert math.isnan(west.diff) and west.relative is None
    assert west.verdict == "Cannot tell: one of the two groups has no customers."
    data = result.to_json_dict()
    assert data["groups"][2] | {"verdict": None} == {
        "by": "W", "group": "A", "n": 10, "conversions": 1, "rate": 0.1, "diff": None, "diff_ci": [None, None],
        "relative": None, "revenue_per_customer": None, "revenue_diff": None, "revenue_diff_ci": None,
        "needed_per_group": None, "verdict": None}
    assert data["controls"][2] == {"by": "W", "group": "control", "n": 0, "conversions": 0, "rate": None,
                                   "revenue_per_customer": None}


def test_json_rounds_to_six_decimals_and_uses_plain_python_types(experiment):
    data = compare_groups(experiment, group="arm", control="control", converted="converted",
                          revenue="revenue").to_json_dict()
    c = data["groups"][2]
    assert c["rate"] == 0.133333 and c["relative"] == 0.333333 and c["diff_ci"] == [-0.060894, 0.200379]
    assert type(c["n"]) is int and type(c["needed_per_group"]) is int
    assert data["control"] == {"group": "control", "n": 200, "conversions": 20, "rate": 0.1,
                               "revenue_per_customer": 5.0}


def test_text_group_values_are_trimmed_and_flags_read_in_any_case():
    frame = pd.DataFrame({"arm": [" control", "control ", "offer", "offer"],
                          "converted": ["Yes", "n", "TRUE", " 0 "]})
    result = compare_groups(frame, group="arm", control="control", converted="converted")
    assert (result.control.n, result.control.conversions) == (2, 1)
    assert (result.groups[0].group, result.groups[0].conversions) == ("offer", 1)


@pytest.mark.parametrize(("values", "expected"), [
    (["1", "0", "1.0", "0.0"], [True, False, True, False]),
    (["true", "False", "YES", "no", "y", "N"], [True, False, True, False, True, False]),
    ([1, 0, 1], [True, False, True]),
    ([True, False], [True, False]),
])
def test_conversion_flags_accept_the_usual_spellings(values, expected):
    assert conversion_flags(pd.Series(values)).tolist() == expected


def test_an_unreadable_flag_names_its_line_and_value():
    values = pd.Series(["yes", "maybe", "no", "2"], index=pd.Index([2, 3, 4, 5], name="line"))
    with pytest.raises(UnreadableValue, match=r"line 3: column 'converted' value 'maybe' is not a yes/no value "
                                              r"\(1 more row like this\); write 1/0, true/false, yes/no or y/n"):
        conversion_flags(values, "converted")


def test_a_blank_flag_is_an_error_not_a_no():
    with pytest.raises(UnreadableValue, match="row 1: .* is empty"):
        conversion_flags(pd.Series(["1", ""]), "converted")


def test_an_unknown_column_lists_the_columns(experiment):
    with pytest.raises(UnknownColumn, match=r"'Arm' is not in the table; its columns are: arm, converted, "
                                            r"revenue, region\. Did you mean 'arm'\?"):
        compare_groups(experiment, group="Arm", control="control", converted="converted")


def test_an_unknown_control_lists_the_values_found(experiment):
    with pytest.raises(UnknownControl, match=r"'Control' does not occur in column 'arm'; the values found are: "
                                             r"'A', 'B', 'C', 'control'\. Did you mean 'control'\?"):
        compare_groups(experiment, group="arm", control="Control", converted="converted")


def test_only_a_control_group_is_nothing_to_compare():
    with pytest.raises(NothingToCompare, match="only the control value"):
        compare_groups(_arm("control", 10, 1, 1.0), group="arm", control="control", converted="converted")


def test_a_blank_group_or_a_non_numeric_revenue_names_the_row():
    frame = pd.DataFrame({"arm": ["control", "", "A"], "converted": [1, 0, 1], "revenue": [1.0, 2.0, "abc"]})
    with pytest.raises(UnreadableValue, match="row 1: column 'arm' value '' is empty"):
        compare_groups(frame, group="arm", control="control", converted="converted")
    frame.loc[1, "arm"] = "A"
    with pytest.raises(UnreadableValue, match="row 2: column 'revenue' value 'abc' is not a number"):
        compare_groups(frame, group="arm", control="control", converted="converted", revenue="revenue")


def test_every_input_error_is_a_nextbest_error():
    assert all(issubclass(e, NextBestError) for e in (UnknownColumn, UnknownControl, NothingToCompare,
                                                      UnreadableValue))


@pytest.mark.parametrize(("diff", "ci", "needed", "expected"), [
    (0.021, (0.004, 0.038), 4321, "Converts 2.1 points more than control (95 % interval +0.4 to +3.8 points): "
                                  "a real uplift."),
    (-0.015, (-0.029, -0.001), 9000, "Converts 1.5 points less than control (95 % interval \u22122.9 to \u22120.1 "
                                     "points): a real drop."),
    (0.009, (-0.012, 0.030), 4312, "Too few customers to tell: the 95 % interval (\u22121.2 to +3.0 points) spans "
                                   "zero. About 4,400 customers per group would be needed to detect a difference "
                                   "this size."),
    (0.0, (-0.2775, 0.2775), None, "Too few customers to tell: the 95 % interval (\u221227.8 to +27.8 points) "
                                   "spans zero. The two rates are equal, so no number of customers would show a "
                                   "difference."),
])
def test_verdicts_in_plain_english(diff, ci, needed, expected):
    assert verdict(diff, ci, needed_per_group=needed) == expected


def test_the_needed_number_is_never_rounded_down():
    assert "About 74 customers" in verdict(-0.1, (-0.2, 0.05), needed_per_group=74)
    assert "About 1,000 customers" in verdict(-0.1, (-0.2, 0.05), needed_per_group=1000)
    assert "About 1,100 customers" in verdict(-0.1, (-0.2, 0.05), needed_per_group=1001)


def test_large_frames_are_aggregated_without_a_loop_over_customers():
    rng = np.random.default_rng(7)
    n = 400_000
    frame = pd.DataFrame({"arm": rng.choice(["control", "A", "B"], n), "converted": rng.random(n) < 0.05,
                          "revenue": rng.gamma(0.3, 50.0, n)})
    result = compare_groups(frame, group="arm", control="control", converted="converted", revenue="revenue")
    assert sum(g.n for g in result.groups) + result.control.n == n
