"""Conversions inferred from later sales lines: the window's edges, product or family, both groups alike.

Every customer is put in a segment named after them, so ``group_counts(by="segment")`` gives
one row per customer: whether they converted and what revenue was attributed to them.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from crm_core.errors import ConfigError
from crm_core.outcomes.attribution import (AttributionRule, attribution_window, day_of_window, export_day,
                                           family_keys)
from crm_core.outcomes.results import campaign_window
from crm_core.views.campaigns import campaign_info
from crm_core.views.outcomes import conversions_by_day, group_counts
from tests.outcomes.builders import EXPORT_DAY, build_world

DAY = dt.timedelta(days=1)


def _per_customer(world, rule: AttributionRule) -> dict[str, tuple[int, float]]:
    """customer code -> (converted 0/1, attributed revenue)."""
    window = campaign_window(world.db, campaign_info(world.db, world.campaign_id), rule)
    counts = group_counts(world.db, world.campaign_id, source="inferred", window=window, by="segment")
    assert (counts["customers"] == 1).all()
    return {v: (int(c), round(float(r), 2)) for v, c, r in counts[["value", "conversions", "revenue_sum"]]
            .itertuples(index=False)}


@pytest.fixture
def edges(db):
    """Treatment customers buying the offered product around the window's edges (export day 2024-03-01)."""
    world = build_world(db)
    start = dt.datetime.combine(EXPORT_DAY, dt.time())
    for code, when in [("day0_midnight", start), ("day30_last_minute", start + 31 * DAY - dt.timedelta(minutes=1)),
                       ("day31", start + 31 * DAY), ("day_before", start - dt.timedelta(minutes=1))]:
        world.customer(code, "treatment", segment=code)
        world.sale(code, "P1", when, 10.0)
    return world


def test_day_0_and_day_30_count_and_day_31_and_the_day_before_do_not(edges):
    got = _per_customer(edges, AttributionRule())
    assert got == {"day0_midnight": (1, 10.0), "day30_last_minute": (1, 10.0), "day31": (0, 0.0),
                   "day_before": (0, 0.0)}


def test_a_shorter_window_moves_the_edge(edges):
    got = _per_customer(edges, AttributionRule(window_days=29))
    assert got["day30_last_minute"] == (0, 0.0) and got["day0_midnight"] == (1, 10.0)


def test_the_offered_product_or_its_family_by_config(db):
    world = build_world(db)
    world.customer("same_product", "treatment", offered=("P1",), segment="same_product")
    world.customer("same_family", "treatment", offered=("P1",), segment="same_family")
    world.customer("other_family", "treatment", offered=("P1",), segment="other_family")
    world.customer("category_family", "treatment", offered=("P4",), segment="category_family")
    world.sale("same_product", "P1", EXPORT_DAY + 3 * DAY, 10.0)
    world.sale("same_family", "P2", EXPORT_DAY + 3 * DAY, 5.0)  # Plate: Kitchen, like the offered Mug
    world.sale("other_family", "P3", EXPORT_DAY + 3 * DAY, 20.0)  # Spade: Garden
    world.sale("category_family", "P4", EXPORT_DAY + 3 * DAY, 15.0)  # no catalogue family: its sales say Toys
    assert _per_customer(world, AttributionRule(match="product")) == {
        "same_product": (1, 10.0), "same_family": (0, 0.0), "other_family": (0, 0.0), "category_family": (1, 15.0)}
    assert _per_customer(world, AttributionRule(match="family")) == {
        "same_product": (1, 10.0), "same_family": (1, 5.0), "other_family": (0, 0.0), "category_family": (1, 15.0)}


def test_the_holdout_is_measured_from_the_export_day_by_the_same_rule(db):
    world = build_world(db)
    world.customer("held_day3", "holdout", segment="held_day3")
    world.customer("held_day31", "holdout", segment="held_day31")
    world.customer("held_other_product", "holdout", segment="held_other_product")
    world.sale("held_day3", "P1", EXPORT_DAY + 3 * DAY, 10.0)
    world.sale("held_day31", "P1", EXPORT_DAY + 31 * DAY, 10.0)
    world.sale("held_other_product", "P3", EXPORT_DAY + 3 * DAY, 20.0)
    assert _per_customer(world, AttributionRule()) == {"held_day3": (1, 10.0), "held_day31": (0, 0.0),
                                                       "held_other_product": (0, 0.0)}


def test_returns_are_netted_and_a_return_alone_is_no_conversion(db):
    world = build_world(db)
    world.customer("bought_and_returned_part", "treatment", segment="bought_and_returned_part")
    world.customer("only_returned", "treatment", segment="only_returned")
    world.customer("two_offers", "treatment", offered=("P1", "P3"), segment="two_offers")
    world.sale("bought_and_returned_part", "P1", EXPORT_DAY + 2 * DAY, 10.0)
    world.sale("bought_and_returned_part", "P1", EXPORT_DAY + 4 * DAY, -4.0, is_return=True)
    world.sale("only_returned", "P1", EXPORT_DAY + 2 * DAY, -10.0, is_return=True)
    world.sale("two_offers", "P1", EXPORT_DAY + 1 * DAY, 10.0)
    world.sale("two_offers", "P3", EXPORT_DAY + 9 * DAY, 20.0)
    world.sale("two_offers", "P2", EXPORT_DAY + 9 * DAY, 5.0)  # not offered
    assert _per_customer(world, AttributionRule()) == {
        "bought_and_returned_part": (1, 6.0), "only_returned": (0, 0.0), "two_offers": (1, 30.0)}


def test_other_campaigns_and_other_workspaces_do_not_leak_in(db):
    world = build_world(db)
    other = build_world(db, name="bank")
    world.customer("mine", "treatment", segment="mine")
    other.customer("mine", "treatment", segment="mine")  # the same code in another workspace
    other.sale("mine", "P1", EXPORT_DAY + 2 * DAY, 10.0)
    second = world.another_campaign("Autumn")
    world.customer("theirs", "treatment", campaign_id=second, segment="theirs")
    world.sale("theirs", "P1", EXPORT_DAY + 2 * DAY, 10.0)
    assert _per_customer(world, AttributionRule()) == {"mine": (0, 0.0)}


def test_the_first_conversion_day_per_group(db):
    world = build_world(db)
    world.customer("t1", "treatment", segment="t1")
    world.customer("h1", "holdout", segment="h1")
    world.sale("t1", "P1", EXPORT_DAY + 2 * DAY, 10.0)
    world.sale("t1", "P1", EXPORT_DAY + 5 * DAY, 10.0)  # a second purchase: still one conversion, on day 2
    world.sale("h1", "P1", EXPORT_DAY + 7 * DAY, 10.0)
    window = campaign_window(db, campaign_info(db, world.campaign_id), AttributionRule())
    daily = conversions_by_day(db, world.campaign_id, source="inferred", window=window)
    assert list(daily.itertuples(index=False, name=None)) == [
        (pd.Timestamp(EXPORT_DAY + 2 * DAY), "treatment", 1), (pd.Timestamp(EXPORT_DAY + 7 * DAY), "holdout", 1)]


def test_the_export_day_is_the_workspaces_local_day():
    late_evening_in_new_york = dt.datetime(2024, 3, 1, 3, 0, tzinfo=dt.timezone.utc)
    assert export_day(late_evening_in_new_york, "America/New_York") == dt.date(2024, 2, 29)
    assert export_day(late_evening_in_new_york, "Europe/London") == dt.date(2024, 3, 1)
    assert export_day(late_evening_in_new_york.replace(tzinfo=None), "Not/AZone") == dt.date(2024, 3, 1)


def test_a_local_export_day_moves_the_window(db):
    world = build_world(db, timezone="America/New_York",
                        exported_at=dt.datetime(2024, 3, 1, 3, 0, tzinfo=dt.timezone.utc))
    world.customer("bought_feb_29", "treatment", segment="bought_feb_29")
    world.sale("bought_feb_29", "P1", dt.datetime(2024, 2, 29, 21, 0), 10.0)
    assert _per_customer(world, AttributionRule()) == {"bought_feb_29": (1, 10.0)}


def test_the_window_arithmetic():
    start, end = attribution_window(EXPORT_DAY, AttributionRule(window_days=30))
    assert (start, end) == (dt.datetime(2024, 3, 1), dt.datetime(2024, 4, 1))
    assert [day_of_window(d, EXPORT_DAY) for d in (dt.date(2024, 3, 1), dt.datetime(2024, 3, 31, 23, 59),
                                                   dt.date(2024, 4, 1))] == [0, 30, 31]


def test_family_keys_group_the_products_of_the_offered_families_only():
    families = pd.Series({1: "Kitchen", 2: "Kitchen", 3: "Garden", 4: "Toys", 5: "Kitchen"}, dtype="string")
    assert family_keys(families, {1, 4}) == {0: [1, 2, 5], 1: [4]}
    assert family_keys(families, set()) == {}


@pytest.mark.parametrize("bad", [{"window_days": -1}, {"window_days": 400}, {"window_days": 2.5},
                                 {"match": "category"}, {"window": 30}])
def test_a_bad_rule_names_what_to_write(bad):
    with pytest.raises(ConfigError):
        AttributionRule.from_dict(bad)
