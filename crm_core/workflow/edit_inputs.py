"""The audit gate's inputs for one hand-made offer: one customer and one product, nothing more.

:func:`crm_core.gate.offer_facts` needs the customer's consent at the contact
date, the product's catalogue row, the purchase history, holdings and earlier
exports. For a single offer the history that matters is the customer's own
lines (basket, purchases, last line, when they bought the product) and the
product's lines (its usual repurchase interval, its recent sales price), so
only those are read: two indexed lookups (``ix_transactions_customer``,
``ix_transactions_product``), not the workspace's ten million lines. The
frames have the columns and dtypes of :mod:`crm_core.store.frames` (money in
major units, ids as codes), restricted to these rows.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from crm_core.store.frames import CONSENT_VALUES, TX_COLUMNS, minor_factor
from crm_core.store.models import (Campaign, CampaignMember, CampaignOffer, Customer, CustomerAttribute, Holding,
                                   Offer, Product, Transaction)


def customer_lines(session: Session, workspace_id: int, customer_pk: int, product_pk: int) -> pd.DataFrame:
    """The canonical ``tx`` frame of the customer's lines and the product's lines (each line once)."""
    t, c, p = Transaction, Customer, Product
    rows = session.execute(
        select(c.customer_code, t.invoice_code, t.invoice_date, p.product_code, p.name, p.family, t.category,
               t.quantity, t.unit_price_minor, t.amount_minor, t.is_return, p.is_merchandise)
        .select_from(t).outerjoin(c, c.id == t.customer_id).outerjoin(p, p.id == t.product_id)
        .where(t.workspace_id == workspace_id, or_(t.customer_id == customer_pk, t.product_id == product_pk))
        .order_by(t.id)).all()
    factor = minor_factor(session, workspace_id)
    raw = pd.DataFrame(rows, columns=["customer_id", "invoice_id", "invoice_date", "product_id", "product_name",
                                      "family", "category", "quantity", "unit_price_minor", "amount_minor",
                                      "is_return", "is_merchandise"])
    frame = pd.DataFrame({
        "customer_id": raw["customer_id"].astype("string"),
        "invoice_id": raw["invoice_id"].astype("string"),
        "invoice_date": pd.to_datetime(raw["invoice_date"]).astype("datetime64[ns]"),
        "product_id": raw["product_id"].astype("string"),
        "product_name": raw["product_name"].astype("string"),
        "category": raw["family"].astype("string").fillna(raw["category"].astype("string")),
        "quantity": pd.to_numeric(raw["quantity"]).astype("float64"),
        "unit_price": pd.to_numeric(raw["unit_price_minor"]).astype("float64") / factor,
        "amount": pd.to_numeric(raw["amount_minor"]).astype("float64") / factor,
        "is_return": raw["is_return"].fillna(False).astype(bool),
        "is_merchandise": raw["is_merchandise"].astype("boolean").fillna(True).astype(bool),
    })
    return frame[list(TX_COLUMNS)]


def customer_at(session: Session, customer_pk: int, customer_code: str, contact_date: dt.date) -> pd.DataFrame:
    """One row: the customer's consent, do-not-contact and last contact as they stand on ``contact_date``."""
    end = dt.datetime.combine(contact_date + dt.timedelta(days=1), dt.time())
    rows = session.execute(
        select(CustomerAttribute.attribute, CustomerAttribute.value)
        .where(CustomerAttribute.customer_id == customer_pk, CustomerAttribute.effective_from < end)
        .order_by(CustomerAttribute.attribute, CustomerAttribute.effective_from, CustomerAttribute.id)).all()
    latest = {attribute: value for attribute, value in rows}  # the last one of each attribute wins
    flags = {name: CONSENT_VALUES.get(str(latest.get(name, "")).strip().lower(), pd.NA)
             for name in ("email_opt_in", "do_not_contact")}
    contacted = latest.get("last_contacted_at") or None
    return pd.DataFrame({
        "customer_id": pd.array([customer_code], dtype="string"),
        "email_opt_in": pd.array([flags["email_opt_in"]], dtype="boolean"),
        "do_not_contact": pd.array([flags["do_not_contact"]], dtype="boolean"),
        "last_contacted_at": pd.to_datetime(pd.Series([contacted], dtype="string"), format="ISO8601")
        .astype("datetime64[ns]"),
    })


def pair_holdings(session: Session, customer_pk: int, product_pk: int, codes: tuple[str, str]) -> pd.DataFrame:
    """The customer's holdings of the product (``customer_id, product_id, opened_at, closed_at``)."""
    rows = session.execute(select(Holding.opened_at, Holding.closed_at).where(
        Holding.customer_id == customer_pk, Holding.product_id == product_pk)).all()
    return pd.DataFrame({
        "customer_id": pd.array([codes[0]] * len(rows), dtype="string"),
        "product_id": pd.array([codes[1]] * len(rows), dtype="string"),
        "opened_at": pd.to_datetime(pd.Series([r[0] for r in rows], dtype=object)).astype("datetime64[ns]"),
        "closed_at": pd.to_datetime(pd.Series([r[1] for r in rows], dtype=object)).astype("datetime64[ns]"),
    })


def pair_exports(session: Session, customer_pk: int, product_pk: int, codes: tuple[str, str]) -> pd.DataFrame:
    """When the product was exported to the customer (treatment group only, as
    :func:`crm_core.store.contact_history.read_exported_offers` counts them): ``customer_id, product_id, exported_at``."""
    stamps = session.scalars(
        select(Campaign.exported_at).select_from(CampaignOffer)
        .join(Campaign, Campaign.id == CampaignOffer.campaign_id)
        .join(Offer, Offer.id == CampaignOffer.offer_id)
        .join(CampaignMember, and_(CampaignMember.campaign_id == Campaign.id,
                                   CampaignMember.customer_id == Offer.customer_id))
        .where(Offer.customer_id == customer_pk, Offer.product_id == product_pk, Campaign.exported_at.is_not(None),
               CampaignMember.group == "treatment")).all()
    exported = pd.to_datetime(pd.Series(list(stamps), dtype=object), utc=True)
    return pd.DataFrame({
        "customer_id": pd.array([codes[0]] * len(stamps), dtype="string"),
        "product_id": pd.array([codes[1]] * len(stamps), dtype="string"),
        "exported_at": exported.dt.tz_localize(None).astype("datetime64[ns]"),
    })
