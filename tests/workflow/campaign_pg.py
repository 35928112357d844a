"""A small world written directly through the models (any database): approved, gated offers in one run.

For the PostgreSQL race tests, where the SQLite sample file cannot be copied in.
"""

from __future__ import annotations

import datetime as dt

from crm_core.store.models import Customer, Offer, PipelineRun, Product, RunCustomer, Workspace

SEGMENTS = ("CHAMPIONS", "LOYAL", "AT_RISK")


def build_approved_offers(db, *, customers: int) -> list[int]:
    """One workspace, ``customers`` customers (segments in turn), two products and one approved PASS offer
    per customer; returns the offer ids."""
    with db.unit_of_work() as s:
        ws = Workspace(name="race", kind="retail", currency="GBP", currency_decimals=2)
        s.add(ws)
        s.flush()
        people = [Customer(workspace_id=ws.id, customer_code=f"R{i:03d}", first_name=f"First{i}",
                           email=f"r{i}@example.com") for i in range(customers)]
        products = [Product(workspace_id=ws.id, product_code=f"P{i}", name=f"Product {i}", family=f"F{i}",
                            price_minor=1000 + i, in_catalog=True) for i in range(2)]
        run = PipelineRun(workspace_id=ws.id, run_uuid="race-run", status="succeeded", as_of=dt.date(2024, 3, 28),
                          config_json={}, config_hash="c", data_hash="d", created_by="ann")
        s.add_all([*people, *products, run])
        s.flush()
        offers = []
        for i, person in enumerate(people):
            s.add(RunCustomer(run_id=run.id, customer_id=person.id, first_purchase=dt.date(2023, 1, 1),
                              last_purchase=dt.date(2024, 3, 1), recency_days=27, frequency=2, monetary_minor=5000,
                              rfm_segment=SEGMENTS[i % len(SEGMENTS)]))
            offer = Offer(workspace_id=ws.id, run_id=run.id, customer_id=person.id, product_id=products[i % 2].id,
                          rank=1, scenario="CROSS_SELL", score=0.7, components_json={},
                          explanation_code="CROSS_SELL_POPULAR",
                          explanation_params_json={"product": products[i % 2].name, "window_orders": 5,
                                                   "window_days": 90, "scenario": "CROSS_SELL",
                                                   "primary_scenario": "CROSS_SELL", "filled": False,
                                                   "match_pct": 70},
                          gate="PASS", state="approved", submitted_by="ann", decided_by="max",
                          decided_at=dt.datetime(2024, 4, 2, tzinfo=dt.timezone.utc), policy_name="standard",
                          policy_version=1)
            s.add(offer)
            offers.append(offer)
        s.flush()
        return [o.id for o in offers]
