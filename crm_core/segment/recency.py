"""Recency scored against the shop's own buying rhythm: day bands from the median time between purchases.

A percentile of the whole base makes "recent" relative: on a shop with years of
history, a customer idle for a year can still be R5. By default R is scored in
day bands that are multiples of the shop's rhythm ``G``, the median over repeat
buyers of their mean days between purchase days::

    R5: at most 0.5 G days since the last purchase    R2: at most 4 G
    R4: at most 1 G                                   R1: more than 4 G
    R3: at most 2 G

(``[segment.rfm] recency_multiples``, rounded up to whole days, each band at
least a day wider than the one before). With fewer than
``min_rhythm_customers`` repeat buyers there is no rhythm to read, and the
percentile rule is used and said; ``recency = "percentile"`` chooses it always.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crm_core.segment.settings import RfmConfig


@dataclass(frozen=True)
class RecencyBands:
    """How R was scored in a run.

    Attributes:
        rule: ``rhythm`` (day bands) or ``percentile``.
        median_gap_days: the shop's rhythm G (None when it could not be read).
        upper_days: the largest days-since-last-purchase of R5, R4, R3 and R2 (empty for percentile).
        reason: why the percentile rule was used although the rhythm was asked for.
    """

    rule: str
    median_gap_days: float | None = None
    upper_days: tuple[int, ...] = ()
    reason: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready (run.json's ``rfm`` section)."""
        return {"recency_rule": self.rule, "median_gap_days": self.median_gap_days,
                "recency_bands_days": list(self.upper_days), "reason": self.reason}

    def labels(self) -> list[tuple[str, str]]:
        """``(score, days)`` per band, R5 first, e.g. ``("R5", "0-30 days")``; empty for the percentile rule."""
        if self.rule != "rhythm":
            return []
        out, low = [], 0
        for score, high in zip(("R5", "R4", "R3", "R2"), self.upper_days):
            out.append((score, f"{low}-{high} days"))
            low = high + 1
        out.append(("R1", f"more than {self.upper_days[-1]} days"))
        return out


def recency_bands(features: pd.DataFrame, config: RfmConfig) -> RecencyBands:
    """The day bands of the shop's rhythm (or the percentile rule, with the reason when forced).

    Args:
        features: :func:`crm_core.features.customer_features` output (``purchase_days``,
            ``mean_interpurchase_days``).
        config: ``recency``, ``recency_multiples``, ``min_rhythm_customers``.
    """
    if config.recency == "percentile":
        return RecencyBands("percentile")
    repeat = features["purchase_days"].to_numpy(dtype="int64") > 1
    if int(repeat.sum()) < config.min_rhythm_customers:
        return RecencyBands("percentile", reason=(
            f"only {int(repeat.sum())} customers bought on more than one day, too few to read the shop's buying "
            f"rhythm (at least {config.min_rhythm_customers}): recency is scored by percentile of the whole base"))
    gap = float(np.median(features["mean_interpurchase_days"].to_numpy(dtype="float64")[repeat]))
    gap = max(gap, 1.0)
    upper, previous = [], -1
    for multiple in config.recency_multiples:
        previous = max(int(np.ceil(multiple * gap - 1e-9)), previous + 1)
        upper.append(previous)
    return RecencyBands("rhythm", round(gap, 6), tuple(upper))


def recency_scores(recency_days: pd.Series, bands: RecencyBands) -> pd.Series | None:
    """R 1..5 by the day bands (None for the percentile rule: the caller scores by percentile)."""
    if bands.rule != "rhythm":
        return None
    days = recency_days.to_numpy(dtype="int64")
    above = np.searchsorted(np.asarray(bands.upper_days, dtype="int64"), days, side="left")  # bands passed
    return pd.Series(5 - above, index=recency_days.index, dtype="int64")
