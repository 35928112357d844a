"""crm_core.views.customer against a real SQLite file: one customer as of a run's date."""

from __future__ import annotations

import datetime as dt

import pytest

from crm_core.views.customer import CustomerNotFound, customer_360, search_customers
from crm_core.views.runs import RunNotFound
from tests.pages.stored_runs import build


@pytest.fixture
def stored(db):
    return build(db)


def test_default_is_the_newest_run_with_its_scores(db, stored):
    view = customer_360(db, stored.shop_id, "C1")
    assert view.run.id == stored.run_b and view.as_of == dt.date(2024, 3, 31)
    assert view.name == "Ada Smith" and view.master["email"] == "ada@example.com"
    s = view.scores
    assert (s.segment.code, s.segment.label) == ("AT_RISK", "At Risk")
    assert "win-back" in s.segment.action
    assert (s.cluster, s.persona_name, s.persona_description) == (1, "Loyalists", "Buy often.")
    assert (s.monetary, s.clv, s.p_alive, s.churn_risk, s.churn_score) == (123.45, 50.0, 0.4, "medium", 0.6)
    assert (s.r_score, s.f_score, s.m_score, s.recency_days, s.frequency) == (5, 3, 4, 11, 4)


def test_dated_attributes_are_resolved_as_of_the_run(db, stored):
    before = customer_360(db, stored.shop_id, "C1", run_id=stored.run_a).attributes
    after = customer_360(db, stored.shop_id, "C1", run_id=stored.run_b).attributes
    assert before["email_opt_in"] is True and after["email_opt_in"] is False  # withdrawn on 2024-02-15
    assert before["do_not_contact"] is False
    assert before["last_contacted_at"] == dt.datetime(2024, 1, 15, 9, 0)


def test_purchases_are_all_listed_and_marked_after_the_run_date(db, stored):
    view = customer_360(db, stored.shop_id, "C1", run_id=stored.run_a)
    p = view.purchases
    assert p["amount"].tolist() == [50.0, -25.0, 75.0]
    assert p["is_return"].tolist() == [False, True, False]
    assert p["after_as_of"].tolist() == [False, False, True]  # 2024-03-01 is after 2024-01-31
    assert p["product_name"].tolist() == ["Kettle"] * 3


def test_holdings_say_what_was_held_on_the_run_date(db, stored):
    early = customer_360(db, stored.shop_id, "C1", run_id=stored.run_a).holdings
    late = customer_360(db, stored.shop_id, "C1", run_id=stored.run_b).holdings
    assert early["product_id"].tolist() == ["SAV", "P1"]
    assert early["held"].tolist() == [True, True]
    assert late["held"].tolist() == [False, True]  # the saver closed on 2024-03-01
    assert early.loc[0, "balance"] == 1000.0


def test_a_customer_outside_the_run_has_no_scores(db, stored):
    from crm_core.store.models import Customer

    with db.unit_of_work() as s:
        s.add(Customer(workspace_id=stored.shop_id, customer_code="C9", first_name="Newbie"))
    view = customer_360(db, stored.shop_id, "C9")
    assert view.scores is None and view.run.id == stored.run_b
    assert view.purchases.empty and view.holdings.empty


def test_ids_are_normalised_and_unknown_ones_raise(db, stored):
    assert customer_360(db, stored.shop_id, "  C2 ").customer_id == "C2"
    with pytest.raises(CustomerNotFound, match="'C77'"):
        customer_360(db, stored.shop_id, "C77")
    with pytest.raises(CustomerNotFound):
        customer_360(db, stored.other_id, "C1")  # another workspace's customer
    with pytest.raises(RunNotFound):
        customer_360(db, stored.other_id, "C1", run_id=stored.run_a)


def test_offers_come_from_the_offer_views_or_say_why_not(db, stored):
    view = customer_360(db, stored.shop_id, "C1")
    if view.offers is None:
        assert view.offers_note
    else:
        assert view.offers.empty  # the hand-written runs hold no offers


def test_search_matches_id_name_and_email(db, stored):
    assert search_customers(db, stored.shop_id, "c3")["customer_id"].tolist() == ["C3"]
    assert search_customers(db, stored.shop_id, "ada sm")["customer_id"].tolist() == ["C1"]
    assert search_customers(db, stored.shop_id, "EXAMPLE.COM")["customer_id"].tolist() == ["C1"]
    assert search_customers(db, stored.shop_id, "smith", limit=2)["customer_id"].tolist() == ["C1", "C2"]
    assert search_customers(db, stored.shop_id, "C1")["name"].tolist() == ["Ada Smith"]
    assert search_customers(db, stored.other_id, "C1").empty
