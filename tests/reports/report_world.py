"""Worlds for the report tests: a small hand-built campaign, and a large one written in bulk.

The large world's customers are inserted with Core ``executemany`` (thousands per statement),
so a campaign of several thousand customers is ready in about a second.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert, select

from crm_core.auth import Actor, Role
from crm_core.store.models import CampaignMember, CampaignOffer, Customer, Offer, RunCustomer, Transaction
from tests.outcomes.builders import COMPONENTS, EXPORT_DAY, build_world

ADMIN = Actor("ada", Role.ADMIN)
RISKY_NAME = '=HYPERLINK("http://evil.example","Spring") <b>bold</b> & <link href="http://evil.example">x</link>'
SEGMENTS = ("CHAMPIONS", "LOYAL", "AT_RISK")


@pytest.fixture
def small_world(db):
    """One campaign with a risky name: 12 of 20 treated and 3 of 20 held-out customers buy within the window."""
    world = build_world(db, campaign_name=RISKY_NAME)
    for i in range(20):
        world.customer(f"T{i:02d}", "treatment", segment=SEGMENTS[i % 3])
        if i < 12:
            world.sale(f"T{i:02d}", "P1", EXPORT_DAY + dt.timedelta(days=3), 10.0 + i)
    for i in range(20):
        world.customer(f"H{i:02d}", "holdout", segment=SEGMENTS[i % 3])
        if i < 3:
            world.sale(f"H{i:02d}", "P1", EXPORT_DAY + dt.timedelta(days=6), 10.0)
    return world


def big_world(db, customers: int):
    """A campaign of ``customers`` customers (half held out), a third of whom buy their offered product."""
    world = build_world(db)
    with db.unit_of_work() as s:
        s.execute(insert(Customer), [{"workspace_id": world.workspace_id, "customer_code": f"C{i:07d}"}
                                     for i in range(customers)])
        pks = list(s.scalars(select(Customer.id).where(Customer.workspace_id == world.workspace_id)
                             .order_by(Customer.customer_code)))
        s.execute(insert(RunCustomer), [
            {"run_id": world.run_id, "customer_id": pk, "first_purchase": dt.date(2023, 1, 1),
             "last_purchase": dt.date(2024, 2, 1), "recency_days": 29, "frequency": 2, "monetary_minor": 4000,
             "rfm_segment": SEGMENTS[i % 3]} for i, pk in enumerate(pks)])
        s.execute(insert(Offer), [
            {"workspace_id": world.workspace_id, "run_id": world.run_id, "customer_id": pk,
             "product_id": world.products["P1" if i % 2 else "P3"], "rank": 1, "scenario": "CROSS_SELL", "score": 0.5,
             "components_json": COMPONENTS, "explanation_code": "BESTSELLER", "explanation_params_json": {},
             "gate": "PASS", "state": "exported" if i % 2 else "approved", "version": 1, "origin": "engine"}
            for i, pk in enumerate(pks)])
        offers = dict(s.execute(select(Offer.customer_id, Offer.id).where(Offer.run_id == world.run_id)).all())
        s.execute(insert(CampaignOffer), [{"campaign_id": world.campaign_id, "offer_id": offers[pk]} for pk in pks])
        s.execute(insert(CampaignMember), [
            {"campaign_id": world.campaign_id, "customer_id": pk, "offer_id": offers[pk],
             "group": "treatment" if i % 2 else "holdout", "segment": SEGMENTS[i % 3]} for i, pk in enumerate(pks)])
        s.execute(insert(Transaction), [
            {"workspace_id": world.workspace_id, "batch_id": world.batch_id, "line_no": i + 2, "customer_id": pk,
             "product_id": world.products["P1" if i % 2 else "P3"], "invoice_code": f"I{i}",
             "invoice_date": dt.datetime.combine(EXPORT_DAY, dt.time(10)) + dt.timedelta(days=i % 40),
             "quantity": 1, "amount_minor": 1000 + i % 7, "is_return": False}
            for i, pk in enumerate(pks) if i % 3 == 0])
    return world
