"""The outcomes table: what a customer did after a campaign, from an outcome file."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.store.models.base import Base
from crm_core.store.models.base import ws_fk as _ws_fk

__all__ = ["Outcome"]


class Outcome(Base):
    """What a customer did after a campaign: responded, converted, revenue."""

    __tablename__ = "outcomes"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id", ondelete="SET NULL"))
    reference: Mapped[str | None] = mapped_column(String(200))
    responded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    converted: Mapped[bool] = mapped_column(Boolean, default=False)
    revenue_minor: Mapped[int | None] = mapped_column(BigInteger)
    responded: Mapped[bool | None] = mapped_column(Boolean)  # revision 0006
