"""Every file NextBest writes for a spreadsheet is formula-safe: one rule, one corpus, every writer."""

import csv
import io
import zipfile

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core.formula_safety import csv_bytes, is_risky, neutralise_text, write_workbook, xlsx_text
from tests.formula_corpus import PAYLOADS, SAFE_NUMBERS_AS_TEXT, is_formula_in_a_spreadsheet


def _csv_cells(data: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(data.decode("utf-8"), newline="")) for cell in row]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_payload_is_risky_and_neutralised(payload):
    assert is_risky(payload)
    assert neutralise_text(payload) == "'" + payload
    assert not is_formula_in_a_spreadsheet(neutralise_text(payload))


@pytest.mark.parametrize("number", SAFE_NUMBERS_AS_TEXT)
def test_plain_numbers_stay_numbers(number):
    assert neutralise_text(number) == number


def test_csv_bytes_leaves_no_formula_and_keeps_numbers():
    frame = pd.DataFrame({"text": list(PAYLOADS), "n": range(len(PAYLOADS))})
    cells = _csv_cells(csv_bytes(frame))
    assert not [c for c in cells if is_formula_in_a_spreadsheet(c)]
    assert cells[3::2][:3] == ["0", "1", "2"]  # numbers as numbers


def _formulas_in_xlsx(data: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return sum(z.read(n).count(b"<f>") + z.read(n).count(b"<f ") for n in z.namelist() if n.endswith(".xml"))


def test_workbook_cells_are_text_never_formulas():
    frame = pd.DataFrame({"text": list(PAYLOADS), "amount": [1.5] * len(PAYLOADS),
                          "day": pd.Timestamp("2026-01-02")})
    data = write_workbook({"offers": frame, "evidence": frame.head(2)})
    assert _formulas_in_xlsx(data) == 0
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["offers"]
    assert [c.value for c in sheet["A"][1:]] == [xlsx_text(p) for p in PAYLOADS]
    assert all(c.data_type == "s" for c in sheet["A"][1:])
    assert sheet["B2"].value == 1.5 and sheet["B2"].data_type == "n"
    assert book.sheetnames == ["offers", "evidence"]


_XML_SAFE = st.characters(blacklist_categories=("Cs",), blacklist_characters="".join(
    chr(c) for c in range(32) if chr(c) not in "\t\n\r"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=_XML_SAFE, max_size=40), min_size=1, max_size=200))
def test_random_strings_round_trip_through_a_workbook_exactly(values):
    data = write_workbook({"s": pd.DataFrame({"v": values})})
    assert _formulas_in_xlsx(data) == 0
    read = [c.value for c in openpyxl.load_workbook(io.BytesIO(data))["s"]["A"][1:]]
    assert [v if v is not None else "" for v in read] == [xlsx_text(v) for v in values]


def test_ten_thousand_random_strings_round_trip(tmp_path):
    import random

    rng = random.Random(20261202)
    alphabet = "=+-@\t\r\n '\"abcXYZ019,;|!(){}[]<>&éü€漢字😀 "
    values = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(10_000)]
    path = tmp_path / "round.xlsx"
    write_workbook({"s": pd.DataFrame({"v": values})}, path)
    assert _formulas_in_xlsx(path.read_bytes()) == 0
    read = list(openpyxl.load_workbook(path, read_only=True)["s"].iter_rows(min_row=2, values_only=True))
    assert [r[0] if r[0] is not None else "" for r in read] == [xlsx_text(v) for v in values]
    assert sum(v != xlsx_text(v) for v in values) > 0  # only carriage returns change (to line feeds)
    assert all(xlsx_text(v) == v.replace("\r\n", "\n").replace("\r", "\n") for v in values)


def _plain_number(value: str) -> bool:
    """A number as text (``-0``, ``+3``, ``1e5``): spreadsheets read it as that number, not a formula."""
    try:
        float(value)
    except ValueError:
        return False
    return value == value.strip() and value.lstrip("+-")[:1].isdigit() or value.lstrip("+-")[:1] == "."


@given(st.text())
def test_no_csv_text_survives_as_a_formula(value):
    out = neutralise_text(value)
    assert not is_formula_in_a_spreadsheet(out) or (out == value and _plain_number(value))


# ---------------------------------------------------------------- each writer of the product, same corpus


def test_import_issues_csv_is_safe(tmp_path):
    from crm_core.ingest.report import ImportReport

    issues = pd.DataFrame({"line": range(len(PAYLOADS)), "column": list(PAYLOADS), "severity": "rejected",
                           "code": "bad_number", "value": list(PAYLOADS), "message": list(PAYLOADS)})
    report = ImportReport(kind="transactions", source_name="f.csv", workspace="w", status="loaded", issues=issues)
    assert not [c for c in _csv_cells(report.issues_csv()) if is_formula_in_a_spreadsheet(c)]


def test_cli_run_outputs_are_safe():
    from crm_core.cli.run_output import offers_table

    offers = pd.DataFrame({"customer_id": list(PAYLOADS), "rank": 1, "product_id": list(PAYLOADS), "scenario": "REBUY",
                           "score": 0.5, "explanation": list(PAYLOADS), "gate": "PASS", "flags": ""})
    table = offers_table(offers)
    assert not [c for c in table.to_numpy().ravel() if isinstance(c, str) and is_formula_in_a_spreadsheet(c)]


def test_slipped_customers_csv_is_safe():
    from crm_core.views.run_comparison import RunComparisonView

    slipped = pd.DataFrame({"customer_id": list(PAYLOADS), "name": list(PAYLOADS), "monetary_before": 1.0})
    view = RunComparisonView(None, None, pd.DataFrame(), None, slipped, 0, 0, 0)
    assert not [c for c in _csv_cells(view.slipped_csv()) if is_formula_in_a_spreadsheet(c)]


_EDGY = st.text(alphabet=st.sampled_from(list("=+-@\t\r\n '\"aZ09.eE\u00a0\u2003\u3000\x1c\x1fé-") + ["\u2028", "\x85"]),
                max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_EDGY, st.text(max_size=8), st.none()), min_size=1, max_size=40))
def test_a_whole_column_is_neutralised_as_each_cell_alone(values):
    from crm_core.formula_safety import neutralise_formulas

    column = pd.DataFrame({"cell": pd.array(values, dtype="string")})
    out = neutralise_formulas(column)["cell"].tolist()
    expected = [None if v is None else neutralise_text(v.replace("\r\n", "\n").replace("\r", "\n"))
                if any("\r" in x for x in values if x is not None) else neutralise_text(v) for v in values]
    assert [None if pd.isna(v) else v for v in out] == expected
