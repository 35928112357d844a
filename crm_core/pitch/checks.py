"""Checks every draft must pass before a person sends it; each failure has a stable code.

=====================  ==========================================================
code                   fails when
=====================  ==========================================================
``PITCH_NO_PRODUCT``   the subject and text do not contain the product name
                       (case and spacing ignored)
``PITCH_SMS_TOO_LONG`` an SMS is longer than 160 characters
``PITCH_PLACEHOLDER``  a placeholder is left: ``{...}``, ``[NAME]``-style
                       brackets, ``<...>``, ``XXX``, ``TODO``, ``TBD``, ``FIXME``,
                       ``%s``, ``${``, ``lorem ipsum``, a ``____`` blank
``PITCH_URL``          a link, web address (``www.``, ``shop.com``) or email address
``PITCH_PHONE``        a run of 7 or more digits (with spaces, dots, dashes, brackets)
``PITCH_PRICE``        an amount (a number with a currency sign, code or word, or
                       with two decimals) that is not the offer's price; any amount
                       when the offer has no price
``PITCH_DISCOUNT``     "% off", "-20 %", "discount", "sale", "voucher", "half price"...
                       in English, French, German, Italian, Spanish, Dutch, Portuguese
                       (offers carry no discount yet, so any mention fails)
``PITCH_OTHER_NAME``   a capitalised word that is another customer's first name
                       (from ``other_names``), or a name after a salutation ("Dear",
                       "Hi", "Bonjour", "Liebe", "Hola"...) that is not this
                       customer's first name (any name when no first name was sent;
                       generic words such as "Customer" or "Valued" are fine)
=====================  ==========================================================

The product name and family are taken out of the text before the other
checks, so "SET OF 12 PLACE CARDS" or a "GIFT VOUCHER" product cannot fail
them. The checks are patterns: they flag for a person to look, and may flag
a harmless word (a customer named "May" at the start of a sentence).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from crm_core.pitch.fields import PitchFields
from crm_core.pitch.settings import SMS_MAX_CHARS

MESSAGES = {
    "PITCH_NO_PRODUCT": "The pitch does not name the offered product '{product}'.",
    "PITCH_SMS_TOO_LONG": "The SMS is {length} characters long; at most 160 fit in one message.",
    "PITCH_PLACEHOLDER": "The pitch still holds a placeholder: '{found}'.",
    "PITCH_URL": "The pitch holds a link or address the offer does not carry: '{found}'.",
    "PITCH_PHONE": "The pitch holds a phone number the offer does not carry: '{found}'.",
    "PITCH_PRICE": "The pitch states an amount, '{found}', that is not the offer's price ({price}).",
    "PITCH_DISCOUNT": "The pitch promises a discount ('{found}') but the offer carries none.",
    "PITCH_OTHER_NAME": "The pitch names '{found}', who is not this customer.",
}


@dataclass(frozen=True)
class CheckFailure:
    """One failed check: a stable ``code`` (see MESSAGES) and its English ``message``."""

    code: str
    message: str


_PLACEHOLDER = re.compile(
    r"\{[^{}\n]{0,60}\}|\{\{|\$\{|\[[A-Z][A-Z0-9 _.-]{1,40}\]|\[[a-z][a-z_ ]{1,30}\]"
    r"|<\s*([A-Za-z_][A-Za-z_ ]{0,30})\s*>"
    r"|\b[Xx]{3,}\b|\bTODO\b|\bTBD\b|\bFIXME\b|%[sd]\b|\blorem ipsum\b|_{3,}", re.IGNORECASE)
_HTML_TAGS = {"a", "b", "i", "u", "p", "br", "hr", "em", "strong", "div", "span", "script", "style", "ul", "ol", "li",
              "img", "html", "body", "head", "table", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "small",
              "big", "center", "font", "code", "pre", "blockquote", "sup", "sub", "s", "del", "ins", "mark"}
_URL = re.compile(r"(?<![a-z0-9+.-])[a-z][a-z0-9+.-]{0,20}://\S+|\bwww\.\S+|\b(?:mailto|javascript|data):\S+"
                  r"|(?<![\w.+'-])[\w.+'-]+@[\w-]+(?:\.[\w-]+)+"
                  r"|(?<![\w.-])[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|io|co|uk|de|fr|it|es|nl|eu|info|biz|shop|store"
                  r"|ly|app)\b", re.IGNORECASE)
_DIGITS = re.compile(r"[+(]?\d[\d\s().\-/]{5,}\d")
_CURRENCY = r"(?:[€£$¥₹]|\b(?:EUR|GBP|USD|CHF|CAD|AUD|JPY|SEK|NOK|DKK|PLN|euros?|dollars?|pounds?|francs?)\b)"
_NUMBER = r"\d{1,3}(?:[ '\u00a0\u202f]\d{3})+(?:[.,]\d{1,2})?(?!\d)|\d+(?:[.,]\d+)*"
_AMOUNT = re.compile(rf"{_CURRENCY}[ \u00a0]?({_NUMBER})|(?<![\d.,])({_NUMBER})[ \u00a0]?{_CURRENCY}"
                     rf"|(?<![\d.,])(\d+[.,]\d\d)(?![\d.,]*\d)", re.IGNORECASE)
_DISCOUNT = re.compile(
    r"\d+(?:[.,]\d+)?\s*%\s*(?:off|discount|de (?:réduction|remise|descuento|desconto)|rabatt|sconto|korting)"
    r"|-\s?\d+(?:[.,]\d+)?\s*%|\bper ?cent off\b|\bdiscount(?:s|ed)?\b|\bon sale\b|\bsale\b|\bvouchers?\b"
    r"|\bcoupons?\b|\bpromo(?:tion(?:al)?)? code\b|\bsave (?:up to |\d)|\bhalf[- ]price\b|\bbuy one,? get one\b"
    r"|\bfree gift\b|\bréductions?\b|\bremises?\b|\bsoldes\b|\brabatt\w*|\bsconto\b|\bsaldi\b|\bdescuentos?\b"
    r"|\brebajas?\b|\bkorting\b|\buitverkoop\b|\bdesconto\b|\bpromoção\b", re.IGNORECASE)
_SALUTATION = re.compile(
    r"\b(?:Dear|Hi|Hello|Hey|Good (?:morning|afternoon|evening|day)|Bonjour|Salut|Cher|Chère|Hallo|Liebe|Lieber"
    r"|Sehr geehrter?|Ciao|Gentile|Caro|Cara|Hola|Estimad[oa]|Querid[oa]|Beste|Olá|Prezad[oa])"
    r"[ \t]*,?[ \t]+"
    r"(?:(?:Mr|Mrs|Ms|Miss|Dr|Frau|Herr|Monsieur|Madame|Mme|M|Signora?|Sig(?:ra)?|Señora?|Sr|Sra)\.?[ \t]+)?"
    r"([A-ZÀ-Ý][\w'-]*)")
_GENERIC = {"customer", "customers", "valued", "friend", "friends", "there", "all", "everyone", "team", "sir", "madam",
            "client", "cliente", "clients", "clienti", "clientes", "kunde", "kundin", "kunden", "amigo", "amiga",
            "amici", "ami", "amie", "shopper", "member", "members", "reader", "again", "and", "from", "it", "this",
            "we", "our", "you", "klant"}
_WORD = re.compile(r"\b[A-ZÀ-Ý][\w'-]*")


def check_pitch(text: str, *, fields: PitchFields, channel: str, subject: str | None = None,
                other_names: Iterable[str] = (), raw_text: str | None = None) -> list[CheckFailure]:
    """The failed checks of one draft, in the order of MESSAGES (empty: it passes).

    Args:
        text: the body (plain text).
        fields: the offer's PitchFields (product, family, price, first name).
        channel: ``email``, ``sms`` or ``call``.
        subject: the email subject, checked like the body.
        other_names: first names of other customers (e.g. the rest of the batch).
        raw_text: the model's text before :func:`~crm_core.pitch.prompt.as_plain_text`,
            searched for placeholders too (``<NAME>`` would otherwise vanish as a tag).
    """
    whole = f"{subject}\n{text}" if subject else text
    failures: list[CheckFailure] = []
    if _normal(fields.product_name) not in _normal(whole):
        failures.append(_fail("PITCH_NO_PRODUCT", product=fields.product_name))
    if channel == "sms" and len(text) > SMS_MAX_CHARS:
        failures.append(_fail("PITCH_SMS_TOO_LONG", length=len(text)))
    rest = _without(whole, (fields.product_name, fields.family))
    found = _placeholder(rest) or (_placeholder(_without(raw_text, (fields.product_name, fields.family)))
                                   if raw_text else None)
    if found:
        failures.append(_fail("PITCH_PLACEHOLDER", found=found))
    match = _URL.search(rest)
    if match:
        failures.append(_fail("PITCH_URL", found=match.group()))
    amounts = [m for m in _AMOUNT.finditer(rest) if not _is_price(next(g for g in m.groups() if g), fields.price)]
    rest_no_amounts = _AMOUNT.sub(" ", rest)
    phone = next((m.group() for m in _DIGITS.finditer(rest_no_amounts) if sum(c.isdigit() for c in m.group()) >= 7),
                 None)
    if phone:
        failures.append(_fail("PITCH_PHONE", found=phone.strip()))
    if amounts:
        failures.append(_fail("PITCH_PRICE", found=amounts[0].group().strip(), price=fields.price_text or "none"))
    match = _DISCOUNT.search(rest)
    if match:
        failures.append(_fail("PITCH_DISCOUNT", found=match.group()))
    name = _other_name(rest, fields.first_name, other_names)
    if name:
        failures.append(_fail("PITCH_OTHER_NAME", found=name))
    return failures


def _fail(code: str, **params) -> CheckFailure:
    return CheckFailure(code, MESSAGES[code].format(**params))


def _placeholder(text: str) -> str | None:
    """The first placeholder in ``text`` (an HTML tag such as ``<b>`` is not one), or None."""
    for match in _PLACEHOLDER.finditer(text):
        if not (match.group(1) and match.group(1).strip().lower() in _HTML_TAGS):
            return match.group()
    return None


def _normal(text: str) -> str:
    """Case-folded with runs of whitespace as one space (for finding the product name)."""
    return re.sub(r"\s+", " ", text).casefold().strip()


def _without(text: str, phrases: Iterable[str | None]) -> str:
    """``text`` with every occurrence of the phrases (case and spacing ignored) replaced by a space."""
    for phrase in sorted((p for p in phrases if p), key=len, reverse=True):
        pattern = r"\s+".join(re.escape(word) for word in phrase.split())
        text = re.sub(pattern, " ", text, flags=re.IGNORECASE)
    return text


def _is_price(number: str, price: Decimal | None) -> bool:
    """Whether some reading of ``number`` (1,234.50 / 1.234,50 / 12,5) equals ``price``."""
    return price is not None and price in _readings(number)


def _readings(number: str) -> set[Decimal]:
    digits = re.sub(r"[\s'\u00a0\u202f]", "", number)
    candidates = set()
    for decimal_mark in (".", ","):
        thousands = "," if decimal_mark == "." else "."
        head, _, tail = digits.rpartition(decimal_mark) if decimal_mark in digits else (digits, "", "")
        whole = head.replace(thousands, "") if decimal_mark in digits else digits.replace(thousands, "")
        text = f"{whole}.{tail}" if decimal_mark in digits else whole
        try:
            candidates.add(Decimal(text).quantize(Decimal("0.01")))
        except InvalidOperation:
            continue
    return candidates


def _other_name(text: str, first_name: str | None, other_names: Iterable[str]) -> str | None:
    """The first word that names someone other than this customer, or None."""
    own = (first_name or "").casefold()
    others = {n.strip().casefold() for n in other_names if n and n.strip()} - {own, ""}
    if others:
        for word in _WORD.findall(text):
            if word.casefold().removesuffix("'s") in others:
                return word
    for match in _SALUTATION.finditer(text):
        word = match.group(1)
        folded = word.casefold()
        if (folded != own and folded not in _GENERIC and not own.startswith(folded + " ")
                and not _PLACEHOLDER.fullmatch(word) and folded != "lorem"):  # a placeholder is its own failure
            return word
    return None
