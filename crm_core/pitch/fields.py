"""The allowlist: the only offer data a pitch (and so the AI service) ever sees.

:class:`PitchFields` has exactly the allowed fields: first name (only when
the workspace allows it), segment, persona, scenario, product name and
family, price (with the workspace's currency) and the offer's reasons.
:func:`pitch_fields` reads those keys of an offer row and nothing else, so an
email, phone, address, customer id, balance, birth date or note in the row
cannot reach a request: the request body is built from ``PitchFields`` only.

Customer- and catalogue-provided text is data, and is cleaned before use:

- NFKC-normalised (full-width ``＜`` becomes ``<``), control and format
  characters (zero-width, bidi overrides, ESC...) removed, whitespace collapsed;
- personal data that was typed into a free-text field is cut out by pattern:
  emails, links, IBANs, card numbers, phone numbers (7+ digits) and street
  addresses and postcodes in common UK, US, French, German, Italian and
  Spanish spellings. Patterns catch what is written the usual way, not every
  spelling (the real protection is that address and contact fields are never
  read), and may cut a little too much: a capitalised word right after a
  5-digit number reads as a town after its postcode;
- markup characters ``< > { } [ ] ` \\`` are dropped, so a name cannot close a
  tag of the prompt, form a markdown link or look like a template placeholder;
- names are cut to ``name_max_chars``, reasons to ``reason_max_chars``.

A first name keeps letters, spaces, hyphens, apostrophes and dots only.
"""

from __future__ import annotations

import dataclasses
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from crm_core.errors import NextBestError
from crm_core.recommend.settings import SCENARIOS

# the only keys of an offer row that pitch_fields reads (segment_label before segment, reasons before explanation)
READ_KEYS = ("first_name", "segment_label", "segment", "persona", "scenario", "product_name", "family", "price",
             "reasons", "explanation")
_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}


class PitchInputError(NextBestError):
    """An offer, tone, channel or language cannot be drafted as given."""


@dataclass(frozen=True)
class PitchFields:
    """The allowlisted, cleaned data of one offer: all that a pitch may use.

    ``price`` is exact (two decimals) in the workspace's ``currency`` (ISO
    code); ``first_name`` is None unless the workspace allows sending it.
    """

    first_name: str | None
    segment: str | None
    persona: str | None
    scenario: str
    product_name: str
    family: str | None
    price: Decimal | None
    currency: str
    reasons: tuple[str, ...]

    @property
    def price_text(self) -> str | None:
        """The price as a person reads it: ``£12.50``, ``12.50 CHF``; None without a price."""
        if self.price is None:
            return None
        symbol = _SYMBOLS.get(self.currency)
        return f"{symbol}{self.price:,.2f}" if symbol else f"{self.price:,.2f} {self.currency}"

    def as_request(self) -> dict:
        """The fields as a JSON-ready dict (the data block of the prompt and of the request hash)."""
        data = dataclasses.asdict(self)
        data["price"] = None if self.price is None else f"{self.price:.2f}"
        data["reasons"] = list(self.reasons)
        return data


def pitch_fields(offer_row: Mapping, *, include_first_name: bool, currency: str, name_max_chars: int = 40,
                 reason_max_chars: int = 240, max_reasons: int = 3) -> PitchFields:
    """The allowlisted fields of one offer row, cleaned.

    Args:
        offer_row: a mapping (dict, pandas row) with some of ``READ_KEYS``:
            ``first_name``, ``segment_label`` (else ``segment``), ``persona``,
            ``scenario`` (a code of SCENARIOS), ``product_name``, ``family``,
            ``price``, ``reasons`` (a list of sentences, else the single
            ``explanation``). Other keys are never read.
        include_first_name: read the first name (the workspace's setting).
        currency: the workspace's ISO currency code, e.g. ``"EUR"``.
        name_max_chars, reason_max_chars, max_reasons: the caps of PitchConfig.
    Raises:
        PitchInputError: no known scenario, no product name left after
            cleaning, or a price that is not a number >= 0.
    """
    scenario = str(_value(offer_row, "scenario") or "").strip().upper()
    if scenario not in SCENARIOS:
        raise PitchInputError(f"The offer's scenario {scenario or 'is missing'!s}: pass one of {list(SCENARIOS)}.")
    product = clean_text(_value(offer_row, "product_name"), name_max_chars)
    if not product:
        raise PitchInputError("The offer has no product name (after cleaning): a pitch must name its product.")
    code = str(currency or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise PitchInputError(f"currency must be an ISO code such as 'EUR' or 'GBP', not {currency!r}.")
    segment = _value(offer_row, "segment_label")
    reasons = _value(offer_row, "reasons")
    if reasons is None:
        reasons = [_value(offer_row, "explanation")]
    elif isinstance(reasons, str):
        reasons = [reasons]
    cleaned = tuple(r for r in (clean_text(x, reason_max_chars) for x in list(reasons)[:max_reasons]) if r)
    return PitchFields(
        first_name=clean_name(_value(offer_row, "first_name"), name_max_chars) if include_first_name else None,
        segment=clean_text(segment if segment is not None else _value(offer_row, "segment"), name_max_chars),
        persona=clean_text(_value(offer_row, "persona"), name_max_chars),
        scenario=scenario,
        product_name=product,
        family=clean_text(_value(offer_row, "family"), name_max_chars),
        price=_price(_value(offer_row, "price")),
        currency=code,
        reasons=cleaned,
    )


_EMAIL = re.compile(r"(?<![\w.+'-])[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_LINK = re.compile(r"(?<![a-z0-9+.-])[a-z][a-z0-9+.-]{0,20}://\S*|\b(?:javascript|data|vbscript|mailto):\S*"
                   r"|\bwww\.\S+|(?<![\w.-])[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|io|co|uk|de|fr|it|es|nl|eu|info|biz"
                   r"|ly|me|app)\b(?:/\S*)?", re.IGNORECASE)
_IBAN = re.compile(r"\b[a-z]{2}\d{2}(?: ?[a-z0-9]{4}){2,7}(?: ?[a-z0-9]{1,4})?\b", re.IGNORECASE)
_DIGIT_RUN = re.compile(r"[+(]?\d[\d\s().\-/]{5,}\d")  # a phone or card number when it holds 7+ digits
_ADDRESSES = [re.compile(p, re.IGNORECASE) for p in (
    (r"\b\d{1,5}[a-z]?,?\s+(?:[\w'.-]+\s+){1,4}?(?:street|st|road|rd|avenue|ave|lane|ln|boulevard|blvd|drive|dr"
     r"|way|close|court|ct|place|pl|square|sq|terrace|crescent|highway|hwy)\b\.?"),  # 221B Baker Street
    r"\b\d{1,5}[a-z]?,?\s+(?:rue|avenue|boulevard|chemin|impasse|allée)(?:\s+[\w'.-]+){1,4}",  # 12 rue de la Paix
    (r"\b(?:rue|avenue|boulevard|chemin|impasse|via|viale|piazza|corso|calle|avenida|plaza|paseo|carrer|rua)"
     r"\s+(?:[\w'.-]+\s+){0,4}?[\w'.-]+,?\s*\d{1,5}[a-z]?\b"),  # Via Roma 12, Calle Mayor, 5
    r"(?<![\w-])[\w-]*(?:straße|strasse|str\.|weg|gasse|platz|allee|damm)\s*\d{1,4}[a-z]?\b",  # Hauptstraße 5
)] + [re.compile(p) for p in (
    r"\b[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}\b",  # UK postcode
    r"\b\d{5}(?:-\d{4})?\s+[A-ZÀ-Ý][a-zà-ÿ]+(?:-[A-ZÀ-Ý]?[a-zà-ÿ]+)?",  # 75001 Paris
    r"\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b",  # IL 62704
)]
_ZIP = re.compile(r"\b\d{5}-\d{4}\b")
_MARKUP = re.compile(r"[<>{}\[\]`\\]")
_NOT_NAME = re.compile(r"[^\w\s'.-]")


def clean_text(value, max_chars: int) -> str | None:
    """Catalogue or customer text made safe to send: see the module docstring. None when nothing is left."""
    if _blank(value):
        return None
    text = unicodedata.normalize("NFKC", str(value))
    text = "".join(" " if unicodedata.category(c) in ("Zl", "Zp") or c in "\t\n\r\v\f" else c for c in text)
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C")
    for pattern in (_EMAIL, _LINK, _IBAN):  # before digit runs: they hold digit runs of their own
        text = pattern.sub(" ", text)
    text = _DIGIT_RUN.sub(lambda m: " " if sum(c.isdigit() for c in m.group()) >= 7 else m.group(), text)
    for pattern in _ADDRESSES:  # after digit runs, so "4111 1111 1111 Savings" is not read as "1111 Savings"
        text = pattern.sub(" ", text)
    text = _ZIP.sub(" ", text)
    text = _MARKUP.sub(" ", text)
    text = re.sub(r"\(\s*[,;]?\s*\)", " ", text)  # the brackets around something cut out
    text = re.sub(r"\s+", " ", text).strip(" ,;:-/")
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = text[:max_chars].rstrip(" ,;:-/")
    return text or None


def clean_name(value, max_chars: int) -> str | None:
    """A person's first name: cleaned like any text, then letters, spaces, hyphens, apostrophes and dots only."""
    text = clean_text(value, 10 * max_chars)
    if text is None:
        return None
    text = re.sub(r"\s+", " ", _NOT_NAME.sub(" ", re.sub(r"[\d_]", "", text))).strip(" .'-")
    return text[:max_chars].rstrip(" .'-") or None


def _value(row: Mapping, key: str):
    """``row[key]`` for an allowlisted key (None when absent): the one place a row is read."""
    assert key in READ_KEYS, key
    return row.get(key)


def _blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        return bool(value != value)  # noqa: PLR0124 - NaN of numpy and other number types
    except (TypeError, ValueError):
        return True  # pandas NA


def _price(value) -> Decimal | None:
    if _blank(value) or value == "":
        return None
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        raise PitchInputError(f"The offer's price {value!r} is not a number.") from None
    if not price.is_finite() or price < 0:
        raise PitchInputError(f"The offer's price {value!r} must be a number >= 0.")
    return price.quantize(Decimal("0.01"))
