"""A tiny workspace with hand-written runs, for exact tests of crm_core.views.runs and crm_core.views.customer.

Written straight through the models, so every expected number is known:

- workspace ``shop`` (GBP, 2 decimals) with customers C1..C4 (C4 named
  ``=HYPERLINK(...)``, to test CSV safety) and an empty workspace ``other``;
- run A (as of 2024-01-31): C1 Champions/cluster 1, C2 Loyal/1, C3 At Risk/2,
  C4 Lost/2; run B (as of 2024-03-31): C1 At Risk/1, C2 Loyal/1, C3 At Risk/2,
  C4 Can't Lose/2, so only C1 slipped (C4 was Lost, not valuable); run C failed;
- C1's consent changes on 2024-02-15 (between the runs); C1 has a purchase
  after run A's date and a closed and an open holding.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from crm_core.store.models import (Customer, CustomerAttribute, Holding, ImportBatch, PipelineRun, Product, RunCluster,
                                   RunCustomer, Transaction, Workspace)

UTC = dt.timezone.utc


@dataclass(frozen=True)
class StoredRuns:
    shop_id: int
    other_id: int
    run_a: int
    run_b: int
    run_failed: int


def _customer_rows(run_id: int, pks: dict, rows: list[tuple]) -> list[RunCustomer]:
    out = []
    for code, seg, cluster, money_minor, clv, p_alive, risk, churn in rows:
        out.append(RunCustomer(run_id=run_id, customer_id=pks[code], first_purchase=dt.date(2023, 1, 10),
                               last_purchase=dt.date(2024, 1, 20), recency_days=11, frequency=4,
                               monetary_minor=money_minor, r_score=5, f_score=3, m_score=4, rfm_segment=seg,
                               cluster=cluster, expected_purchases=None if clv is None else 1.5, clv=clv,
                               p_alive=p_alive, churn_risk=risk, features_json={"tenure_days": 375.0,
                                                                                "churn_score": churn}))
    return out


def build(db) -> StoredRuns:
    """Write the workspace and its runs into the migrated database ``db``."""
    with db.unit_of_work() as s:
        shop = Workspace(name="shop", currency="GBP", currency_decimals=2)
        other = Workspace(name="other", currency="EUR", currency_decimals=2)
        s.add_all([shop, other])
        s.flush()
        batch = ImportBatch(workspace_id=shop.id, kind="transactions", source_name="x.csv", content_hash="0" * 64,
                            status="loaded", created_by="ann")
        names = {"C1": ("Ada", "North", "ada@example.com"), "C2": ("Bob", "South", None),
                 "C3": ("Cy", None, None), "C4": ("=HYPERLINK(\"http://x\")", "North", None)}
        customers = {code: Customer(workspace_id=shop.id, customer_code=code, first_name=first, last_name="Smith",
                                    region=region, email=email, city="Leeds" if code == "C1" else None)
                     for code, (first, region, email) in names.items()}
        product = Product(workspace_id=shop.id, product_code="P1", name="Kettle", family="Kitchen", price_minor=2500)
        saver = Product(workspace_id=shop.id, product_code="SAV", name="Saver", family="Savings")
        s.add_all([batch, product, saver, *customers.values()])
        s.flush()
        pks = {code: c.id for code, c in customers.items()}
        for day, amount, is_return in ((dt.datetime(2024, 1, 5, 10), 5000, False),
                                       (dt.datetime(2024, 1, 6, 11), -2500, True),
                                       (dt.datetime(2024, 3, 1, 9), 7500, False)):
            s.add(Transaction(workspace_id=shop.id, batch_id=batch.id, line_no=1, customer_id=pks["C1"],
                              product_id=product.id, invoice_code=f"I{day:%m%d}", invoice_date=day,
                              quantity=-1 if is_return else 2, unit_price_minor=2500, amount_minor=amount,
                              is_return=is_return))
        for attribute, value, when in (("email_opt_in", "true", dt.datetime(2023, 6, 1)),
                                       ("email_opt_in", "false", dt.datetime(2024, 2, 15)),
                                       ("do_not_contact", "false", dt.datetime(2023, 6, 1)),
                                       ("last_contacted_at", "2024-01-15T09:00:00", dt.datetime(2024, 1, 15))):
            s.add(CustomerAttribute(workspace_id=shop.id, customer_id=pks["C1"], attribute=attribute, value=value,
                                    effective_from=when))
        s.add_all([Holding(workspace_id=shop.id, customer_id=pks["C1"], product_id=saver.id,
                           opened_at=dt.date(2022, 1, 1), closed_at=dt.date(2024, 3, 1), balance_minor=100_000),
                   Holding(workspace_id=shop.id, customer_id=pks["C1"], product_id=product.id,
                           opened_at=dt.date(2023, 5, 1), closed_at=None, balance_minor=None)])
        runs = []
        for as_of, minute, status in ((dt.date(2024, 1, 31), 0, "succeeded"), (dt.date(2024, 3, 31), 5, "succeeded"),
                                      (dt.date(2024, 3, 31), 9, "failed")):
            started = dt.datetime(2024, 4, 1, 8, minute, tzinfo=UTC)
            done = status == "succeeded"
            run = PipelineRun(
                workspace_id=shop.id, run_uuid=f"00000000-0000-0000-0000-00000000000{minute}", status=status,
                as_of=as_of, config_json={}, config_hash="c" * 64, data_hash=f"{minute}" * 64, created_by="ann",
                started_at=started, finished_at=started + dt.timedelta(seconds=12.5),
                counts_json={"customers": 4, "offers": 0, "clusters": 2, "transactions": 3} if done else None,
                stage_timings_json={"load": 0.5, "segments": 2.25} if done else None,
                params_json={"clustering": {"method": "kmeans", "k": 2},
                             "notes": ["value model: only 3 repeat customers"]} if done else None,
                error=None if done else "The run failed in its segments stage: boom")
            s.add(run)
            s.flush()
            runs.append(run.id)
        a, b, failed = runs
        s.add_all(_customer_rows(a, pks, [("C1", "CHAMPIONS", 1, 12345, 300.0, 0.9, "low", 0.1),
                                          ("C2", "LOYAL", 1, 8000, 200.0, 0.8, "low", 0.2),
                                          ("C3", "AT_RISK", 2, 5000, None, None, None, None),
                                          ("C4", "LOST", 2, 100, 5.0, 0.2, "high", 0.8)]))
        s.add_all(_customer_rows(b, pks, [("C1", "AT_RISK", 1, 12345, 50.0, 0.4, "medium", 0.6),
                                          ("C2", "LOYAL", 1, 9000, 210.0, 0.8, "low", 0.2),
                                          ("C3", "AT_RISK", 2, 5000, None, None, None, None),
                                          ("C4", "CANT_LOSE", 2, 100, 5.0, 0.2, "high", 0.8)]))
        for run_id in (a, b):
            s.add_all([RunCluster(run_id=run_id, cluster=1, size=2, persona_code="LOYALISTS",
                                  persona_name="Loyalists", description="Buy often.",
                                  profile_json={"share": 0.5, "median_monetary": 101.725, "median_frequency": 4.0}),
                       RunCluster(run_id=run_id, cluster=2, size=2, persona_code="LAPSED", persona_name="Lapsed",
                                  description="Gone quiet.", profile_json={"share": 0.5, "median_monetary": 25.5})])
        return StoredRuns(shop.id, other.id, a, b, failed)
