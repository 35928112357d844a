"""Hand-built frames for the audit gate tests: one clean customer, changed one fact at a time.

The baseline world: customer C1 (email opt-in, not do-not-contact, last
contacted 100 days ago) bought MUG twice (100 and 60 days before as-of, 30.00
each: basket 30.00, two purchases); C9 bought LAMP 10 days ago at 20.00. The
catalogue prices LAMP at 25.00 (cost 10.00) and MUG at 30.00. The offer is
LAMP to C1 as a CROSS_SELL with score 0.5: its only flag is NO_PITCH.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from crm_core.gate import GateConfig, gate_offers, offer_facts
from tests.recommend.worlds import make_tx

AS_OF = dt.date(2024, 6, 30)


def ago(days: int, base: dt.date = AS_OF) -> dt.date:
    return base - dt.timedelta(days=days)


def offers_frame(*rows) -> pd.DataFrame:
    """Offers from (customer_id, product_id[, scenario[, score]]) tuples, ranked in order per customer."""
    recs, rank = [], {}
    for r in rows:
        cust, product = r[0], r[1]
        rank[cust] = rank.get(cust, 0) + 1
        recs.append({"customer_id": cust, "rank": rank[cust], "product_id": product, "family": f"F-{product}",
                     "scenario": r[2] if len(r) > 2 else "CROSS_SELL", "score": r[3] if len(r) > 3 else 0.5,
                     "expected_revenue": 1.0})
    o = pd.DataFrame(recs)
    for col in ("customer_id", "product_id", "family", "scenario"):
        o[col] = o[col].astype("string")
    return o


def customers_frame(rows: dict) -> pd.DataFrame:
    """Customers resolved at a date from {id: (email_opt_in, do_not_contact, last_contacted_at)} (None = unknown)."""
    ids = list(rows)
    return pd.DataFrame({
        "customer_id": pd.array(ids, dtype="string"),
        "email_opt_in": pd.array([rows[i][0] for i in ids], dtype="boolean"),
        "do_not_contact": pd.array([rows[i][1] for i in ids], dtype="boolean"),
        "last_contacted_at": pd.to_datetime(pd.Series([rows[i][2] for i in ids], dtype=object))
        .astype("datetime64[ns]"),
    })


def products_frame(rows: dict) -> pd.DataFrame:
    """Products from {id: dict(price=..., unit_cost=..., margin_rate=..., active=...)} (missing keys unknown)."""
    recs = [{"product_id": pid, "name": pid.title(), "family": f"F-{pid}", "price": v.get("price"),
             "unit_cost": v.get("unit_cost"), "margin_rate": v.get("margin_rate"), "active": v.get("active", True),
             "is_merchandise": True, "in_catalog": True} for pid, v in rows.items()]
    p = pd.DataFrame(recs)
    p["product_id"] = p["product_id"].astype("string")
    for col in ("price", "unit_cost", "margin_rate"):
        p[col] = pd.to_numeric(p[col]).astype("float64")
    p["active"] = p["active"].astype(bool)
    return p


def pairs_frame(rows, **dates) -> pd.DataFrame:
    """A frame of (customer_id, product_id, *date columns) rows; ``dates`` names the date columns in order."""
    names = list(dates) if dates else []
    frame = pd.DataFrame(rows, columns=["customer_id", "product_id", *names])
    for col in ("customer_id", "product_id"):
        frame[col] = frame[col].astype("string")
    for col in names:
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
    return frame


BASE_TX = [("C1", "i1", ago(100), "MUG", 30.0, "Kitchen"), ("C1", "i2", ago(60), "MUG", 30.0, "Kitchen"),
           ("C9", "i9", ago(10), "LAMP", 20.0, "Lighting")]
BASE_CUSTOMERS = {"C1": (True, False, ago(100)), "C9": (True, False, None)}
BASE_PRODUCTS = {"LAMP": {"price": 25.0, "unit_cost": 10.0}, "MUG": {"price": 30.0, "unit_cost": 12.0}}


def gate_world(offers=None, *, tx_rows=None, extra_tx=(), customers="base", products="base", holdings=None,
               exports=None, pitches=None, as_of=AS_OF, contact_date=None, config=None, policy=None):
    """Facts and gated offers of the baseline world with the given changes; returns (facts, gated)."""
    offers = offers if offers is not None else offers_frame(("C1", "LAMP"))
    tx = make_tx(list(tx_rows if tx_rows is not None else BASE_TX) + list(extra_tx))
    customers = customers_frame(BASE_CUSTOMERS) if isinstance(customers, str) else customers
    products = products_frame(BASE_PRODUCTS) if isinstance(products, str) else products
    config = config or GateConfig()
    facts = offer_facts(offers, customers=customers, products=products, transactions=tx, holdings=holdings,
                        previous_exports=exports, pitches=pitches, as_of=as_of,
                        contact_date=contact_date or as_of, config=config)
    return facts, gate_offers(offers, facts, config, policy)


def flags_of(gated: pd.DataFrame, i: int = 0) -> list[str]:
    text = gated["flags"].iloc[i]
    return text.split(";") if text else []


def details_of(gated: pd.DataFrame, i: int = 0) -> dict[str, dict]:
    return {d["code"]: d for d in gated["flag_details"].iloc[i]}
