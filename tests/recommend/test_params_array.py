"""The offers' explanation_params column: dicts to read, JSON text inside, through pandas' usual moves."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core.json_columns import json_records
from crm_core.recommend.explain import explain
from crm_core.recommend.params_array import ParamsArray, ParamsDtype
from crm_core.recommend.settings import SCENARIOS

DICTS = [{"product": 'Mug "XL"', "times": 3, "price": 12.5, "anchor": None, "filled": False},
         {"product": "Tea\ttin", "share_pct": 40, "usual_price": None}, {}, None,
         {"product": "日本", "price": 12.0, "times": -1}]


def _frame():
    return pd.DataFrame({"k": range(len(DICTS)), "explanation_params": ParamsArray._from_sequence(DICTS)})


def test_elements_read_as_the_dicts_given():
    frame = _frame()
    assert isinstance(frame["explanation_params"].dtype, ParamsDtype)
    assert frame["explanation_params"].tolist() == DICTS
    assert frame["explanation_params"].iloc[0] == DICTS[0]
    assert frame.iloc[4]["explanation_params"] == {"product": "日本", "price": 12.0, "times": -1}
    assert isinstance(frame["explanation_params"].iloc[4]["price"], float)  # 12.0 stays a float
    assert frame["explanation_params"].isna().tolist() == [False, False, False, True, False]
    assert frame["explanation_params"].astype(object).tolist() == DICTS
    assert frame.to_dict("records")[1]["explanation_params"] == DICTS[1]


def test_pandas_moves_keep_each_dict_with_its_row():
    frame = _frame()
    assert frame.sort_values("k", ascending=False)["explanation_params"].tolist() == DICTS[::-1]
    assert frame[frame["k"] % 2 == 0]["explanation_params"].tolist() == DICTS[0::2]
    assert frame.iloc[1:3]["explanation_params"].tolist() == DICTS[1:3]
    both = pd.concat([frame, frame], ignore_index=True)
    assert both["explanation_params"].tolist() == DICTS + DICTS
    shifted = frame.reindex([4, 7, 0])  # a missing label fills with None
    assert shifted["explanation_params"].tolist() == [DICTS[4], None, DICTS[0]]
    assert frame.reset_index(drop=True).equals(frame)
    pd.testing.assert_frame_equal(frame.copy(), frame)
    assert (frame["explanation_params"] == DICTS[2]).tolist() == [False, False, True, False, False]


def test_stored_text_is_what_json_records_writes():
    array = ParamsArray._from_sequence(DICTS)
    assert array.json_texts() == [t if isinstance(d, dict) else None for t, d in zip(json_records(DICTS), DICTS)]
    assert pa.array(pd.Series(array)).to_pylist() == array.json_texts()  # to Arrow as the text


def test_out_of_bounds_positions_raise():
    with pytest.raises(IndexError):
        ParamsArray._from_sequence(DICTS).take([len(DICTS)])


_VALUE = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                   st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=10))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.dictionaries(st.sampled_from(["product", "times", "price", "x y", "é"]),
                                                     _VALUE, max_size=5)), max_size=20))
def test_any_dicts_round_trip(dicts):
    array = ParamsArray._from_sequence(dicts)
    assert list(array) == dicts
    assert [json.loads(t) if t is not None else None for t in array.json_texts()] == dicts


def test_explain_parameters_equal_the_sentence_inputs():
    o = {"kind": np.array([SCENARIOS.index("REBUY"), SCENARIOS.index("UPSELL"), SCENARIOS.index("CROSS_SELL")]),
         "primary": np.array([SCENARIOS.index("REBUY"), SCENARIOS.index("REBUY"), SCENARIOS.index("CROSS_SELL")]),
         "name": pd.Categorical(["Tea", "Big mug", "Spoon"]), "family": pd.Categorical(["tea", "mugs", None]),
         "anchor_name": pd.Categorical([None, "Mug", None]), "share": np.array([0.0, 0.25, 0.0]),
         "n": np.array([3.0, 1.0, 0.0]), "last": np.array([12.0, 40.0, np.nan]),
         "interval": np.array([30.0, np.nan, np.nan]), "window_orders": np.array([5, 7, 900]),
         "price": np.array([4.0, 19.999, 2.5]), "usual_price": np.array([np.nan, 9.5, np.nan]),
         "recency": np.array([12, 40, 3]), "frequency": np.array([3, 1, 2]), "score": np.array([0.5, 0.42, 0.1])}
    out = explain(o, window_days=90, top_n=3)
    params = out["explanation_params"].tolist()
    assert out["explanation_code"].tolist() == ["REBUY_DUE", "UPSELL_STEP_UP", "CROSS_SELL_POPULAR"]
    assert params[0] == {"product": "Tea", "times": 3, "days_since": 12, "usual_interval_days": 30,
                         "scenario": "REBUY", "primary_scenario": "REBUY", "filled": False, "match_pct": 50}
    assert params[1] == {"product": "Big mug", "family": "mugs", "price": 20.0, "usual_price": 9.5, "anchor": "Mug",
                         "share_pct": 25, "scenario": "UPSELL", "primary_scenario": "REBUY", "filled": True,
                         "match_pct": 42}
    assert params[2] == {"product": "Spoon", "window_orders": 900, "window_days": 90, "scenario": "CROSS_SELL",
                         "primary_scenario": "CROSS_SELL", "filled": False, "match_pct": 10}
    assert "filled from UPSELL" in out["explanation"].iloc[1]


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(0, 4), min_size=1, max_size=5), data=st.data())
def test_take_across_chunks_gathers_each_row_in_order(sizes, data):
    """A run's offers hold one chunk per block of customers; taking rows gathers chunk by chunk (Arrow's own
    take joins every chunk first) and must give the rows asked for, in that order, -1 filling with None."""
    rows = [DICTS[i % len(DICTS)] for i in range(sum(sizes))]
    texts = [t if isinstance(d, dict) else None for t, d in zip(json_records(rows), rows)]
    edges = np.cumsum([0, *sizes])
    chunks = [pa.array(texts[a:b], pa.large_string()) for a, b in zip(edges[:-1], edges[1:])]
    array = ParamsArray(pa.chunked_array(chunks, pa.large_string()))
    n = len(rows)
    if n:
        positions = data.draw(st.lists(st.integers(-n, n - 1), max_size=12))
        assert array.take(positions).tolist() == [rows[p] for p in positions]
    filled = data.draw(st.lists(st.integers(-1, n - 1), max_size=12))
    assert array.take(filled, allow_fill=True).tolist() == [None if p == -1 else rows[p] for p in filled]
