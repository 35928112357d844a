"""customers.csv and offers.csv: the Arrow-built text is byte for byte what pandas' to_csv writes."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core.cli import run_output
from crm_core.cli.run_output import csv_rows, format_floats, offers_table, write_csv

# Cells that quote (comma, quote, line feed), that Python's csv writer treats by version (CR),
# spaces, non-ASCII, empty and missing.
_EDGY = st.sampled_from(["", ",", '"', '""', "\n", "\r", "\r\n", " lead", "trail ", "é", "日本", "a,b", 'say "hi"',
                         "tab\there", ";", "'quote", "=SUM(A1)", "-1.5", "nan", "None"])
_CELL = st.one_of(_EDGY, st.text(max_size=12), st.none())


def _pandas_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(rows=st.integers(2, 4).flatmap(lambda width: st.lists(st.lists(_CELL, min_size=width, max_size=width),
                                                              min_size=0, max_size=30)),
       batch=st.integers(1, 7))
def test_written_csv_is_what_pandas_writes(rows, batch):
    width = len(rows[0]) if rows else 3
    frame = pd.DataFrame(rows, columns=[f"c{i}" for i in range(width)]).astype("string")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.csv"
        write_csv(frame, path, batch_rows=batch)  # batch edges anywhere
        assert path.read_bytes() == _pandas_csv(frame)


def test_rows_are_built_by_arrow_when_no_carriage_return(monkeypatch):
    frame = pd.DataFrame({"id": ["a", "b,c", None], "text": ['say "hi"', "two\nlines", ""]}).astype("string")
    monkeypatch.setattr(run_output, "_pandas_rows", lambda f: (_ for _ in ()).throw(AssertionError("pandas used")))
    assert bytes(csv_rows(frame)) == _pandas_csv(frame).split(b"\n", 1)[1]


def test_a_column_that_is_not_text_goes_through_pandas():
    frame = pd.DataFrame({"n": [1, 2], "x": [0.5, None]})
    assert bytes(csv_rows(frame)) == b"1,0.5\n2,\n"


def _reference_floats(values: pd.Series) -> list:
    v = pd.to_numeric(values, errors="coerce").astype("float64").round(6)
    v = v.where(v != 0, 0.0)
    text = pd.Series(np.char.mod("%.6f", v.fillna(0).to_numpy()), index=v.index)
    return text.str.rstrip("0").str.rstrip(".").where(v.notna(), "").tolist()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=False, width=64),
                          st.floats(min_value=-1e9, max_value=1e9),
                          st.integers(-10**9, 10**9).map(lambda k: k / 1e6),
                          st.sampled_from([0.0, -0.0, 5e-7, -5e-7, 1.5e-6, 2.5e-6, -4e-7, 999999999.9999994,
                                           1e9, -1e9, 0.1, 0.7, 123.4567895])),
                min_size=1, max_size=60))
def test_floats_read_as_printf_does(values):
    series = pd.Series(values, dtype="float64")
    assert format_floats(series).astype(object).tolist() == _reference_floats(series)


def test_offers_table_has_the_written_columns_sorted_by_customer_and_rank():
    offers = pd.DataFrame({"customer_id": ["b", "a", "a"], "rank": [1, 2, 1], "product_id": ["p", "q", "r"],
                           "scenario": "REBUY", "score": [0.5, 0.25, 0.125], "explanation": "x",
                           "audit_score": [90, 80, 70], "gate": "PASS", "flags": "",
                           "facts": [{"a": 1}, {"a": 2}, {"a": 3}]})
    table = offers_table(offers)
    assert list(table.columns) == run_output.OFFERS_CSV_COLUMNS
    assert table[["customer_id", "rank", "product_id", "score"]].values.tolist() == [
        ["a", "1", "r", "0.125"], ["a", "2", "q", "0.25"], ["b", "1", "p", "0.5"]]
