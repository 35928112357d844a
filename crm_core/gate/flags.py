"""The flag catalogue: stable codes, their severity, a plain-English title and a message template.

Codes are stored with every gated offer, so they never change meaning; the
English text is rendered from a template and the numbers behind the flag
(``{days}``, ``{price}``...), so it can be translated later without touching
the rules. Templates are rendered column-wise with Arrow (millions of offers,
one pass per flag code, no Python loop per offer).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class Severity(str, enum.Enum):
    """How bad a flag is: any ERROR blocks the offer under every policy."""

    ERROR = "ERROR"
    WARN = "WARN"
    INFO = "INFO"

    @property
    def rank(self) -> int:
        """0 for ERROR, 1 for WARN, 2 for INFO (worst first)."""
        return _RANK[self.value]


_RANK = {"ERROR": 0, "WARN": 1, "INFO": 2}
SEVERITIES = ("ERROR", "WARN", "INFO")


@dataclass(frozen=True)
class FlagSpec:
    """One flag code: its default severity, a short title and the message template.

    ``params`` names each placeholder of the template and how it is written:
    ``int`` (a whole number), ``money`` (two decimals), ``x`` (two decimals, a
    multiple), ``score`` (three decimals), ``pct`` (a 0..1 rate as a percent with
    two decimals), ``text``.
    """

    code: str
    severity: Severity
    title: str
    template: str
    params: tuple[tuple[str, str], ...] = ()


def _spec(code, severity, title, template, **params) -> FlagSpec:
    return FlagSpec(code, Severity(severity), title, template, tuple(params.items()))


# In the order the rules run; the stored `flags` text sorts codes alphabetically instead.
FLAGS: dict[str, FlagSpec] = {s.code: s for s in (
    _spec("OPTED_OUT", "ERROR", "Opted out of email",
          "The customer has opted out of email (consent valid at the contact date)."),
    _spec("DO_NOT_CONTACT", "ERROR", "Do not contact", "The customer is marked do-not-contact."),
    _spec("CONSENT_UNKNOWN", "WARN", "Consent unknown",
          "No customer file says whether the customer accepts email or may be contacted."),
    _spec("ALREADY_HELD", "ERROR", "Already held", "The customer already holds this product."),
    _spec("RECENTLY_BOUGHT", "ERROR", "Bought recently",
          "Bought this product {days} days ago, within its repurchase window of {window} days.",
          days="int", window="int"),
    _spec("PRODUCT_INACTIVE", "ERROR", "Inactive product", "The product is marked inactive in the catalogue."),
    _spec("NO_PRICE", "ERROR", "No price",
          "The product has no price: none in the catalogue and no sale in the {window} days before the as-of date.",
          window="int"),
    _spec("CONTACTED_RECENTLY", "ERROR", "Contacted recently",
          "Contacted {days} days before the contact date; the silence window is {window} days.",
          days="int", window="int"),
    _spec("RECENTLY_EXPORTED", "WARN", "Offered recently",
          "This product was exported to the customer {days} days before the contact date "
          "(no repeat within {window} days).", days="int", window="int"),
    _spec("PRICE_ABOVE_BASKET", "WARN", "Price above usual basket",
          "Price {price} is {ratio}x the customer's usual basket of {basket} (limit {limit}x).",
          price="money", ratio="x", basket="money", limit="x"),
    _spec("LOW_SCORE", "WARN", "Low score", "Offer score {score} is below {limit}.", score="score", limit="score"),
    _spec("THIN_DATA", "WARN", "Thin data",
          "Only one purchase, {days} days before the as-of date (more than {limit}).", days="int", limit="int"),
    _spec("STALE_DATA", "WARN", "Stale data",
          "The customer's last line is {days} days before the as-of date (more than {limit}).",
          days="int", limit="int"),
    _spec("LOW_MARGIN", "WARN", "Low margin", "Margin {margin} % is under the floor of {floor} %.",
          margin="pct", floor="pct"),
    _spec("PITCH_CHECK_FAILED", "WARN", "Pitch check failed",
          "The drafted pitch failed {count} check(s): {checks}.", count="int", checks="text"),
    _spec("NO_PITCH", "INFO", "No pitch yet", "No pitch has been drafted for this offer yet."),
)}
FLAG_CODES = tuple(FLAGS)


def flag_title(code: str) -> str:
    """The plain-English title of a flag code (the code itself when unknown)."""
    spec = FLAGS.get(code)
    return spec.title if spec else code


def render_template(code: str, params: dict[str, np.ndarray], n: int) -> pa.Array:
    """The messages of ``n`` fired flags of one code, from its parameter arrays (aligned, length ``n``).

    Unknown numbers (NaN, None; also absurd ones beyond 1e15) are written as ``?``.
    """
    spec = FLAGS[code]
    kinds = dict(spec.params)
    pieces: list = []
    for i, part in enumerate(_PLACEHOLDER.split(spec.template)):
        if i % 2 == 0:
            if part:
                pieces.append(part)
        else:
            pieces.append(_FORMATS[kinds[part]](params[part]))
    if not any(isinstance(p, pa.Array) for p in pieces):
        return pa.array(["".join(pieces)], pa.string()).take(pa.array(np.zeros(n, dtype=np.int32)))
    if len(pieces) == 1:
        return pieces[0].fill_null("?")
    cols = [p if isinstance(p, str) else p.fill_null("?") for p in pieces]
    return pc.binary_join_element_wise(*cols, "")


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _decimals(places: int, scale: float = 1.0):
    """A formatter writing numbers with a fixed number of decimals (null when not finite)."""

    def write(values) -> pa.Array:
        a = np.asarray(values, dtype=float) * scale
        unknown = ~(np.abs(a) < 1e15)  # NaN, infinite, or beyond any real price or day count
        units = np.rint(np.where(unknown, 0.0, a) * 10 ** places).astype(np.int64)
        sign = pa.array(np.where(units < 0, "-", ""), pa.string())
        units = np.abs(units)
        whole = pa.array(units // 10 ** places, pa.int64()).cast(pa.string())
        if places == 0:
            text = pc.binary_join_element_wise(sign, whole, "")
        else:
            frac = pc.utf8_lpad(pa.array(units % 10 ** places, pa.int64()).cast(pa.string()), places, "0")
            text = pc.binary_join_element_wise(sign, whole, ".", frac, "")
        return pc.if_else(pa.array(unknown), pa.scalar(None, pa.string()), text)

    return write


def _text(values) -> pa.Array:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.cast(pa.string())
    return pa.array(np.asarray(values, dtype=object), pa.string(), from_pandas=True)


# One decimal more than the eye needs for ratios, scores and rates: a value just past its limit must not
# print as the limit itself ("3.0x, limit 3.0x").
_FORMATS = {"int": _decimals(0), "money": _decimals(2), "x": _decimals(2), "score": _decimals(3),
            "pct": _decimals(2, 100.0), "text": _text}
