"""Declarative base and shared column helpers of the NextBest models."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utc_now() -> dt.datetime:
    """Current UTC time, timezone-aware."""
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    """Declarative base of every NextBest table."""


def ws_fk() -> Mapped[int]:
    """The workspace foreign key every business table carries."""
    return mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
