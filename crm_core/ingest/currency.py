"""Which currency a file's amounts are in, from their symbols or codes (``€ 12,50``, ``12.50 CHF``, ``EUR``).

:func:`detect_currency` reads the money columns of a parsed file (amount, unit
price, price, cost, revenue, balance), a currency column when there is one
(``currency``, ``devise``, ``valuta``, ``moneda``, ``Währung``...), and the headers
of the money columns (``Amount (EUR)``, ``Preis €``). Each distinct value counts
once per currency it names; the currency named most wins. ``$`` alone is read as
USD (``CA$``/``C$`` CAD, ``A$``/``AU$`` AUD). Nothing found: None, and the
workspace's currency must be chosen, never assumed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from crm_core.ingest.mapping import header_key

MONEY_FIELDS = ("amount", "unit_price", "price", "unit_cost", "revenue", "balance")
CURRENCY_HEADERS = {"currency", "currencycode", "curr", "ccy", "devise", "monnaie", "valuta", "divisa", "moneda",
                    "wahrung", "waehrung", "wahrungscode", "munt"}
DECIMALS = {"JPY": 0, "KRW": 0, "HUF": 2, "ISK": 0, "CLP": 0}
CODES = ("EUR", "USD", "GBP", "CHF", "JPY", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "INR",
         "CNY", "BRL", "MXN", "ZAR", "SGD", "HKD", "ISK", "KRW", "TRY", "RON", "BGN", "ILS", "AED", "CLP")
_SYMBOLS = (  # longest first: "CA$" before "$"
    ("CA$", "CAD"), ("C$", "CAD"), ("AU$", "AUD"), ("A$", "AUD"), ("NZ$", "NZD"), ("US$", "USD"), ("R$", "BRL"),
    ("€", "EUR"), ("£", "GBP"), ("¥", "JPY"), ("₹", "INR"), ("zł", "PLN"), ("Kč", "CZK"), ("₺", "TRY"),
    ("₪", "ILS"), ("Fr.", "CHF"), ("$", "USD"),
)
_TOKEN = re.compile("|".join([r"(?<![A-Za-z])(?:" + "|".join(CODES) + r")(?![A-Za-z])"]
                             + [re.escape(s) for s, _ in _SYMBOLS]))
_BY_SYMBOL = dict(_SYMBOLS)
SCAN_LIMIT = 50_000  # distinct values read per column: enough to see a symbol, bounded on big files


@dataclass(frozen=True)
class CurrencyGuess:
    """A detected currency: ISO code, its usual decimals, and what it was read from.

    Attributes:
        code: ISO 4217 code, e.g. ``EUR``.
        decimals: minor-unit digits (2; 0 for JPY).
        evidence: e.g. ``"€" in Amount (1,204 values)``.
        others: other currencies also named in the file (a mixed file), most named first.
    """

    code: str
    decimals: int
    evidence: str
    others: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for the import page and report: ``EUR (from "€" in Amount (1,204 values))``."""
        mixed = f"; also {', '.join(self.others)} in some values" if self.others else ""
        return f"{self.code} (from {self.evidence}{mixed})"


def currency_decimals(code: str) -> int:
    """Minor-unit digits of a currency code (2 unless listed in :data:`DECIMALS`)."""
    return DECIMALS.get(code.upper(), 2)


def detect_currency(frame: pd.DataFrame, mapping: dict[str, str]) -> CurrencyGuess | None:
    """The currency a file's amounts are written in, or None when no symbol or code is found.

    Args:
        frame: the parsed file's text cells (:attr:`crm_core.ingest.read.ParsedTable.frame`).
        mapping: canonical field -> header (which columns hold money).
    Returns:
        A :class:`CurrencyGuess`, or None.
    """
    money = [h for f, h in mapping.items() if f in MONEY_FIELDS and h in frame.columns]
    named = [h for h in frame.columns if header_key(h) in CURRENCY_HEADERS and h not in money]
    counts: dict[str, int] = {}
    where: dict[str, tuple[str, str, int]] = {}
    for header in money + named:
        values = pd.Series(pd.unique(frame[header].to_numpy(dtype=object)[:SCAN_LIMIT * 4]), dtype="string")
        values = values[values.str.strip() != ""].head(SCAN_LIMIT)
        found = values.str.findall(_TOKEN).explode().dropna()
        for token, n in found.value_counts().items():
            code = _BY_SYMBOL.get(token, token)
            counts[code] = counts.get(code, 0) + int(n)
            if code not in where or where[code][2] < n:
                where[code] = (token, header, int(n))
    for header in money:  # "Amount (EUR)", "Preis €": weighs like one value
        for token in _TOKEN.findall(header):
            code = _BY_SYMBOL.get(token, token)
            counts[code] = counts.get(code, 0) + 1
            where.setdefault(code, (token, f"the header {header}", 0))
    if not counts:
        return None
    ranked = sorted(counts, key=lambda c: (-counts[c], c))
    best = ranked[0]
    token, header, n = where[best]
    evidence = f'"{token}" in {header}' + (f" ({n:,} values)" if n else "")
    others = tuple(c for c in ranked[1:] if counts[c] >= max(1, 0.05 * counts[best]))
    return CurrencyGuess(best, currency_decimals(best), evidence, others)
