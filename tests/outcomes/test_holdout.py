"""The holdout draw: reproducible from its seed, stratified by segment, exact in its counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_core.errors import ValidationError
from crm_core.outcomes.holdout import MAX_SEED, NO_SEGMENT, assign_holdout, default_seed, holdout_size, stratum_quotas


def _customers(sizes: dict, prefix: str = "C") -> pd.DataFrame:
    """Customers per segment (None: no segment), codes numbered across segments."""
    rows, k = [], 0
    for segment, n in sizes.items():
        for _ in range(n):
            rows.append({"customer_id": f"{prefix}{k:05d}", "segment": segment})
            k += 1
    return pd.DataFrame(rows, columns=["customer_id", "segment"]).astype({"customer_id": "string",
                                                                         "segment": "string"})


def _held(frame: pd.DataFrame) -> set:
    return set(frame.loc[frame["group"] == "holdout", "customer_id"])


def test_the_same_seed_gives_the_same_groups_and_another_seed_other_groups():
    people = _customers({"CHAMPIONS": 300, "LOST": 200, "NEW": 100})
    first, again = assign_holdout(people, 0.2, 42), assign_holdout(people.copy(), 0.2, 42)
    assert first.equals(again)
    assert _held(assign_holdout(people, 0.2, 43)) != _held(first)


def test_the_input_order_does_not_change_the_draw():
    people = _customers({"A": 50, "B": 30})
    shuffled = people.sample(frac=1.0, random_state=7).reset_index(drop=True)
    assert _held(assign_holdout(shuffled, 0.3, 11)) == _held(assign_holdout(people, 0.3, 11))
    assert assign_holdout(shuffled, 0.3, 11)["customer_id"].tolist() == sorted(people["customer_id"])


def test_one_stratum_follows_the_documented_draw_exactly():
    """Sorted codes permuted by default_rng(seed), first round(share × N) held out: stored seeds stay valid."""
    people = _customers({"LOYAL": 37}).sample(frac=1.0, random_state=1)
    codes = np.array(sorted(people["customer_id"]))
    expected = set(codes[np.random.default_rng(2024).permutation(len(codes))[:holdout_size(0.25, 37)]])
    assert _held(assign_holdout(people, 0.25, 2024)) == expected


def test_every_stratum_gets_its_proportional_part():
    out = assign_holdout(_customers({"CHAMPIONS": 100, "LOST": 50, "NEW": 30}), 0.2, 5)
    held = out[out["group"] == "holdout"].groupby("segment").size().to_dict()
    assert held == {"CHAMPIONS": 20, "LOST": 10, "NEW": 6}


def test_the_places_left_go_to_the_largest_remainders():
    # total = round(0.25 × 10) = 3 (halves up); exact parts A 1.5, B 0.9, C 0.6 -> floors 1, 0, 0;
    # the two places left go to B (remainder .9) and C (.6), not A (.5).
    sizes = pd.Series({"A": 5, "B": 3, "C": 2})
    assert holdout_size(0.25, 10) == 3
    assert stratum_quotas(sizes, 3).to_dict() == {"A": 1, "B": 1, "C": 1}
    out = assign_holdout(_customers({"A": 5, "B": 3, "C": 2}), 0.25, 9)
    assert out[out["group"] == "holdout"].groupby("segment").size().to_dict() == {"A": 1, "B": 1, "C": 1}


def test_equal_remainders_go_to_the_larger_stratum_then_by_name():
    assert stratum_quotas(pd.Series({"B": 2, "A": 2, "C": 4}), 1).to_dict() == {"B": 0, "A": 0, "C": 1}
    assert stratum_quotas(pd.Series({"B": 3, "A": 3}), 1).to_dict() == {"B": 0, "A": 1}


@pytest.mark.parametrize("seed", [0, 1, 99])
def test_counts_are_exact_for_any_sizes_and_shares(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        sizes = {f"S{i}": int(n) for i, n in enumerate(rng.integers(0, 40, size=rng.integers(1, 7)))}
        sizes[None] = int(rng.integers(0, 5))
        people = _customers(sizes)
        share = float(rng.choice([0.0, 0.05, 0.1, 0.15, 0.333, 0.5, 1.0]))
        out = assign_holdout(people, share, seed)
        total = int(np.floor(share * len(people) + 0.5))
        assert (out["group"] == "holdout").sum() == total
        held = out[out["group"] == "holdout"].groupby(out["segment"].fillna(NO_SEGMENT)).size()
        for stratum, n in people.groupby(people["segment"].fillna(NO_SEGMENT)).size().items():
            exact = total * n / len(people)
            assert np.floor(exact) <= held.get(stratum, 0) <= np.ceil(exact)


def test_customers_without_a_segment_are_a_stratum_of_their_own():
    out = assign_holdout(_customers({"CHAMPIONS": 10, None: 10}), 0.5, 3)
    assert out["segment"].isna().sum() == 10
    assert (out[out["segment"].isna()]["group"] == "holdout").sum() == 5


def test_share_zero_holds_out_nobody_and_an_empty_frame_is_fine():
    out = assign_holdout(_customers({"A": 7}), 0.0, 1)
    assert set(out["group"]) == {"treatment"}
    assert assign_holdout(_customers({}), 0.3, 1).empty


@pytest.mark.parametrize("frame, share, seed, message", [
    (pd.DataFrame({"customer_id": ["A", "A"], "segment": ["X", "X"]}), 0.1, 1, "unique customer_id"),
    (pd.DataFrame({"customer_id": ["A"]}), 0.1, 1, "needs the columns"),
    (pd.DataFrame({"customer_id": ["A"], "segment": ["X"]}), 1.5, 1, "between 0 and 1"),
    (pd.DataFrame({"customer_id": ["A"], "segment": ["X"]}), 0.1, MAX_SEED + 1, "seed"),
])
def test_bad_input_is_a_validation_error(frame, share, seed, message):
    with pytest.raises(ValidationError, match=message):
        assign_holdout(frame, share, seed)


def test_the_default_seed_is_a_fixed_function_of_the_campaign_id():
    seeds = [default_seed(i) for i in range(1, 200)]
    assert seeds == [default_seed(i) for i in range(1, 200)]
    assert len(set(seeds)) == len(seeds)
    assert all(0 <= s <= MAX_SEED for s in seeds)
    assert default_seed(1) == 2005839529  # stored campaigns rely on it: never change the function
