"""Currency detection at import, and a new workspace that is never silently GBP."""

from __future__ import annotations

import pandas as pd
import pytest

from app.shell import format_money
from crm_core.auth import Actor, Role
from crm_core.errors import ValidationError
from crm_core.ingest import import_file, read_table
from crm_core.ingest.currency import detect_currency
from crm_core.services.workspaces import ensure_workspace
from crm_core.views.workspaces import get_workspace

ANALYST = Actor("ann", Role.ANALYST)


def sales(amounts: list[str], *, header: str = "Amount", extra: dict | None = None, sep: str = ",") -> bytes:
    rows = {"Customer": [f"C{i}" for i in range(len(amounts))],
            "Date": [f"2024-01-{i % 28 + 1:02d}" for i in range(len(amounts))], header: amounts, **(extra or {})}
    return pd.DataFrame(rows).to_csv(index=False, sep=sep).encode()


def detected(data: bytes, name: str = "sales.csv"):
    table = read_table((data, name), kind="transactions")
    return detect_currency(table.frame, table.mapping)


@pytest.mark.parametrize("amounts, sep, code", [
    (["12,50 €", "€ 3,00", "1.234,00 €"], ";", "EUR"),
    (["$12.50", "$3.00", "$1,234.00"], ",", "USD"),
    (["CHF 12.50", "3.00 CHF", "1'234.00 CHF"], ",", "CHF"),
    (["12.50 EUR", "3.00 EUR", "7.10 EUR"], ",", "EUR"),
    (["£12.50", "£3.00", "£7.10"], ",", "GBP"),
    (["CA$12.50", "CA$3.00", "CA$7.10"], ",", "CAD"),
    (["1200", "300", "710"], ",", None),
])
def test_currency_from_symbols_and_codes(amounts, sep, code):
    guess = detected(sales(amounts, sep=sep))
    assert (guess.code if guess else None) == code
    if guess:
        assert guess.decimals == 2 and "Amount" in guess.evidence


def test_currency_from_a_currency_column_and_from_a_header():
    assert detected(sales(["12.5", "3", "7"], extra={"Währung": ["EUR", "EUR", "EUR"]})).code == "EUR"
    table = read_table((sales(["12.5", "3", "7"], header="Amount (CHF)"), "s.csv"), kind="transactions")
    assert detect_currency(table.frame, {**table.mapping, "amount": "Amount (CHF)"}).code == "CHF"
    yen = detected(sales(["¥1200", "¥300", "¥710"]))
    assert yen.code == "JPY" and yen.decimals == 0


def test_a_mixed_file_names_the_others():
    guess = detected(sales(["12.50 EUR"] * 8 + ["3.00 USD"] * 2))
    assert guess.code == "EUR" and guess.others == ("USD",) and "also USD" in guess.describe()


def test_a_new_workspace_takes_the_detected_currency_and_the_chosen_time_zone(db):
    report = import_file(db, "Laden", (sales(["12,50 €", "3,00 €", "7,10 €"], sep=";"), "umsatz.csv"),
                         kind="transactions", actor=ANALYST, timezone="Europe/Berlin")
    ws = get_workspace(db, "Laden")
    assert (ws.currency, ws.currency_decimals, ws.timezone) == ("EUR", 2, "Europe/Berlin")
    assert report.format["currency"].startswith("EUR (from")
    assert format_money(1234.5, ws) == "€1,234.50"


def test_a_file_without_currency_makes_a_workspace_without_one_never_gbp(db):
    import_file(db, "Shop", (sales(["12.50", "3.00", "7.10"]), "s.csv"), kind="transactions", actor=ANALYST)
    ws = get_workspace(db, "Shop")
    assert ws.currency == "XXX" and ws.timezone == "UTC"
    assert format_money(1234.5, ws) == "1,234.50"
    chosen = import_file(db, "Boutique", (sales(["12.50", "3.00", "7.10"]), "b.csv"), kind="transactions",
                         actor=ANALYST, currency="CHF")
    assert get_workspace(db, "Boutique").currency == "CHF" and chosen.status == "loaded"


def test_an_existing_workspace_keeps_its_currency_and_the_report_warns(db):
    ensure_workspace(db, "UK shop", ANALYST, currency="GBP", timezone="Europe/London")
    assert get_workspace(db, "UK shop").currency == "GBP"
    report = import_file(db, "UK shop", (sales(["$12.50", "$3.00", "$7.10"]), "us.csv"), kind="transactions",
                         actor=ANALYST, currency="USD", timezone="America/New_York")
    ws = get_workspace(db, "UK shop")
    assert (ws.currency, ws.timezone) == ("GBP", "Europe/London")
    assert "look like USD" in report.message and "is in GBP" in report.message
    same = import_file(db, "UK shop", (sales(["£1.00", "£2.00", "£3.00"]), "uk.csv"), kind="transactions",
                       actor=ANALYST)
    assert "Warning" not in same.message


def test_bad_time_zones_and_currencies_are_refused(db):
    with pytest.raises(ValidationError, match="not a time zone"):
        ensure_workspace(db, "x", ANALYST, timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="not a currency code"):
        ensure_workspace(db, "x", ANALYST, currency="EURO")
