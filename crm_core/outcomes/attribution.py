"""When a later purchase counts as a conversion: the attribution rule, its window and what "the offered product" is.

The rule, for every customer of an exported campaign, treatment and holdout alike:

* the window opens on the **export day** (the day of ``campaigns.exported_at`` in the
  workspace's time zone, since sales lines are in local business time) and covers that day
  and the ``window_days`` days after it: with the default 30, a purchase on day 0 or day 30
  counts, one on day 31 does not. The holdout group was never contacted, so it has no
  contact day of its own: it is measured from the same export day, which is what makes the
  two groups comparable;
* a customer **converted** when a sales line of theirs in the window (positive amount, not a
  return) is one of the products their campaign offers proposed, or with ``match = "family"``
  any product of those products' families (the family the engine used: the catalogue family,
  else the product's most frequent sales category, else the product itself);
* the **revenue** attributed to the customer is the net amount of those lines in the window
  (returns of them included), never below zero.

This module is the rule itself, pure; the matching runs in SQL over the store
(:mod:`crm_core.views.outcomes`), so a campaign of a million customers is counted in the
database rather than loaded into Python.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from crm_core.errors import ConfigError
from crm_core.settings_base import build_section

PRODUCT, FAMILY = "product", "family"
MATCHES = (PRODUCT, FAMILY)
MAX_WINDOW_DAYS = 366


@dataclass(frozen=True)
class AttributionRule:
    """How conversions are inferred from later sales lines (see the module docstring).

    Attributes:
        window_days: days after the export day that still count (the export day is day 0).
        match: ``product`` (the offered product itself) or ``family`` (any product of its family).
    """

    window_days: int = 30
    match: str = PRODUCT

    @classmethod
    def from_dict(cls, d: dict | None) -> "AttributionRule":
        """Build from an ``[outcomes]``-style table; unknown keys or bad values raise ConfigError."""
        return build_section(cls, "outcomes", d)

    def check(self) -> None:
        """Raise ConfigError when a value is out of range."""
        days = self.window_days
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_WINDOW_DAYS:
            raise ConfigError(f"The attribution window is a whole number of days from 0 to {MAX_WINDOW_DAYS}, "
                              f"not {days!r} (30 is usual).")
        if self.match not in MATCHES:
            raise ConfigError(f"Attribution matches the offered 'product' or its 'family', not {self.match!r}.")

    @property
    def label(self) -> str:
        """``bought the offered product within 30 days of the export``."""
        what = "the offered product" if self.match == PRODUCT else "a product of the offered product's family"
        return f"bought {what} within {self.window_days} days of the export"


def export_day(exported_at: dt.datetime, timezone: str | None) -> dt.date:
    """The calendar day of an export in the workspace's time zone.

    Args:
        exported_at: the stored export time (UTC; a naive value is taken as UTC).
        timezone: the workspace's IANA time zone (an unknown one falls back to UTC).
    """
    aware = exported_at if exported_at.tzinfo else exported_at.replace(tzinfo=dt.timezone.utc)
    try:
        zone = ZoneInfo(timezone) if timezone else dt.timezone.utc
    except (ZoneInfoNotFoundError, ValueError):
        zone = dt.timezone.utc
    return aware.astimezone(zone).date()


def attribution_window(day: dt.date, rule: AttributionRule) -> tuple[dt.datetime, dt.datetime]:
    """``(start, end)``: the local times a counted purchase lies in, ``start <= time < end``.

    ``start`` is midnight of the export day, ``end`` midnight after day ``window_days``.
    """
    start = dt.datetime.combine(day, dt.time())
    return start, start + dt.timedelta(days=rule.window_days + 1)


def day_of_window(purchase: dt.datetime | dt.date, day: dt.date) -> int:
    """Which day of the window a purchase falls on (0 = the export day; negative before it)."""
    when = purchase.date() if isinstance(purchase, dt.datetime) else purchase
    return (when - day).days


def family_keys(families: pd.Series, offered: list[int] | set[int]) -> dict[int, list[int]]:
    """The products that count for each family of an offered product, for ``match = "family"``.

    Args:
        families: family name per product key (every product of the workspace that may have
            been bought, as :func:`crm_core.views.offers.product_families` gives it).
        offered: the keys of the offered products.
    Returns:
        Family number -> the keys of that family's products (sorted), one entry per family of an
        offered product, numbered in family-name order; products of other families are absent.
    """
    names = families.astype("string")
    wanted = sorted({str(names[pk]) for pk in offered if pk in names.index and not pd.isna(names[pk])})
    out: dict[int, list[int]] = {}
    for number, name in enumerate(wanted):
        out[number] = sorted(int(pk) for pk in names.index[(names == name).fillna(False).to_numpy(bool)])
    return out
