"""Hand-built campaigns for the outcome tests, written straight through the models.

A :class:`CampaignWorld` is one workspace with products (two in the family Kitchen, one in
Garden, one without a catalogue family whose sales say Toys), one pipeline run, and one
campaign exported at :data:`EXPORTED_AT`. Customers are added with their group, segment and
offered products; later sales lines with :meth:`CampaignWorld.sale`. Nothing depends on the
importer, the engine or the campaign use cases, so the figures are exactly those written here.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select

from crm_core.store.models import (Campaign, CampaignMember, CampaignOffer, Customer, ImportBatch, Offer,
                                   PipelineRun, Product, RunCustomer, Transaction, Workspace)

EXPORTED_AT = dt.datetime(2024, 3, 1, 9, 30, tzinfo=dt.timezone.utc)
EXPORT_DAY = dt.date(2024, 3, 1)
PRODUCTS = {"P1": ("Mug", "Kitchen", 1000), "P2": ("Plate", "Kitchen", 500), "P3": ("Spade", "Garden", 2000),
            "P4": ("Kite", None, 1500)}
COMPONENTS = {"affinity": 0.5, "popularity": 0.5, "profit": 0.5, "scenario_fit": 1.0}


@dataclass
class CampaignWorld:
    """One workspace, one run, one exported campaign; builders add customers and sales lines."""

    db: object
    workspace_id: int
    run_id: int
    campaign_id: int
    batch_id: int
    products: dict[str, int]
    customers: dict[str, int] = field(default_factory=dict)
    offers: dict[tuple[str, str], int] = field(default_factory=dict)
    _lines: itertools.count = field(default_factory=lambda: itertools.count(2))

    def customer(self, code: str, group: str, *, offered=("P1",), segment: str | None = "LOYAL",
                 scenario: str = "CROSS_SELL", components: dict | None = None, campaign_id: int | None = None,
                 state: str | None = None) -> int:
        """Add a customer with an offer per product of ``offered`` in the campaign, in ``group``."""
        campaign_id = campaign_id or self.campaign_id
        with self.db.unit_of_work() as s:
            pk = self.customers.get(code)
            if pk is None:
                c = Customer(workspace_id=self.workspace_id, customer_code=code)
                s.add(c)
                s.flush()
                pk = self.customers[code] = c.id
                s.add(RunCustomer(run_id=self.run_id, customer_id=pk, first_purchase=dt.date(2023, 1, 1),
                                  last_purchase=dt.date(2024, 2, 1), recency_days=29, frequency=3,
                                  monetary_minor=5000, rfm_segment=segment))
            first = None
            ranked = s.scalar(select(func.count()).select_from(Offer).where(Offer.run_id == self.run_id,
                                                                            Offer.customer_id == pk))
            for rank, product in enumerate(offered, start=ranked + 1):
                offer = Offer(workspace_id=self.workspace_id, run_id=self.run_id, customer_id=pk,
                              product_id=self.products[product], rank=rank, scenario=scenario, score=0.6,
                              components_json=dict(components or COMPONENTS), explanation_code="BESTSELLER",
                              explanation_params_json={}, gate="PASS",
                              state=state or ("exported" if group == "treatment" else "approved"))
                s.add(offer)
                s.flush()
                self.offers[(code, product)] = offer.id
                first = first or offer.id
                s.add(CampaignOffer(campaign_id=campaign_id, offer_id=offer.id))
            s.add(CampaignMember(campaign_id=campaign_id, customer_id=pk, offer_id=first, group=group,
                                 segment=segment))
        return pk

    def sale(self, code: str, product: str, when: dt.datetime | dt.date, amount: float, *,
             is_return: bool = False) -> None:
        """A sales line of ``code`` for ``product`` at local time ``when`` (amount in major units)."""
        if not isinstance(when, dt.datetime):
            when = dt.datetime.combine(when, dt.time(12, 0))
        with self.db.unit_of_work() as s:
            s.add(Transaction(workspace_id=self.workspace_id, batch_id=self.batch_id, line_no=next(self._lines),
                              customer_id=self.customers[code], product_id=self.products[product],
                              invoice_code=f"I{uuid.uuid4().hex[:10]}", invoice_date=when,
                              quantity=-1 if is_return else 1, amount_minor=round(amount * 100),
                              is_return=is_return, category="Toys" if product == "P4" else None))

    def another_campaign(self, name: str, exported_at: dt.datetime | None = EXPORTED_AT) -> int:
        """A second campaign of the same run (exported at ``exported_at``; None: still a draft)."""
        with self.db.unit_of_work() as s:
            c = Campaign(workspace_id=self.workspace_id, run_id=self.run_id, name=name,
                         state="exported" if exported_at else "draft", holdout_share=0.5, seed=1,
                         created_by="ann", exported_at=exported_at, exported_by="max" if exported_at else None)
            s.add(c)
            s.flush()
            return c.id


def build_world(db, *, timezone: str = "UTC", name: str = "shop", exported_at: dt.datetime = EXPORTED_AT,
                campaign_name: str = "Spring") -> CampaignWorld:
    """A workspace with the four products, a succeeded run and one exported campaign (no customers yet)."""
    with db.unit_of_work() as s:
        ws = Workspace(name=name, currency="GBP", currency_decimals=2, timezone=timezone)
        s.add(ws)
        s.flush()
        batch = ImportBatch(workspace_id=ws.id, kind="transactions", source_name="sales.csv", content_hash="0" * 64,
                            status="loaded", created_by="ann")
        run = PipelineRun(workspace_id=ws.id, run_uuid=str(uuid.uuid4()), status="succeeded",
                          as_of=dt.date(2024, 2, 28), config_json={}, config_hash="c" * 64, data_hash="d" * 64,
                          created_by="ann", counts_json={"customers": 0, "offers": 0},
                          quality_json={"level": "GOOD", "coverage": 0.9, "error_rate": 0.0})
        products = [Product(workspace_id=ws.id, product_code=code, name=n, family=f, price_minor=p, in_catalog=True)
                    for code, (n, f, p) in PRODUCTS.items()]
        s.add_all([batch, run, *products])
        s.flush()
        campaign = Campaign(workspace_id=ws.id, run_id=run.id, name=campaign_name, state="exported",
                            holdout_share=0.5, seed=7, created_by="ann", exported_at=exported_at, exported_by="max")
        s.add(campaign)
        s.flush()
        return CampaignWorld(db, ws.id, run.id, campaign.id, batch.id, {p.product_code: p.id for p in products})
