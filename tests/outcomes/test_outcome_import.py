"""Importing an outcome file: campaign and offer references resolved to the stored campaign and offer."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select

from crm_core.ingest import import_file
from crm_core.outcomes.results import campaign_outcome
from crm_core.store.models import Customer, Outcome
from tests.outcomes.builders import build_world


def _import(db, analyst, text: str, name: str = "outcomes.csv"):
    return import_file(db, "shop", (text.encode("utf-8"), name), kind="outcomes", actor=analyst)


def _stored(db) -> list[tuple]:
    with db.read() as s:
        return s.execute(select(Customer.customer_code, Outcome.campaign_id, Outcome.offer_id, Outcome.converted,
                                Outcome.revenue_minor, Outcome.responded, Outcome.reference)
                         .join(Customer, Customer.id == Outcome.customer_id).order_by(Outcome.id)).all()


def _world(db):
    world = build_world(db, campaign_name="Spring Sale")
    world.customer("C1", "treatment", offered=("P1", "P3"))
    world.customer("C2", "treatment")
    world.customer("C3", "holdout")
    return world


def test_a_campaign_by_id_or_name_and_an_offer_by_id_are_linked(db, analyst):
    world = _world(db)
    c, offer_c1 = world.campaign_id, world.offers[("C1", "P3")]
    report = _import(db, analyst, "customer_id,campaign,offer_id,responded_at,converted,revenue\n"
                                  f"C1,#{c},{offer_c1},2024-03-04,yes,19.90\n"
                                  "C2,  spring   SALE ,,2024-03-05,no,\n"
                                  f"C3,{c}.0,,,,\n")
    assert report.rows_loaded == 3 and report.issues.empty
    assert _stored(db) == [("C1", c, offer_c1, True, 1990, True, None), ("C2", c, None, False, None, True, None),
                           ("C3", c, None, False, None, None, None)]


def test_an_offer_alone_brings_its_campaign_and_a_reference_can_name_the_campaign(db, analyst):
    world = _world(db)
    c, offer_c2 = world.campaign_id, world.offers[("C2", "P1")]
    _import(db, analyst, "customer_id,reference,offer_id,converted\n"
                         f"C2,,{offer_c2},1\n"
                         "C1,Spring Sale,,1\n"
                         "C3,MAILTOOL-77,,0\n")
    assert [(code, campaign, offer, ref) for code, campaign, offer, _, _, _, ref in _stored(db)] == [
        ("C2", c, offer_c2, None), ("C1", c, None, "Spring Sale"), ("C3", None, None, "MAILTOOL-77")]


def test_what_cannot_be_linked_is_warned_and_an_unknown_customer_is_not_loaded(db, analyst):
    world = _world(db)
    world.another_campaign("Spring sale")  # a second campaign of the same name, in another case
    other = world.another_campaign("Autumn")
    world.customer("C2", "treatment", campaign_id=other, offered=("P3",))  # C2 is in Autumn too
    before = _customers(db)
    report = _import(db, analyst, "customer_id,campaign,offer_id,converted\n"
                                  "C1,Spring Sale,,1\n"  # two campaigns are called that
                                  "C1,Winter,,1\n"  # no such campaign
                                  f"C2,,{world.offers[('C1', 'P1')]},1\n"  # C1's offer, not C2's
                                  f"C2,#{world.campaign_id},{world.offers[('C2', 'P3')]},1\n"  # C2's offer in Autumn
                                  "C2,,999999,1\n"  # no such offer
                                  "NOBODY,Spring Sale,,1\n")  # no such customer
    codes = dict(zip(report.issues["line"], report.issues["code"]))
    assert codes == {2: "ambiguous_campaign", 3: "unknown_campaign", 4: "offer_of_another_customer",
                     5: "offer_not_in_campaign", 6: "unknown_offer", 7: "unknown_customer"}
    assert report.rows_loaded == 5 and _customers(db) == before  # no customer was created
    stored = _stored(db)
    assert [(campaign, offer) for _, campaign, offer, *_ in stored] == [
        (None, None), (None, None), (None, None), (world.campaign_id, None), (None, None)]


def _customers(db) -> set[str]:
    with db.read() as s:
        return set(s.scalars(select(Customer.customer_code)))


def test_imported_outcomes_are_the_file_source_of_the_campaigns_results(db, analyst):
    world = _world(db)
    _import(db, analyst, "customer_id,campaign,converted,revenue,responded_at\n"
                         "C1,Spring Sale,yes,30,2024-03-03\nC2,Spring Sale,no,0,2024-03-04\n"
                         "C3,Spring Sale,yes,10,2024-03-09\n")
    outcome = campaign_outcome(db, world.campaign_id, source="file")
    row = outcome.table().iloc[0]
    assert (row["treatment_conversions"], row["control_conversions"]) == (1, 1)
    assert (row["treatment_revenue_per_customer"], row["control_revenue_per_customer"]) == (15.0, 10.0)
    firsts = outcome.timeline[outcome.timeline["conversions"] > 0]
    assert firsts[["day", "group"]].values.tolist() == [[2, "treatment"], [8, "holdout"]]
    assert firsts["date"].tolist() == [pd.Timestamp(dt.date(2024, 3, 3)), pd.Timestamp(dt.date(2024, 3, 9))]
