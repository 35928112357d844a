"""An exported campaign over the UI sample's pipeline run, for the page and browser tests.

The sample (tests/app/sample_db.py) after one run gives its customers three offers each. Here
their first offers are approved and put into one campaign exported on :data:`EXPORTED_AT`:
the first half of the customers (by code) in the treatment group, the rest held out, every
first offer a WINBACK. The first ``treated_buyers`` treated and ``held_buyers`` held-out
customers buy their offered product four days after the export (sales lines added here), so
the result and the learning proposal it supports are known in advance.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from crm_core.store.models import (Campaign, CampaignMember, CampaignOffer, Customer, ImportBatch, Offer, RunCustomer,
                                   Transaction)

EXPORTED_AT = dt.datetime(2024, 4, 1, 9, 0, tzinfo=dt.timezone.utc)
BOUGHT_ON = dt.datetime(2024, 4, 5, 11, 0)
CAMPAIGN_NAME = "Spring [winback](http://evil.example)"


def export_sample_campaign(db, workspace_id: int, run_id: int, *, treated_buyers: int = 15,
                           held_buyers: int = 2) -> tuple[int, dict[str, list[str]]]:
    """Create and "export" the campaign; returns its id and the customer codes per group."""
    with db.unit_of_work() as s:
        first = s.execute(select(Offer.id, Offer.customer_id, Offer.product_id, Customer.customer_code,
                                 RunCustomer.rfm_segment)
                          .join(Customer, Customer.id == Offer.customer_id)
                          .outerjoin(RunCustomer, (RunCustomer.run_id == Offer.run_id)
                                     & (RunCustomer.customer_id == Offer.customer_id))
                          .where(Offer.run_id == run_id, Offer.rank == 1).order_by(Customer.customer_code)).all()
        half = len(first) // 2
        campaign = Campaign(workspace_id=workspace_id, run_id=run_id, name=CAMPAIGN_NAME, state="exported",
                            holdout_share=0.5, seed=11, created_by="analyst", exported_by="manager",
                            exported_at=EXPORTED_AT, selection_json={"requested": len(first), "kept": len(first)})
        s.add(campaign)
        s.flush()
        batch = s.scalar(select(ImportBatch.id).where(ImportBatch.workspace_id == workspace_id).limit(1))
        groups: dict[str, list[str]] = {"treatment": [], "holdout": []}
        line = 10_000
        for i, (offer_id, customer_pk, product_pk, code, segment) in enumerate(first):
            group = "treatment" if i < half else "holdout"
            s.execute(update(Offer).where(Offer.id == offer_id).values(
                state="exported" if group == "treatment" else "approved", scenario="WINBACK", decided_by="manager"))
            s.add(CampaignOffer(campaign_id=campaign.id, offer_id=offer_id))
            s.add(CampaignMember(campaign_id=campaign.id, customer_id=customer_pk, offer_id=offer_id, group=group,
                                 segment=segment))
            position = len(groups[group])
            groups[group].append(code)
            if position < (treated_buyers if group == "treatment" else held_buyers):
                line += 1
                s.add(Transaction(workspace_id=workspace_id, batch_id=batch, line_no=line, customer_id=customer_pk,
                                  product_id=product_pk, invoice_code=f"OUT{line}", invoice_date=BOUGHT_ON,
                                  quantity=1, unit_price_minor=1500, amount_minor=1500, is_return=False))
        return campaign.id, groups
