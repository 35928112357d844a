"""Hand-built databases of the offers-page tests, written directly through the models.

- :func:`build_offer_run`: one workspace, four customers, four products and a
  succeeded run whose six offers have known scores, components, segments and
  explanations (plus an older run and a newer failed run that must not show).
- :func:`build_evaluation_world`: transactions whose offline-evaluation
  baselines are worked out by hand in the docstring.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from crm_core.store.models import (Customer, ImportBatch, Offer, PipelineRun, Product, RunCustomer, Transaction,
                                   Workspace)

RUN_AS_OF = dt.date(2024, 3, 28)
RUN_CONFIG = {"recommend": {"top_n": 2, "weight_affinity": 0.5, "weight_popularity": 0.2, "weight_profit": 0.2,
                            "weight_scenario_fit": 0.1}}


@dataclass(frozen=True)
class OfferRunIds:
    workspace_id: int
    run_id: int
    old_run_id: int
    failed_run_id: int


def _popular(product: str, orders: int, filled: bool = False, primary: str = "CROSS_SELL") -> dict:
    return {"product": product, "window_orders": orders, "window_days": 90, "scenario": "CROSS_SELL",
            "primary_scenario": primary, "filled": filled, "match_pct": 0}


def build_offer_run(db) -> OfferRunIds:
    """The offers fixture (see the module docstring). Offers of the main run, best score first:

    ====  ========  ====  =======  ==========  =====  =========  ===========
    cust  product   rank  family   scenario    score  segment    profit
    ====  ========  ====  =======  ==========  =====  =========  ===========
    C1    P1        1     Kitchen  REBUY       0.91   CHAMPIONS  0.5
    C2    P2        1     Garden   CROSS_SELL  0.80   LOST       None
    C1    P3        2     Candles  CROSS_SELL  0.62   CHAMPIONS  0.4
    C3    P4        1     P4       WINBACK     0.55   CHAMPIONS  0.3
    C2    P1        2     Kitchen  UPSELL      0.40   LOST       0.2
    C4    P2        1     Garden   NURTURE     0.25   (none)     0.1
    ====  ========  ====  =======  ==========  =====  =========  ===========

    P3 has no catalog family; its transaction lines say Candles (twice) and
    Lights (once). P4 has neither: it is its own family.
    """
    with db.unit_of_work() as s:
        ws = Workspace(name="shop", kind="retail", currency="GBP", currency_decimals=2)
        s.add(ws)
        s.flush()
        batch = ImportBatch(workspace_id=ws.id, kind="transactions", source_name="t.csv", content_hash="0" * 64,
                            status="loaded", created_by="test")
        customers = [Customer(workspace_id=ws.id, customer_code=f"C{i}") for i in range(1, 5)]
        products = [Product(workspace_id=ws.id, product_code="P1", name="Teapot", family="Kitchen", in_catalog=True),
                    Product(workspace_id=ws.id, product_code="P2", name="Trowel", family="Garden", in_catalog=True),
                    Product(workspace_id=ws.id, product_code="P3", name="Candle"),
                    Product(workspace_id=ws.id, product_code="P4", name="Mystery")]
        s.add_all([batch, *customers, *products])
        s.flush()
        for line, category in enumerate(["Candles", "Lights", "Candles"]):
            s.add(Transaction(workspace_id=ws.id, batch_id=batch.id, line_no=line, customer_id=customers[0].id,
                              product_id=products[2].id, invoice_code=f"I{line}",
                              invoice_date=dt.datetime(2024, 1, 10 + line), quantity=1, unit_price_minor=500,
                              amount_minor=500, category=category))
        runs = []
        for status, config in (("succeeded", {}), ("succeeded", RUN_CONFIG), ("failed", RUN_CONFIG)):
            run = PipelineRun(workspace_id=ws.id, run_uuid=f"u{len(runs)}", status=status, as_of=RUN_AS_OF,
                              config_json=config, config_hash="c", data_hash="d", created_by="ann")
            s.add(run)
            s.flush()
            runs.append(run)
        old, main, failed = runs
        c1, c2, c3, c4 = customers
        p1, p2, p3, p4 = products
        for customer, segment in ((c1, "CHAMPIONS"), (c2, "LOST"), (c3, "CHAMPIONS")):
            s.add(RunCustomer(run_id=main.id, customer_id=customer.id, first_purchase=dt.date(2023, 1, 1),
                              last_purchase=dt.date(2024, 3, 1), recency_days=27, frequency=3, monetary_minor=9900,
                              rfm_segment=segment))
        rows = [  # customer, product, rank, scenario, score, profit, code, params
            (c1, p1, 1, "REBUY", 0.91, 0.5, "REBUY_DUE",
             {"product": "Teapot", "times": 4, "days_since": 96, "usual_interval_days": 60, "scenario": "REBUY",
              "primary_scenario": "REBUY", "filled": False, "match_pct": 91}),
            (c2, p2, 1, "CROSS_SELL", 0.80, None, "CROSS_SELL_COPURCHASE",
             {"product": "Trowel", "anchor": "Teapot", "share_pct": 38, "scenario": "CROSS_SELL",
              "primary_scenario": "CROSS_SELL", "filled": False, "match_pct": 80}),
            (c1, p3, 2, "CROSS_SELL", 0.62, 0.4, "CROSS_SELL_POPULAR", _popular("Candle", 12, True, "REBUY")),
            (c3, p4, 1, "WINBACK", 0.55, 0.3, "WINBACK_FAVOURITE",
             {"product": "Mystery", "times": 2, "days_inactive": 300, "orders": 6, "scenario": "WINBACK",
              "primary_scenario": "WINBACK", "filled": False, "match_pct": 55}),
            (c2, p1, 2, "UPSELL", 0.40, 0.2, "UPSELL_STEP_UP",
             {"product": "Teapot", "family": "Kitchen", "price": 30.0, "usual_price": 12.5, "anchor": None,
              "share_pct": 0, "scenario": "UPSELL", "primary_scenario": "CROSS_SELL", "filled": True,
              "match_pct": 40}),
            (c4, p2, 1, "NURTURE", 0.25, 0.1, "NURTURE_POPULAR",
             {"product": "Trowel", "window_orders": 7, "window_days": 90, "orders": 1, "scenario": "NURTURE",
              "primary_scenario": "NURTURE", "filled": False, "match_pct": 25}),
        ]
        for customer, product, rank, scenario, score, profit, code, params in rows:
            s.add(Offer(workspace_id=ws.id, run_id=main.id, customer_id=customer.id, product_id=product.id,
                        rank=rank, scenario=scenario, score=score,
                        components_json={"affinity": 0.9, "popularity": 0.7, "profit": profit, "scenario_fit": 1.0},
                        explanation_code=code, explanation_params_json=params, expected_revenue=round(score * 10, 2),
                        gate="PASS" if score > 0.5 else "REVIEW", flags=None if score > 0.5 else "LOW_SCORE",
                        state="pending"))
        # The older run's single offer must never show in the main run's views.
        s.add(Offer(workspace_id=ws.id, run_id=old.id, customer_id=c1.id, product_id=p4.id, rank=1, scenario="REBUY",
                    score=0.99, components_json={}, explanation_code="REBUY_REPEAT",
                    explanation_params_json={"product": "Mystery", "times": 2, "days_since": 5, "scenario": "REBUY",
                                             "primary_scenario": "REBUY", "filled": False, "match_pct": 99}))
        return OfferRunIds(ws.id, main.id, old.id, failed.id)


EVAL_CUTOFF = dt.date(2024, 6, 30)
EVAL_HORIZON = 30
EVAL_TOP_N = 2


def build_evaluation_world(db) -> int:
    """A shop whose baselines are known; returns the workspace id. N = 2, H = 30, last sale 30 Jul 2024.

    Training (up to the cutoff 30 Jun 2024 = last date - 30 days), distinct invoices
    in the 90 days up to the cutoff: D 7 (5 anonymous), A 4, B 2, E 1, so the
    bestsellers are [D, A].

    - C1: A on 3 invoices, B once; in the window buys A again.
    - C2: A once, D twice; in the window buys E (new to them).
    - C3: B once; buys nothing in the window (not eligible).
    - C4: E once; in the window buys A (new to them).

    All track: C1, C2, C4 eligible. Popularity [D, A] hits C1 and C4: 2/3;
    repeat [A, B], [D, A], [E, D] hits only C1: 1/3. Best baseline: popularity.
    New track: C2 (truth {E}) and C4 (truth {A}); the bestsellers each never
    bought, [B, E] and [D, A], hit both: 1.0.
    """
    with db.unit_of_work() as s:
        ws = Workspace(name="eval", kind="retail", currency="GBP", currency_decimals=2)
        s.add(ws)
        s.flush()
        batch = ImportBatch(workspace_id=ws.id, kind="transactions", source_name="t.csv", content_hash="1" * 64,
                            status="loaded", created_by="test")
        customers = {c: Customer(workspace_id=ws.id, customer_code=c) for c in ("C1", "C2", "C3", "C4")}
        products = {p: Product(workspace_id=ws.id, product_code=p, name=f"Product {p}", family=f"F{p}",
                               price_minor=1000, unit_cost_minor=600, in_catalog=True) for p in "ABDE"}
        s.add_all([batch, *customers.values(), *products.values()])
        s.flush()
        lines = [(None, f"X{i}", dt.date(2024, 5, 1 + 5 * i), "D") for i in range(5)]
        lines += [("C1", "a1", dt.date(2024, 4, 10), "A"), ("C1", "a2", dt.date(2024, 5, 10), "A"),
                  ("C1", "a3", dt.date(2024, 6, 10), "A"), ("C1", "a4", dt.date(2024, 6, 20), "B"),
                  ("C2", "b1", dt.date(2024, 5, 1), "A"), ("C2", "b2", dt.date(2024, 5, 15), "D"),
                  ("C2", "b3", dt.date(2024, 6, 15), "D"), ("C3", "c1", dt.date(2024, 6, 1), "B"),
                  ("C4", "d1", dt.date(2024, 6, 5), "E"),
                  ("C1", "w1", dt.date(2024, 7, 5), "A"), ("C2", "w2", dt.date(2024, 7, 10), "E"),
                  ("C4", "w3", dt.date(2024, 7, 30), "A"), (None, "w4", dt.date(2024, 7, 12), "B")]
        for line, (customer, invoice, day, product) in enumerate(lines):
            s.add(Transaction(workspace_id=ws.id, batch_id=batch.id, line_no=line + 2,
                              customer_id=customers[customer].id if customer else None,
                              product_id=products[product].id, invoice_code=invoice,
                              invoice_date=dt.datetime.combine(day, dt.time(12)), quantity=1, unit_price_minor=1000,
                              amount_minor=1000, category=f"F{product}"))
        return ws.id
