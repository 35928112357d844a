"""RFM scores 1-5 and the eleven named segments.

Score = ceil(5 x percentile rank), where the percentile rank of a value is its
lowest rank among the customers over their number (``rank(method="min") / n``):
tied values always share a score, and the lowest value always scores 1, so when
most customers bought once those one-off buyers are F1 (New, Promising, Lost)
rather than lifted to the middle score by their own number.
Recency, by default, is scored in day bands of the shop's buying rhythm
(:mod:`crm_core.segment.recency`); with the percentile rule it is scored on
``-recency_days`` so that recent buyers score high.
Segments come from the grid of R against FM = (F + M) / 2 in
:mod:`crm_core.segment.settings`, the first matching box winning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crm_core.segment.recency import RecencyBands, recency_scores
from crm_core.segment.settings import SEGMENT_CODES, RfmConfig


@dataclass(frozen=True)
class SegmentText:
    """English label, one-line description and suggested action of a segment code."""

    code: str
    label: str
    description: str
    action: str


# Templates: English first; a translation is another table with the same codes.
_SEGMENT_TEXT_EN: dict[str, tuple[str, str, str]] = {
    "CHAMPIONS": ("Champions", "Bought recently, buy often and spend the most.",
                  "Reward them: early access, loyalty perks; ask for reviews and referrals."),
    "LOYAL": ("Loyal", "Buy regularly and spend well; respond to promotions.",
              "Upsell higher-value products and keep them in the loyalty programme."),
    "POTENTIAL_LOYALISTS": ("Potential Loyalists", "Recent customers with a few purchases and average spend.",
                            "Offer a membership or a personal recommendation to build the habit."),
    "NEW": ("New", "Bought for the first time very recently.",
            "Welcome them: onboarding, a helpful guide, an easy second purchase."),
    "PROMISING": ("Promising", "Recent buyers who have not spent much yet.",
                  "Build brand awareness with a small, relevant incentive."),
    "NEED_ATTENTION": ("Need Attention", "Average recency, frequency and spend; drifting.",
                       "Send a limited-time offer based on what they bought before."),
    "ABOUT_TO_SLEEP": ("About to Sleep", "Below average recency and frequency; fading away.",
                       "Reconnect with popular products and a reason to come back now."),
    "AT_RISK": ("At Risk", "Used to buy often and spend well, but not for a long time.",
                "Send a personal win-back message with a strong, relevant offer."),
    "CANT_LOSE": ("Can't Lose Them", "Were among the best customers; gone quiet for a long time.",
                  "Win them back personally: call or write, ask what changed, make it right."),
    "HIBERNATING": ("Hibernating", "Last purchase long ago, few orders, low spend.",
                    "Offer other product families and special prices; do not over-invest."),
    "LOST": ("Lost", "Lowest recency, frequency and spend.",
             "Try one reactivation campaign; otherwise stop spending on them."),
}


def segment_text(code: str) -> SegmentText:
    """The English texts of a segment code (KeyError for an unknown code)."""
    label, description, action = _SEGMENT_TEXT_EN[code]
    return SegmentText(code, label, description, action)


UNSEGMENTED = "Unsegmented"


def segment_label(code: str | None) -> str:
    """The English label of a segment code (``CANT_LOSE`` -> ``Can't Lose Them``).

    The one rule for every page, chart and file: no code -> "Unsegmented"; a code
    this version does not know (e.g. from a custom grid) -> the code humanised.
    """
    if code is None or code is pd.NA or (isinstance(code, float) and code != code) or not str(code).strip():
        return UNSEGMENTED
    if code in _SEGMENT_TEXT_EN:
        return _SEGMENT_TEXT_EN[code][0]
    return str(code).replace("_", " ").strip().capitalize()


def segment_labels(codes: pd.Series) -> pd.Series:
    """:func:`segment_label` of every code (each distinct code rendered once), as ``string``."""
    unique = pd.unique(codes.dropna())
    labels = {code: segment_label(code) for code in unique}
    return codes.map(labels).astype("string").fillna(UNSEGMENTED)


def segment_catalog() -> pd.DataFrame:
    """All segment codes with label, description and action, in a stable order."""
    rows = [segment_text(code) for code in SEGMENT_CODES]
    return pd.DataFrame(
        {
            "label": [r.label for r in rows],
            "description": [r.description for r in rows],
            "action": [r.action for r in rows],
        },
        index=pd.Index(list(SEGMENT_CODES), name="segment"),
    ).astype("string")


def score(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """Scores 1..5 = ceil(5 x percentile rank); ties share a score.

    Args:
        values: one number per customer (no missing values).
        higher_is_better: False for recency days (fewer days = higher score).
    Returns:
        int64 scores with the same index.
    """
    n = len(values)
    if n == 0:
        return pd.Series(np.array([], dtype="int64"), index=values.index)
    keyed = values if higher_is_better else -values
    rank = keyed.rank(method="min").to_numpy(dtype="int64")
    # integer arithmetic: ceil(5 * rank / n) without float rounding at the boundaries
    return pd.Series((5 * rank + n - 1) // n, index=values.index, dtype="int64")


def rfm_scores(features: pd.DataFrame, bands: RecencyBands | None = None) -> pd.DataFrame:
    """R, F and M scores of every customer.

    Args:
        features: :func:`crm_core.features.customer_features` output.
        bands: recency day bands (:func:`crm_core.segment.recency.recency_bands`); None or the
            percentile rule: R by percentile of the whole base.
    Returns:
        A frame with the same index and int64 columns ``r_score, f_score, m_score``.
    """
    by_rhythm = recency_scores(features["recency_days"], bands) if bands is not None else None
    return pd.DataFrame(
        {
            "r_score": by_rhythm if by_rhythm is not None else score(features["recency_days"],
                                                                     higher_is_better=False),
            "f_score": score(features["frequency"]),
            "m_score": score(features["monetary"]),
        },
        index=features.index,
    )


def assign_segments(scores: pd.DataFrame, config: RfmConfig) -> pd.Series:
    """Segment code of every customer from the R x FM grid (first matching box wins).

    Args:
        scores: ``r_score, f_score, m_score`` as from :func:`rfm_scores`.
        config: the grid.
    Returns:
        A string Series named ``rfm_segment`` with the same index.
    """
    # lookup table over R 1..5 x FM 1, 1.5, ..., 5, flattened: cell = 9 * (R - 1) + (F + M - 2)
    table = pd.array(
        [
            next(code for code, lo, hi, flo, fhi in config.grid if lo <= r <= hi and flo <= half / 2 <= fhi)
            for r in range(1, 6)
            for half in range(2, 11)
        ],
        dtype="string",
    )
    r = scores["r_score"].to_numpy(dtype="int64")
    cell = 9 * (r - 1) + scores["f_score"].to_numpy(dtype="int64") + scores["m_score"].to_numpy(dtype="int64") - 2
    return pd.Series(table.take(cell), index=scores.index, name="rfm_segment")
