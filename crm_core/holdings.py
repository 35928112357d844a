"""When a product counts as held: the one rule for pages, clustering, offers and the audit gate.

A customer holds a product on day D when it was opened on or before D (an
unknown opening counts as long ago) and not closed by then: ``closed_at``
unknown or after D. A product closed on D is no longer held on D.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def held_mask(opened, closed, day) -> np.ndarray:
    """The rule on comparable values (dates or day numbers).

    The caller encodes an unknown opening as a value before any day and an
    unknown closing as one after any day (see :func:`held_on` for frames).
    """
    return np.asarray((opened <= day) & (closed > day), dtype=bool)


def held_on(holdings: pd.DataFrame, day) -> np.ndarray:
    """Per row of a canonical holdings frame (``opened_at``, ``closed_at``; NaT unknown): held on ``day``?"""
    day = pd.Timestamp(day)
    n = len(holdings)
    opened = pd.to_datetime(holdings["opened_at"]) if "opened_at" in holdings.columns else pd.Series(pd.NaT, index=range(n))
    closed = pd.to_datetime(holdings["closed_at"]) if "closed_at" in holdings.columns else pd.Series(pd.NaT, index=range(n))
    return held_mask(opened.fillna(pd.Timestamp.min).to_numpy(), closed.fillna(pd.Timestamp.max).to_numpy(),
                     day.to_datetime64())
