"""Unit tests of detection: dates, numbers, delimiters, header rows, mapping synonyms."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_core.ingest import AmbiguousDates, InvalidDateFormat
from crm_core.ingest.dates import date_style, normalise_date_format, parse_dates, resolve_date_styles
from crm_core.ingest.mapping import guess_kind, header_key, header_signature, propose_mapping
from crm_core.ingest.numbers import NumberFormat, canonical_numbers, detect_number_format, product_to_minor, to_minor
from crm_core.ingest.sniff import find_header_row, sniff_delimiter


def s(*values) -> pd.Series:
    return pd.Series(list(values), dtype="string")


@pytest.mark.parametrize("values,style", [
    (("2024-01-31", "2024-02-01 10:00"), "YMD"), (("31/01/2024", "01/02/2024"), "DMY"),
    (("01/31/2024", "02/01/2024"), "MDY"), (("01/02/2024", "03/04/2024"), "AMBIGUOUS"),
    (("20240131",), "YYYYMMDD"), (("45292", "45292.5"), "EXCEL"), (("31 Jan 2024",), "TEXT"),
])
def test_date_style_is_decided_from_the_values(values, style):
    assert date_style(s(*values)) == style


def test_one_decisive_column_settles_an_ambiguous_one():
    styles = resolve_date_styles({"a": s("01/02/2024"), "b": s("25/12/2023")})
    assert styles == {"a": "DMY", "b": "DMY"}


def test_ambiguity_raises_asking_for_a_format_and_the_format_wins():
    with pytest.raises(AmbiguousDates, match="DMY .* MDY"):
        resolve_date_styles({"when": s("01/02/2024", "03/04/2024")})
    assert resolve_date_styles({"when": s("01/02/2024")}, "%m/%d/%Y") == {"when": "MDY"}
    with pytest.raises(InvalidDateFormat, match="DMY, MDY"):
        normalise_date_format("sometimes")


def test_invalid_dates_become_missing_not_shifted():
    parsed = parse_dates(s("31/02/2024", "29/02/2024", "", None, "n/a"), "DMY")
    assert parsed.tolist()[1] == pd.Timestamp("2024-02-29")
    assert parsed.isna().tolist() == [True, False, True, True, True]
    assert parsed.dtype == "datetime64[ns]"


@pytest.mark.parametrize("values,delimiter,fmt", [
    (("1.234,56", "3,5"), ";", NumberFormat(",", ".")), (("1,234.56", "3.5"), ",", NumberFormat(".", ",")),
    (("12,5",), ",", NumberFormat(",", None)), (("7", "8"), ";", NumberFormat(",", None)),
    (("7", "8"), ",", NumberFormat(".", None)),
])
def test_number_format_detection(values, delimiter, fmt):
    assert detect_number_format([s(*values)], delimiter) == fmt


def test_numbers_with_signs_currency_and_brackets_to_exact_minor_units():
    canon, bad = canonical_numbers(s("€ 1.234,50", "(3,10)", "4,20-", "x1", ""), NumberFormat(",", "."))
    assert canon.tolist()[:3] == ["1234.50", "-3.10", "-4.20"] and bad.tolist() == [False, False, False, True, False]
    assert to_minor(s("0.125", "0.135", "2.5"), 2).tolist() == [12, 14, 250]  # half to even, no float drift
    assert product_to_minor(s("3", "0.1"), s("0.1", "0.3"), 2).tolist() == [30, 3]


def test_delimiter_and_header_row():
    lines = ["Report", "", "a;b;c", "1;2,5;3", "4;5;6"]
    assert sniff_delimiter(lines) == ";"
    assert find_header_row([["Report"], [], ["a", "b", "c"], ["1", "2,5", "3"]]) == 2


def test_synonyms_in_five_languages_and_export_layouts():
    assert propose_mapping(["Kundennummer", "Rechnungsdatum", "Betrag"], "transactions") == {
        "customer_id": "Kundennummer", "invoice_date": "Rechnungsdatum", "amount": "Betrag"}
    assert propose_mapping(["cliente", "fecha", "importe"], "transactions")["amount"] == "importe"
    assert propose_mapping(["Client", "Date", "Montant"], "transactions")["amount"] == "Montant"
    assert propose_mapping(["cliente", "data", "importo"], "transactions")["invoice_date"] == "data"
    retail = propose_mapping(["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
                              "CustomerID", "Country"], "transactions")
    assert retail == {"invoice_id": "InvoiceNo", "product_id": "StockCode", "product_name": "Description",
                      "quantity": "Quantity", "invoice_date": "InvoiceDate", "unit_price": "UnitPrice",
                      "customer_id": "CustomerID"}
    assert guess_kind(["product_id", "name", "price"]) == "products"
    assert header_key("N° Client ") == "nclient"


def test_dutch_and_portuguese_exports_are_mapped_too():
    assert propose_mapping(["Klantnummer", "Factuurnummer", "Factuurdatum", "Artikelcode", "Omschrijving",
                            "Aantal", "Prijs"], "transactions") == {
        "customer_id": "Klantnummer", "invoice_id": "Factuurnummer", "invoice_date": "Factuurdatum",
        "product_id": "Artikelcode", "product_name": "Omschrijving", "quantity": "Aantal", "unit_price": "Prijs"}
    assert propose_mapping(["Código Cliente", "Número Fatura", "Data", "Descrição", "Quantidade",
                            "Valor Unitário", "Valor Total"], "transactions") == {
        "customer_id": "Código Cliente", "invoice_id": "Número Fatura", "invoice_date": "Data",
        "product_name": "Descrição", "quantity": "Quantidade", "unit_price": "Valor Unitário",
        "amount": "Valor Total"}
    assert propose_mapping(["cliente", "fecha", "monto"], "transactions")["amount"] == "monto"
    assert header_signature(["A", "b"], "transactions") == header_signature(["a", "B"], "transactions")
