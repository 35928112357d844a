"""The purchase model's learning window: a full horizon back, or half the history when that is shorter."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from crm_core.recommend.engine import prepare
from crm_core.recommend.history import code_lines, day_number
from crm_core.recommend.learning import MIN_LEARNING_DAYS, learning_days
from crm_core.recommend.settings import RecommendConfig
from tests.recommend.shops import TRAIN_AS_OF, refill_shop

_SHOP: list = []


def _history(days: int) -> pd.DataFrame:
    """The refill shop's last ``days`` days up to the training date."""
    if not _SHOP:
        _SHOP.append(refill_shop(customers=400))
    tx = _SHOP[0]
    first = pd.Timestamp(TRAIN_AS_OF) - pd.Timedelta(days=days)
    return tx[(tx["invoice_date"] >= first) & (tx["invoice_date"] < pd.Timestamp(TRAIN_AS_OF) + pd.Timedelta(days=1))]


def _window(tx: pd.DataFrame, horizon: int = 90) -> int:
    lines = code_lines(tx, pd.Index(sorted(tx["product_id"].unique())), None)
    return learning_days(lines, day_number(TRAIN_AS_OF), horizon)


def test_two_horizons_of_history_or_more_learn_over_one_horizon():
    assert _window(_history(400)) == 90
    assert _window(_history(181)) == 90


def test_a_short_history_learns_over_its_later_half_so_that_there_is_history_before_the_window():
    assert _window(_history(120)) == 60
    assert _window(_history(91)) == 45


def test_a_very_short_history_still_learns_over_a_minimum_window():
    assert _window(_history(10)) == MIN_LEARNING_DAYS


def test_the_engine_says_when_it_learned_over_a_shorter_window():
    engine = prepare(_history(100), None, None, None, as_of=TRAIN_AS_OF, config=RecommendConfig())
    assert engine.info()["learning_days"] == 50
    assert engine.learning.start == day_number(TRAIN_AS_OF - dt.timedelta(days=50))
    assert any("learned from the last 50 days (not 90)" in note for note in engine.notes)
    long = prepare(_history(400), None, None, None, as_of=TRAIN_AS_OF, config=RecommendConfig())
    assert long.info()["learning_days"] == 90 and not any("learned from the last" in n for n in long.notes)
