"""Fixtures of the segment tests."""

from __future__ import annotations

import pandas as pd
import pytest

from .builders import simulate_tx


@pytest.fixture(scope="session")
def simulated_tx() -> pd.DataFrame:
    """About 600 simulated customers with BG/NBD-like histories (seeded)."""
    return simulate_tx()
