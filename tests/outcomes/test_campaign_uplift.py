"""Campaign uplift wired to the statistics: published intervals, zero conversions, the too-small verdict,
splits, and the outcome file as a second source."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from crm_core.errors import ValidationError
from crm_core.outcomes.results import campaign_outcome, compare_sources
from crm_core.stats import compare_groups, sample_size_two_proportions
from crm_core.store.models import Outcome
from tests.outcomes.builders import EXPORT_DAY, build_world

DAY = dt.timedelta(days=1)


def _group(world, prefix: str, group: str, n: int, converted: int, *, segment: str = "LOYAL",
           scenario: str = "CROSS_SELL", amount=lambda i: 10.0 + i) -> dict[str, float]:
    """``n`` customers of ``group``, the first ``converted`` of whom buy the offered product on day 3."""
    revenue = {}
    for i in range(n):
        code = f"{prefix}{i:03d}"
        world.customer(code, group, segment=segment, scenario=scenario)
        revenue[code] = 0.0
        if i < converted:
            world.sale(code, "P1", EXPORT_DAY + 3 * DAY, amount(i))
            revenue[code] = amount(i)
    return revenue


@pytest.fixture
def newcombe_a(db):
    """Newcombe (1998) Table II example (a) as a campaign: 56 of 70 treated and 48 of 80 held out convert."""
    world = build_world(db)
    treated = _group(world, "T", "treatment", 70, 56)
    held = _group(world, "H", "holdout", 80, 48, amount=lambda i: 8.0 + 2 * (i % 5))
    return world, treated, held


def test_the_published_interval_and_welchs_interval_on_a_worked_example(newcombe_a):
    world, treated, held = newcombe_a
    outcome = campaign_outcome(world.db, world.campaign_id)
    row = outcome.table().iloc[0]
    assert (row["treatment_customers"], row["treatment_conversions"]) == (70, 56)
    assert (row["control_customers"], row["control_conversions"]) == (80, 48)
    assert (row["treatment_rate"], row["control_rate"]) == (0.8, 0.6)
    assert round(row["uplift_points"], 10) == 0.2 and row["relative_uplift"] == pytest.approx(0.2 / 0.6)
    assert (round(row["uplift_low"], 4), round(row["uplift_high"], 4)) == (0.0524, 0.3339)  # Table II, method 10
    a, b = np.array(list(treated.values())), np.array(list(held.values()))
    welch = scipy_stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert row["treatment_revenue_per_customer"] == pytest.approx(a.mean())
    assert row["control_revenue_per_customer"] == pytest.approx(b.mean())
    assert (row["revenue_low"], row["revenue_high"]) == pytest.approx((welch.low, welch.high), rel=1e-9)
    assert outcome.verdict.startswith("Converts 20.0 points more than control (95 % interval +5.2 to +33.4")


def test_the_campaign_gives_what_compare_groups_gives_on_the_same_customers(newcombe_a):
    world, treated, held = newcombe_a
    frame = pd.DataFrame({"group": ["treatment"] * len(treated) + ["holdout"] * len(held),
                          "converted": [v > 0 for v in [*treated.values(), *held.values()]],
                          "revenue": [*treated.values(), *held.values()]})
    expected = compare_groups(frame, group="group", control="holdout", converted="converted", revenue="revenue")
    got = campaign_outcome(world.db, world.campaign_id).overall
    e, g = expected.groups[0], got.groups[0]
    assert (g.n, g.conversions, g.diff_ci, g.needed_per_group, g.verdict) == \
        (e.n, e.conversions, pytest.approx(e.diff_ci), e.needed_per_group, e.verdict)
    assert g.revenue_diff_ci == pytest.approx(e.revenue_diff_ci)
    assert (got.control.n, got.control.conversions) == (expected.control.n, expected.control.conversions)


def test_no_conversion_in_the_holdout_and_too_few_customers_to_tell(db):
    world = build_world(db)
    _group(world, "T", "treatment", 56, 5)
    _group(world, "H", "holdout", 29, 0)
    outcome = campaign_outcome(db, world.campaign_id)
    row = outcome.table().iloc[0]
    assert (round(row["uplift_low"], 4), round(row["uplift_high"], 4)) == (-0.0381, 0.1926)  # Table II (d)
    assert pd.isna(row["relative_uplift"])  # no relative uplift over a control that never converts
    needed = sample_size_two_proportions(5 / 56, 0.0)
    assert row["needed_per_group"] == needed
    assert outcome.verdict.startswith("Too few customers to tell: the 95 % interval (\u22123.8 to +19.3 points)")
    assert f"About {needed:,} customers per group would be needed" in outcome.verdict


def test_each_segment_is_compared_with_its_own_holdout(db):
    world = build_world(db)
    _group(world, "TA", "treatment", 10, 9, segment="CHAMPIONS", scenario="UPSELL")
    _group(world, "HA", "holdout", 10, 3, segment="CHAMPIONS", scenario="UPSELL")
    _group(world, "TB", "treatment", 7, 6, segment="LOST", scenario="WINBACK")
    _group(world, "HB", "holdout", 7, 2, segment="LOST", scenario="WINBACK")
    _group(world, "TC", "treatment", 4, 1, segment="NEW", scenario="NURTURE")  # no holdout customer
    outcome = campaign_outcome(db, world.campaign_id)
    by_segment = outcome.table("segment").set_index("value")
    assert (round(by_segment.loc["Champions", "uplift_low"], 4),
            round(by_segment.loc["Champions", "uplift_high"], 4)) == (0.1705, 0.8090)  # Table II (b)
    assert (round(by_segment.loc["Lost", "uplift_low"], 4),
            round(by_segment.loc["Lost", "uplift_high"], 4)) == (0.0582, 0.8062)  # Table II (c)
    assert by_segment.loc["New", "control_customers"] == 0
    assert by_segment.loc["New", "verdict"] == "Cannot tell: one of the two groups has no customers."
    assert set(outcome.table("scenario")["value"]) == {"UPSELL", "WINBACK", "NURTURE"}
    assert outcome.table("family")[["value", "treatment_customers"]].values.tolist() == [["Kitchen", 21]]


def test_the_timeline_counts_every_day_of_the_window(newcombe_a):
    world, _, _ = newcombe_a
    timeline = campaign_outcome(world.db, world.campaign_id).timeline
    treated = timeline[timeline["group"] == "treatment"].set_index("day")
    assert len(treated) == 31 and treated.loc[2, "cumulative"] == 0 and treated.loc[3, "conversions"] == 56
    assert treated.loc[30, "rate"] == pytest.approx(0.8)
    assert timeline[timeline["group"] == "holdout"].set_index("day").loc[30, "cumulative"] == 48


def _outcome_rows(world, rows: list[tuple[str, bool, int | None]]) -> None:
    with world.db.unit_of_work() as s:
        for code, converted, revenue in rows:
            s.add(Outcome(workspace_id=world.workspace_id, customer_id=world.customers[code],
                          campaign_id=world.campaign_id, converted=converted, revenue_minor=revenue,
                          responded_at=dt.datetime(2024, 3, 5, 10, 0), reference="Spring"))


def test_the_outcome_file_as_the_source_and_its_comparison_with_the_sales(db):
    world = build_world(db)
    _group(world, "T", "treatment", 4, 2)  # T000 and T001 buy the offered product
    _group(world, "H", "holdout", 3, 1)  # H000 buys it
    _outcome_rows(world, [("T000", True, None), ("T002", True, None), ("T003", False, None)])
    outcome = campaign_outcome(db, world.campaign_id, source="file")
    row = outcome.table().iloc[0]
    assert (row["treatment_conversions"], row["control_conversions"]) == (2, 0)
    assert not outcome.revenue_known and pd.isna(row["treatment_revenue_per_customer"])
    assert any("no row for any holdout customer" in note for note in outcome.notes)
    comparison = compare_sources(db, world.campaign_id).set_index("group")
    assert comparison.loc["treatment"].to_dict() == {"customers": 4, "in_file": 3, "file_converted": 2,
                                                     "inferred_converted": 2, "both": 1, "file_only": 1,
                                                     "inferred_only": 1}
    assert comparison.loc["holdout", "inferred_only"] == 1 and comparison.loc["holdout", "in_file"] == 0


def test_a_campaign_not_yet_exported_has_no_results(db):
    world = build_world(db)
    draft = world.another_campaign("Draft", exported_at=None)
    with pytest.raises(ValidationError, match="has not been exported yet"):
        campaign_outcome(db, draft)
