"""Demo worlds built once per test session (generation is deterministic, so sharing is safe)."""

from __future__ import annotations

import pytest

from crm_core.demo import generate_bank, generate_retail


@pytest.fixture(scope="session")
def retail():
    return generate_retail()


@pytest.fixture(scope="session")
def bank():
    return generate_bank()
