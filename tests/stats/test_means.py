"""Welch's t interval: a hand example, scipy's ttest_ind on random data, and the degenerate cases."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from crm_core.stats import welch_interval, welch_interval_from_summary


def test_welch_by_hand():
    # a = 1..4: mean 2.5, s² = 5/3;  b = 2, 4, .., 10: mean 6, s² = 10
    # se² = (5/3)/4 + 10/5 = 29/12 (se = 1.55456);  df = (29/12)² / ((5/12)²/3 + 2²/4) = 2523/457 = 5.5208
    # t_{.975} at 5.52 df = 2.4994 (between the table's 2.571 at 5 df and 2.447 at 6), half-width 3.8854
    low, high = welch_interval([1, 2, 3, 4], [2, 4, 6, 8, 10])
    half = stats.t.ppf(0.975, 2523 / 457) * math.sqrt(29 / 12)
    assert half == pytest.approx(3.8854, abs=1e-4)
    assert (low, high) == pytest.approx((-3.5 - half, -3.5 + half), abs=1e-12)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_welch_matches_scipy_ttest_ind_unequal_variances(seed):
    rng = np.random.default_rng(seed)
    a = rng.gamma(0.5, 40.0, size=37)          # skewed like revenue
    b = rng.normal(15.0, 3.0, size=120)
    expected = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert welch_interval(a, b) == pytest.approx((expected.low, expected.high), rel=1e-10)
    expected90 = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.90)
    assert welch_interval(a, b, confidence=0.90) == pytest.approx((expected90.low, expected90.high), rel=1e-10)


def test_summary_form_gives_the_same_interval_as_the_values():
    a, b = np.array([3.0, 0.0, 0.0, 7.5, 1.0]), np.array([0.0, 2.0, 2.0, 4.0])
    assert welch_interval_from_summary(a.mean(), a.var(ddof=1), 5, b.mean(), b.var(ddof=1), 4) == \
        pytest.approx(welch_interval(a, b))


def test_fewer_than_two_values_in_a_group_gives_nan():
    assert all(math.isnan(v) for v in welch_interval([5.0], [1.0, 2.0, 3.0]))
    assert all(math.isnan(v) for v in welch_interval([], [1.0, 2.0]))


def test_no_spread_in_either_group_gives_the_point_difference():
    assert welch_interval([4.0, 4.0, 4.0], [1.0, 1.0]) == (3.0, 3.0)
    assert welch_interval([0.0, 0.0], [0.0, 0.0, 0.0]) == (0.0, 0.0)


def test_no_spread_in_one_group_still_gives_an_interval():
    low, high = welch_interval([2.0, 2.0, 2.0], [1.0, 3.0, 5.0])
    assert low < -1.0 < high


def test_nan_values_are_ignored():
    assert welch_interval([1.0, np.nan, 3.0, 5.0], [2.0, 2.5, np.nan]) == \
        pytest.approx(welch_interval([1.0, 3.0, 5.0], [2.0, 2.5]))


values = st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=2, max_size=40)


@given(values, values)
def test_the_interval_contains_the_difference_of_means(a, b):
    low, high = welch_interval(a, b)
    d = float(np.mean(a)) - float(np.mean(b))
    tolerance = 1e-9 * (1 + abs(d))
    assert low - tolerance <= d <= high + tolerance
