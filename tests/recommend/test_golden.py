"""Golden file: the offers of the hand-built scenario world, compared cell by cell.

Regenerate on purpose only: ``NEXTBEST_REGENERATE_GOLDEN=1 pytest tests/recommend/test_golden.py``.
Scores are compared at 4 decimals (the item-item model runs in float32).
"""

import os
from pathlib import Path

import pandas as pd
import pytest

from crm_core.recommend.engine import recommend
from crm_core.recommend.settings import RecommendConfig
from tests.recommend.worlds import AS_OF

GOLDEN = Path(__file__).with_name("golden_world_offers.csv")
COLUMNS = ["customer_id", "rank", "product_id", "family", "scenario", "score", "explanation_code", "explanation"]


def _current(world) -> pd.DataFrame:
    o = recommend(world, None, None, None, as_of=AS_OF, config=RecommendConfig())[COLUMNS].copy()
    o["score"] = o["score"].round(4)
    return o


def test_offers_of_the_scenario_world_match_the_golden_file(scenario_world):
    current = _current(scenario_world)
    if os.environ.get("NEXTBEST_REGENERATE_GOLDEN"):
        current.to_csv(GOLDEN, index=False)
        pytest.fail(f"{GOLDEN.name} was regenerated on purpose: review the diff, then run the test again without "
                    "NEXTBEST_REGENERATE_GOLDEN.")
    golden = pd.read_csv(GOLDEN, dtype=str, keep_default_na=False)
    assert list(golden.columns) == COLUMNS
    text = [c for c in COLUMNS if c != "score"]
    assert current[text].astype(str).values.tolist() == golden[text].values.tolist()
    assert (current["score"].to_numpy() - golden["score"].astype(float).to_numpy()).__abs__().max() < 2e-4
