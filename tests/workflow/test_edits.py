"""Offers changed by hand: the engine's original is kept, the new offer is gated like the engine's."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm_core.config import Config
from crm_core.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from crm_core.gate import facts_column, offer_facts
from crm_core.recommend.explain import render_explanations
from crm_core.views import workspaces
from crm_core.store import frames
from crm_core.store.contact_history import read_exported_offers
from crm_core.store.models import Customer, Offer, PipelineRun, Product, Transaction
from crm_core.workflow.edits import add_offer, edit_offer
from crm_core.workflow.policies import set_active_policy
from tests.workflow.gated_sample import (CONTACT_DATE, OPTED_OUT, UNKNOWN_CONSENT, events, gated,  # noqa: F401
                                         offers_by_id, offers_of, set_state)


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    """The contact date of a hand-made offer is "today": pinned so facts can be compared."""
    monkeypatch.setattr(workspaces, "today_in", lambda workspace: CONTACT_DATE)


def _codes(db, offer_id: int) -> tuple[str, str]:
    with db.read() as s:
        return s.execute(select(Customer.customer_code, Product.product_code)
                         .join(Offer, Offer.customer_id == Customer.id).join(Product, Product.id == Offer.product_id)
                         .where(Offer.id == offer_id)).one()


def _other_product(db, offer_id: int, *, bought: bool = True) -> str:
    """A product the offer's customer has no offer of (one they bought, when there is one)."""
    customer, _ = _codes(db, offer_id)
    with db.read() as s:
        offered = set(s.scalars(select(Product.product_code).join(Offer, Offer.product_id == Product.id)
                                .join(Customer, Customer.id == Offer.customer_id)
                                .where(Customer.customer_code == customer)))
        mine = set(s.scalars(select(Product.product_code).join(Transaction, Transaction.product_id == Product.id)
                             .join(Customer, Customer.id == Transaction.customer_id)
                             .where(Customer.customer_code == customer)))
        every = set(s.scalars(select(Product.product_code)))
    choices = sorted((mine if bought and mine - offered else every) - offered)
    return choices[0]


def test_an_edit_keeps_the_original_superseded_beside_a_new_pending_offer(gated, analyst):
    db, ws, run_id = gated
    original_id = offers_of(db, "C0010")[0]
    before = offers_by_id(db)[original_id]
    product = _other_product(db, original_id)
    new_id = edit_offer(db, analyst, original_id, product, reason="asked for it in store")
    offers = offers_by_id(db)
    original, new = offers[original_id], offers[new_id]
    assert {**original, "state": "pending", "version": 1} == before and original["state"] == "superseded"
    assert original["version"] == before["version"] + 1
    assert (new["origin"], new["original_offer_id"], new["state"], new["submitted_by"]) == \
        ("edited", original_id, "pending", "ann")
    assert (new["run_id"], new["customer_id"], new["scenario"]) == \
        (before["run_id"], before["customer_id"], before["scenario"])
    assert new["rank"] == max(o["rank"] for o in offers.values()
                              if o["run_id"] == run_id and o["customer_id"] == before["customer_id"])
    assert new["rank"] == 1 + max(o["rank"] for i, o in offers.items()
                                  if i != new_id and o["customer_id"] == before["customer_id"])
    assert _codes(db, new_id) == ("C0010", product)
    assert new["score"] == 0 and new["explanation_code"] == "MANUAL"
    assert render_explanations([new["explanation_code"]], [new["explanation_params_json"]]) == \
        ["Chosen by ann: asked for it in store"]
    assert (new["policy_name"], new["policy_version"]) == ("standard", 1)
    (event,) = events(db, "offer.edit")
    assert (event["entity_id"], event["reason"], event["actor"]) == (str(new_id), "asked for it in store", "ann")
    assert event["before_json"]["offer_id"] == original_id and event["after_json"]["gate"] == new["gate"]


def test_the_new_offer_is_judged_on_the_same_facts_as_a_whole_workspace_read(gated, analyst):
    db, ws, run_id = gated
    original_id = offers_of(db, "C0012")[0]
    product = _other_product(db, original_id)
    new_id = edit_offer(db, analyst, original_id, product)
    new = offers_by_id(db)[new_id]
    with db.read() as s:
        as_of = s.scalar(select(PipelineRun.as_of).where(PipelineRun.id == run_id))
    frame = frames.read_transactions(db, ws).iloc[:0][["customer_id", "product_id"]].copy()
    frame.loc[0] = ["C0012", product]
    frame["scenario"], frame["score"] = new["scenario"], 0.0
    full = offer_facts(frame, customers=frames.read_customers(db, ws, CONTACT_DATE),
                       products=frames.read_products(db, ws), transactions=frames.read_transactions(db, ws),
                       holdings=frames.read_holdings(db, ws), previous_exports=read_exported_offers(db, ws),
                       as_of=as_of, contact_date=CONTACT_DATE, config=Config().gate)
    expected = facts_column(full).iloc[0]
    assert new["facts_json"] == expected
    assert new["facts_json"]["days_since_bought"] is not None  # a product the customer bought: history counted


def test_an_opted_out_customers_edited_offer_is_blocked(gated, analyst):
    db, _, _ = gated
    original_id = offers_of(db, OPTED_OUT)[0]
    new_id = edit_offer(db, analyst, original_id, _other_product(db, original_id))
    new = offers_by_id(db)[new_id]
    assert new["gate"] == "BLOCK" and "OPTED_OUT" in new["flags"].split(";")
    assert new["audit_score"] == 0


def test_the_edited_offer_is_regated_with_the_others(gated, analyst, admin):
    db, ws, _ = gated
    original_id = offers_of(db, UNKNOWN_CONSENT)[0]
    new_id = edit_offer(db, analyst, original_id, _other_product(db, original_id))
    new = offers_by_id(db)[new_id]
    assert new["gate"] == "REVIEW"  # two warnings under standard: consent unknown, and score 0 is a LOW_SCORE
    assert {"CONSENT_UNKNOWN", "LOW_SCORE"} <= set(new["flags"].split(";"))
    set_active_policy(db, admin, ws, "strict")
    after = offers_by_id(db)
    assert after[new_id]["gate"] == "BLOCK" and after[new_id]["policy_name"] == "strict"
    assert after[original_id]["policy_name"] == "standard"  # superseded: left as it was


@pytest.mark.parametrize("state", ["approved", "rejected", "exported", "superseded"])
def test_a_decided_offer_cannot_be_edited(gated, analyst, state):
    db, _, _ = gated
    original_id = offers_of(db, "C0010")[0]
    set_state(db, original_id, state)
    before = offers_by_id(db)
    with pytest.raises(ConflictError, match=f"is {state}"):
        edit_offer(db, analyst, original_id, _other_product(db, original_id))
    assert offers_by_id(db) == before


def test_a_flagged_offer_can_be_edited(gated, analyst):
    db, _, _ = gated
    original_id = offers_of(db, "C0010")[0]
    set_state(db, original_id, "flagged")
    edit_offer(db, analyst, original_id, _other_product(db, original_id))
    assert offers_by_id(db)[original_id]["state"] == "superseded"


def test_an_edit_to_the_same_or_an_already_offered_product_is_refused(gated, analyst):
    db, _, _ = gated
    first, second = offers_of(db, "C0010")[:2]
    with pytest.raises(ValidationError, match="already offers"):
        edit_offer(db, analyst, first, _codes(db, first)[1])
    with pytest.raises(ValidationError, match=f"already has offer #{second}"):
        edit_offer(db, analyst, first, _codes(db, second)[1])
    assert offers_by_id(db)[first]["state"] == "pending"


def test_add_offer_gates_a_new_offer_at_the_customers_next_rank(gated, analyst):
    db, _, run_id = gated
    existing = offers_of(db, OPTED_OUT)
    product = _other_product(db, existing[0], bought=False)
    new_id = add_offer(db, analyst, run_id, f" {OPTED_OUT} ", product.lower(), scenario="upsell",
                       reason="")
    new = offers_by_id(db)[new_id]
    assert (new["origin"], new["original_offer_id"], new["scenario"], new["state"]) == \
        ("added", None, "UPSELL", "pending")
    assert new["rank"] == 1 + max(offers_by_id(db)[i]["rank"] for i in existing)
    assert new["gate"] == "BLOCK"  # opted out: an ERROR whoever chose the product
    assert render_explanations(["MANUAL"], [new["explanation_params_json"]]) == ["Chosen by ann"]
    assert {offers_by_id(db)[i]["state"] for i in existing} == {"pending"}  # nothing superseded
    (event,) = events(db, "offer.add")
    assert event["after_json"]["origin"] == "added" and event["after_json"]["product"] == product


def test_unknown_run_customer_product_or_scenario_is_refused(gated, analyst):
    db, _, run_id = gated
    with pytest.raises(NotFound, match="no pipeline run #999"):
        add_offer(db, analyst, 999, "C0001", "P001")
    with pytest.raises(NotFound, match="no customer 'C9999'"):
        add_offer(db, analyst, run_id, "C9999", "P001")
    with pytest.raises(NotFound, match="no product 'NOPE'"):
        add_offer(db, analyst, run_id, "C0001", "NOPE")
    with pytest.raises(ValidationError, match="Unknown scenario 'BOGUS'"):
        add_offer(db, analyst, run_id, "C0001", "P001", scenario="bogus")
    with pytest.raises(NotFound, match="no offer #999999"):
        edit_offer(db, analyst, 999999, "P001")
    assert events(db, "offer.add") == []


def test_a_viewer_may_neither_edit_nor_add(gated, viewer):
    db, _, run_id = gated
    original_id = offers_of(db, "C0010")[0]
    before = offers_by_id(db)
    with pytest.raises(PermissionDenied):
        edit_offer(db, viewer, original_id, "P001")
    with pytest.raises(PermissionDenied):
        add_offer(db, viewer, run_id, "C0010", "P001")
    assert offers_by_id(db) == before


@pytest.mark.postgres
def test_two_analysts_editing_one_offer_at_once_on_postgresql_exactly_one_wins(pg_db):
    import threading

    from crm_core.auth import Actor, Role
    from tests.workflow.gated_sample import build_gated

    build_gated(pg_db.url, with_users=False)
    original_id = offers_of(pg_db, "C0010")[0]
    products = sorted({f"P{i:03d}" for i in range(12)} - {_codes(pg_db, i)[1] for i in offers_of(pg_db, "C0010")})
    barrier, outcomes = threading.Barrier(2), []

    def edit(user: str, product: str) -> None:
        barrier.wait()
        try:
            outcomes.append(edit_offer(pg_db, Actor(user, Role.ANALYST), original_id, product))
        except ConflictError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=edit, args=args) for args in (("ann", products[0]), ("bob", products[1]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [o for o in outcomes if isinstance(o, int)]
    assert len(won) == 1 and len(outcomes) == 2
    assert "superseded" in str(next(o for o in outcomes if isinstance(o, ConflictError)))
    offers = offers_by_id(pg_db)
    assert [i for i, o in offers.items() if o["original_offer_id"] == original_id] == won
    assert offers[original_id]["state"] == "superseded" and offers[original_id]["version"] == 2
