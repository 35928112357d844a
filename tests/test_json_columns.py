"""Column-wise JSON: a dictionary-encoded column (products, scenarios) encodes like its decoded values."""

from __future__ import annotations

import json

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core.json_columns import json_objects

_TEXT = st.one_of(st.sampled_from(['Mug "XL"', "back\\slash", "tab\there", "line\nbreak", "\x00nul", "é", "日本", ""]),
                  st.text(max_size=8))


@settings(max_examples=200, deadline=None)
@given(st.lists(_TEXT, min_size=1, max_size=6, unique=True).flatmap(
    lambda words: st.tuples(st.just(words), st.lists(st.one_of(st.none(), st.integers(0, len(words) - 1)),
                                                     max_size=30))))
def test_dictionary_column_encodes_like_its_values(case):
    words, picks = case
    indices = pa.array(picks, pa.int32())  # None: a missing value
    encoded = pa.DictionaryArray.from_arrays(indices, pa.array(words, pa.string()))
    plain = pa.array([None if p is None else words[p] for p in picks], pa.string())
    texts = json_objects({"product": encoded, "n": pa.array(range(len(picks)), pa.int64())})
    assert texts == json_objects({"product": plain, "n": pa.array(range(len(picks)), pa.int64())})
    assert [json.loads(t)["product"] for t in texts] == [None if p is None else words[p] for p in picks]
