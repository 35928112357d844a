"""The value model's notes, in words a marketer reads: edge fits, fallback rules, failures.

Every note starts with :data:`VALUE_NOTE_PREFIX` (pages pick the value model's
notes out of a run's notes by it); a note about a legitimate edge fit starts
with :data:`EDGE_NOTE_PREFIX`: it describes the shop, it is not a warning.
"""

from __future__ import annotations

VALUE_NOTE_PREFIX = "value model:"
EDGE_NOTE_PREFIX = "value model: a finding about this shop —"

_EDGE_TEXT = {
    "no_dropout": ("customers hardly ever stop buying for good (the purchase model's dropout sits at its lower "
                   "edge, a = 0). Every repeat buyer counts as still active (P(alive) = 1), so churn risk is read "
                   "as the chance of no purchase in the next {horizon} days."),
    "dropout_certain": ("customers rarely buy more than twice: the purchase model reads each repeat purchase as "
                        "most likely the last (dropout at its upper edge). Expect few purchases per customer."),
    "same_dropout": ("customers all look equally likely to stop buying after a purchase (about {dropout} per "
                     "purchase); the purchase model treats them alike on this point."),
    "all_or_nothing": ("customers either keep buying or stop right after their second purchase ({dropout} of "
                       "them), with little in between."),
    "same_rate": ("customers buy at much the same pace (about one purchase every {gap} days); the purchase "
                  "model treats them alike on this point."),
    "constant_spend": ("each customer spends about the same amount every time, so their expected spend per "
                       "purchase is their own average."),
    "same_spenders": ("customers spend much alike per purchase (about {spend:,.2f} on average), so everyone's "
                      "expected spend per purchase is that average."),
}


def value_notes(notes) -> list[str]:
    """The notes that say why CLV, expected purchases or P(alive) are missing, simplified or at an edge."""
    return [n for n in notes if str(n).startswith(VALUE_NOTE_PREFIX)]


def is_edge_note(note) -> bool:
    """True for a note that describes a legitimate edge fit (information, not a warning)."""
    return str(note).startswith(EDGE_NOTE_PREFIX)


def edge_note(edge: str, *, horizon_days: int, dropout: float | None = None, gap_days: float | None = None,
              spend: float | None = None) -> str:
    """The note for one edge code of :mod:`.bgnbd` or :mod:`.gamma_gamma`."""
    text = _EDGE_TEXT[edge].format(horizon=horizon_days, dropout=f"{(dropout or 0.0):.1%}",
                                   gap=f"{(gap_days or 0.0):,.0f}", spend=spend or 0.0)
    return f"{EDGE_NOTE_PREFIX} {text}"


def fallback_note(reason: str, rule: str) -> str:
    """The note for a purchase model that could not be fitted and the rule used instead."""
    return (f"{VALUE_NOTE_PREFIX} the purchase model (BG/NBD) could not be fitted: {reason}. CLV, P(alive) and "
            f"churn risk follow a simple rule instead, which still ranks customers: {rule}.")


def spend_fallback_note(reason: str, median: float) -> str:
    """The note for a spend model (Gamma-Gamma) that could not be fitted."""
    return (f"{VALUE_NOTE_PREFIX} spend per purchase could not be modelled (Gamma-Gamma: {reason}); CLV uses "
            f"each repeat customer's own average spend per purchase day, and the median of those "
            f"({median:,.2f}) for everyone else.")
