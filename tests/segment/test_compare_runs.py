"""Comparing two runs: migration, stability, slipped customers."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_core.segment.compare import ABSENT, cluster_stability, compare_runs, segment_migration, slipped_customers


def run(rows: dict[str, tuple[str, int, float]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["rfm_segment", "cluster", "monetary"])
    frame.index = pd.Index(list(rows), dtype="string", name="customer_id")
    frame["rfm_segment"] = frame["rfm_segment"].astype("string")
    frame["cluster"] = frame["cluster"].astype("Int64")
    return frame


BEFORE = run({"a": ("CHAMPIONS", 1, 500.0), "b": ("LOYAL", 1, 900.0), "c": ("LOST", 2, 5.0),
              "d": ("NEW", 2, 20.0), "e": ("CHAMPIONS", 1, 50.0)})
AFTER = run({"a": ("AT_RISK", 2, 510.0), "b": ("CANT_LOSE", 2, 900.0), "c": ("LOST", 1, 5.0),
             "e": ("CHAMPIONS", 1, 80.0), "f": ("NEW", 1, 10.0)})


def test_migration_counts_moves_and_absences():
    m = segment_migration(BEFORE["rfm_segment"], AFTER["rfm_segment"])
    assert m.loc["CHAMPIONS", "AT_RISK"] == 1 and m.loc["LOYAL", "CANT_LOSE"] == 1
    assert m.loc["CHAMPIONS", "CHAMPIONS"] == 1 and m.loc["LOST", "LOST"] == 1
    assert m.loc["NEW", ABSENT] == 1 and m.loc[ABSENT, "NEW"] == 1
    assert m.to_numpy().sum() == 6  # every customer of either run exactly once
    assert m.shape == (12, 12)


def test_stability_is_the_adjusted_rand_index_of_shared_customers():
    same = BEFORE["cluster"]
    renamed = same.map({1: 2, 2: 1})
    assert cluster_stability(same, renamed) == 1.0  # label names do not matter
    assert cluster_stability(BEFORE["cluster"], AFTER["cluster"]) < 0.5
    assert cluster_stability(BEFORE["cluster"].iloc[:1], AFTER["cluster"]) is None


def test_slipped_customers_most_valuable_first():
    s = slipped_customers(BEFORE, AFTER)
    assert s.index.tolist() == ["b", "a"]
    assert s.loc["a", "segment_before"] == "CHAMPIONS" and s.loc["a", "segment_after"] == "AT_RISK"
    assert s.loc["a", "monetary_after"] == 510.0


def test_compare_runs_bundles_everything():
    c = compare_runs(BEFORE, AFTER)
    assert (c.customers_both, c.only_before, c.only_after) == (4, 1, 1)
    assert len(c.slipped) == 2 and c.stability == pytest.approx(cluster_stability(BEFORE["cluster"], AFTER["cluster"]))
