"""Exports never contain a cell a spreadsheet would run; CLI files follow the format contract."""

import io

import openpyxl
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from crm_core.cli.run_output import customers_table, format_floats, offers_table
from crm_core.formula_safety import neutralise_formulas, neutralise_text


def test_formula_cells_are_neutralised():
    frame = pd.DataFrame({"name": ["=HYPERLINK(\"http://x\")", "+1+1", "@SUM(A1)", "-A1", "\tcmd", "plain", "-12.5"],
                          "n": [1, 2, 3, 4, 5, 6, 7]})
    out = neutralise_formulas(frame)
    assert out["name"].tolist() == ["'=HYPERLINK(\"http://x\")", "'+1+1", "'@SUM(A1)", "'-A1", "'\tcmd", "plain", "-12.5"]
    assert out["n"].tolist() == [1, 2, 3, 4, 5, 6, 7]


def _plain_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return value.strip() == value and "n" not in value.lower() and "_" not in value  # no inf/nan, padding, 1_0


@given(st.text())
def test_no_text_survives_as_a_formula(value):
    out = neutralise_text(value)
    if _runs(value) and not _plain_number(value):
        assert out == "'" + value
    else:
        assert out == value


def _runs(value: str) -> bool:
    """A trigger character first, after any leading whitespace and quotes (what spreadsheets skip)."""
    import re

    return re.match(r"^[\s'\"]*[=+\-@\t\r\n]", value) is not None


def test_neutralised_cells_are_not_formulas_in_excel():
    out = neutralise_formulas(pd.DataFrame({"v": ["=1+1", "ok"]}))
    buf = io.BytesIO()
    out.to_excel(buf, index=False)
    ws = openpyxl.load_workbook(io.BytesIO(buf.getvalue())).active
    assert ws["A2"].data_type != "f" and ws["A2"].value == "'=1+1"


def test_float_format_is_fixed_and_clean():
    s = pd.Series([1.0, 0.1234567, -0.0, None, 1e-9, 12345.5])
    assert format_floats(s).tolist() == ["1", "0.123457", "0", "", "0", "12345.5"]


def test_customers_and_offers_tables_follow_the_contract():
    cust = pd.DataFrame({"customer_id": ["b", "a"], "first_purchase": pd.to_datetime(["2024-01-02", "2024-01-01"]),
                         "last_purchase": pd.to_datetime(["2024-02-02", "2024-03-01"]), "recency_days": [10, 3],
                         "frequency": [2, 1], "monetary": [10.5, float("nan")]}).set_index("customer_id")
    table = customers_table(cust)
    assert table["customer_id"].tolist() == ["a", "b"]
    assert table["first_purchase"].tolist() == ["2024-01-01", "2024-01-02"]
    assert table.loc[0, "monetary"] == "" and table.loc[1, "monetary"] == "10.5"
    offers = pd.DataFrame({"customer_id": ["b", "a", "a"], "rank": [1, 2, 1], "product_id": ["=X", "P2", "P1"],
                           "scenario": ["REBUY"] * 3, "score": [0.5, 0.25, 0.75], "explanation": ["e"] * 3,
                           "gate": ["UNGATED"] * 3, "flags": [""] * 3})
    ot = offers_table(offers)
    assert list(zip(ot.customer_id, ot["rank"])) == [("a", "1"), ("a", "2"), ("b", "1")]
    assert ot.loc[2, "product_id"] == "'=X"
    assert ot["audit_score"].tolist() == ["", "", ""]
