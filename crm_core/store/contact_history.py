"""What the store knows of earlier contacts: offers exported to customers, for the gate's contact rules."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import and_, select

from crm_core.store.models import Campaign, CampaignMember, CampaignOffer, Customer, Offer, Product


def read_exported_offers(db, workspace_id: int) -> pd.DataFrame:
    """Every offer exported to a customer of the workspace (treatment group only: the holdout was not contacted).

    Returns:
        ``customer_id, product_id`` (codes, string) and ``exported_at`` (datetime64, UTC, naive),
        one row per exported offer.
    """
    stmt = (select(Customer.customer_code.label("customer_id"), Product.product_code.label("product_id"),
                   Campaign.exported_at.label("exported_at"))
            .select_from(CampaignOffer)
            .join(Campaign, Campaign.id == CampaignOffer.campaign_id)
            .join(Offer, Offer.id == CampaignOffer.offer_id)
            .join(CampaignMember, and_(CampaignMember.campaign_id == Campaign.id,
                                       CampaignMember.customer_id == Offer.customer_id))
            .join(Customer, Customer.id == Offer.customer_id)
            .join(Product, Product.id == Offer.product_id)
            .where(Campaign.workspace_id == workspace_id, Campaign.exported_at.is_not(None),
                   CampaignMember.group == "treatment"))
    with db.read() as s:
        rows = s.execute(stmt).all()
    frame = pd.DataFrame(rows, columns=["customer_id", "product_id", "exported_at"])
    for col in ("customer_id", "product_id"):
        frame[col] = frame[col].astype("string")
    stamps = pd.to_datetime(frame["exported_at"], utc=True)
    frame["exported_at"] = stamps.dt.tz_localize(None).astype("datetime64[ns]")
    return frame
