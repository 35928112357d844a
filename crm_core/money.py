"""The money convention: exact integer minor units in the store, float major units in frames.

A workspace has one currency with ``currency_decimals`` decimals (2 for GBP
or EUR, 0 for JPY); an amount of 12.34 GBP is stored as 1234. Stored
amounts (``*_minor`` columns) are always exact. Predictions that are money
(CLV, expected revenue of an offer) are estimates, not amounts anyone paid:
they are stored as floats in major units, rounded to 6 decimals like every
float the CLI writes, and shown rounded to the currency's decimals.
"""

from __future__ import annotations

DEFAULT_DECIMALS = 2


def minor_per_major(decimals: int | None) -> int:
    """How many minor units make one major unit (100 for 2 decimals; 2 when unknown)."""
    return 10 ** (DEFAULT_DECIMALS if decimals is None else int(decimals))
