"""Fallback pitches: one text per scenario x tone x channel, filled from the same PitchFields.

Used when the AI service is off, has no key, or fails. Deterministic: the
same fields give the same text. Every text names the product; an SMS is
assembled from the longest form that fits 160 characters (greeting + lead +
price, then lead + price, then the lead alone, which fits with a 40-character
product name). Templates exist in English; another language falls back to
English and the draft says so (``Draft.language``).

No template holds a link, phone number, discount or placeholder: the checks
of :mod:`crm_core.pitch.checks` hold for every one (a test runs them all).
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_core.pitch.fields import PitchFields
from crm_core.pitch.settings import SMS_MAX_CHARS

TEMPLATE_LANGUAGES = ("en",)

_LEAD = {
    "REBUY": {
        "formal": "It may be time to restock {product}.",
        "friendly": "Running low on {product}? It might be time for a top-up.",
        "concise": "Time to restock {product}?",
        "enthusiastic": "Your favourite {product} is ready for a refill!",
    },
    "CROSS_SELL": {
        "formal": "We believe {product} would complement your recent purchases.",
        "friendly": "We think you would love {product} alongside what you already have.",
        "concise": "{product} goes well with your recent picks.",
        "enthusiastic": "Meet {product}, the perfect match for your recent picks!",
    },
    "UPSELL": {
        "formal": "You may appreciate {product}, a step up in its range.",
        "friendly": "Fancy an upgrade? {product} is a step up from your usual.",
        "concise": "Upgrade to {product}.",
        "enthusiastic": "Treat yourself to {product}, a real step up!",
    },
    "WINBACK": {
        "formal": "We have missed you, and we would like to suggest {product}.",
        "friendly": "It has been a while! We thought of you when we saw {product}.",
        "concise": "We miss you. Take a look at {product}.",
        "enthusiastic": "We have missed you! Come back for {product}!",
    },
    "NURTURE": {
        "formal": "As a valued new customer, you may be interested in {product}.",
        "friendly": "Thanks for shopping with us! You might like {product}.",
        "concise": "You might like {product}.",
        "enthusiastic": "Welcome aboard! You are going to love {product}!",
    },
}
_SUBJECT = {
    "REBUY": {"formal": "Time to restock {product}", "friendly": "Running low on {product}?",
              "concise": "Restock {product}", "enthusiastic": "Your {product} refill is ready!"},
    "CROSS_SELL": {"formal": "A suggestion for you: {product}", "friendly": "We think you will like {product}",
                   "concise": "{product} for you", "enthusiastic": "Your perfect match: {product}!"},
    "UPSELL": {"formal": "Consider {product}", "friendly": "Fancy an upgrade? Try {product}",
               "concise": "Upgrade: {product}", "enthusiastic": "Step up to {product}!"},
    "WINBACK": {"formal": "We would like to welcome you back", "friendly": "We have missed you: {product}",
                "concise": "Back for {product}?", "enthusiastic": "Come back for {product}!"},
    "NURTURE": {"formal": "A recommendation for you: {product}", "friendly": "Something you might like: {product}",
                "concise": "For you: {product}", "enthusiastic": "You will love {product}!"},
}
_WHY = {
    "REBUY": "You have bought it before, so we wanted to make sure you do not run out.",
    "CROSS_SELL": "Customers who shop like you often choose it{family}.",
    "UPSELL": "It is a popular choice{family}.",
    "WINBACK": "It is one of our most popular products{family}.",
    "NURTURE": "It is a favourite with customers who shop like you{family}.",
}
_GREETING = {  # (with a first name, without)
    "formal": ("Dear {name},", "Dear customer,"),
    "friendly": ("Hi {name},", "Hi there,"),
    "concise": ("{name},", "Hello,"),
    "enthusiastic": ("Hi {name}!", "Hello!"),
}
_SMS_GREETING = {"formal": "Dear {name}, ", "friendly": "Hi {name}! ", "concise": "{name}: ",
                 "enthusiastic": "Hi {name}! "}
_PRICE = {"formal": "It is available for {price}.", "friendly": "It is {price}.", "concise": "{price}.",
          "enthusiastic": "All for {price}!"}
_CTA = {
    "formal": "Simply reply to this email if you would like to know more.",
    "friendly": "Just reply to this email if you have any questions.",
    "concise": "Reply to learn more.",
    "enthusiastic": "Reply to this email and we will set it aside for you!",
}
_CLOSING = {"formal": "Kind regards,", "friendly": "Best wishes,", "concise": "Thanks,", "enthusiastic": "Cheers,"}
_CALL_OPEN = {
    "formal": ("Good day, {name}. I am calling from the customer team.",
               "Good day. I am calling from the customer team."),
    "friendly": ("Hi {name}, it is the customer team here. Have you got a minute?",
                 "Hi, it is the customer team here. Have you got a minute?"),
    "concise": ("Hello {name}, customer team here, one quick thing.", "Hello, customer team here, one quick thing."),
    "enthusiastic": ("Hi {name}! Great to speak to you, it is the customer team.",
                     "Hi! Great to speak to you, it is the customer team."),
}
_CALL_ASK = {
    "formal": "Would you like me to tell you more about {product}?",
    "friendly": "Would you like to hear a bit more about {product}?",
    "concise": "Shall I tell you more about {product}?",
    "enthusiastic": "Can I tell you all about {product}?",
}


@dataclass(frozen=True)
class TemplateText:
    """A filled template: ``subject`` for email only, and the language it is written in."""

    subject: str | None
    body: str
    language: str


def render_template(fields: PitchFields, *, tone: str, channel: str, language: str = "en") -> TemplateText:
    """The fallback text of ``fields.scenario`` in ``tone`` for ``channel`` (email, sms or call).

    ``language`` picks the template set; languages without one get English
    (the returned ``language`` says which was used). Tone and channel are
    assumed valid (:func:`crm_core.pitch.drafting.draft_pitch` checks them).
    """
    used = language if language in TEMPLATE_LANGUAGES else "en"
    family = f" from our {fields.family} range" if fields.family and fields.family != fields.product_name else ""
    values = {"product": fields.product_name, "name": fields.first_name or "", "price": fields.price_text or "",
              "family": family}
    lead = _LEAD[fields.scenario][tone].format(**values)
    price = _PRICE[tone].format(**values) if fields.price_text else ""
    if channel == "sms":
        return TemplateText(None, _sms(fields, tone, lead, price), used)
    why = _WHY[fields.scenario].format(**values)
    named = 0 if fields.first_name else 1
    if channel == "email":
        greeting = _GREETING[tone][named].format(**values)
        body = "\n\n".join([greeting, " ".join(p for p in (lead, why, price) if p), _CTA[tone],
                            f"{_CLOSING[tone]}\nThe customer team"])
        return TemplateText(_SUBJECT[fields.scenario][tone].format(**values), body, used)
    offer = f"{fields.product_name}, at {fields.price_text}." if fields.price_text else f"{fields.product_name}."
    lines = [f"Opening: {_CALL_OPEN[tone][named].format(**values)}",
             f"Reason for the call: {lead} {why}",
             f"Offer: {offer}",
             f"Question: {_CALL_ASK[tone].format(**values)}",
             "If yes: thank them, note their interest and agree on the next step.",
             "If no: thank them for their time and end the call politely."]
    return TemplateText(None, "\n".join(lines), used)


def _sms(fields: PitchFields, tone: str, lead: str, price: str) -> str:
    """The longest SMS form that fits SMS_MAX_CHARS."""
    greeting = _SMS_GREETING[tone].format(name=fields.first_name) if fields.first_name else ""
    for text in (f"{greeting}{lead} {price}", f"{lead} {price}", lead):
        text = text.strip()
        if len(text) <= SMS_MAX_CHARS:
            return text
    return fields.product_name[:SMS_MAX_CHARS]
