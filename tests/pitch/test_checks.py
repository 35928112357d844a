"""Each check on crafted drafts: the failing one gets its code, the passing one gets none."""

from __future__ import annotations

import pytest

from crm_core.pitch import CHECK_MESSAGES, check_pitch
from tests.pitch.conftest import fields

P = "WHITE HANGING HEART T-LIGHT HOLDER"


def codes(text, *, channel="email", subject=None, other_names=(), raw_text=None, **field_changes):
    f = fields(**field_changes)
    return [x.code for x in check_pitch(text, fields=f, channel=channel, subject=subject, other_names=other_names,
                                        raw_text=raw_text)]


def test_a_clean_draft_passes():
    assert codes(f"Dear Anna,\n\nWe picked the {P} for you. It is £2.95.\n\nKind regards,") == []


@pytest.mark.parametrize("text, expected", [
    ("We picked a lovely candle holder for you.", ["PITCH_NO_PRODUCT"]),
    ("We picked the white hanging heart  t-light\nholder for you.", []),  # case and spacing ignored
    ("About the WHITE HANGING HEART", ["PITCH_NO_PRODUCT"]),
])
def test_the_product_must_be_named(text, expected):
    assert codes(text) == expected


def test_the_subject_counts_for_naming_the_product():
    assert codes("We picked it for you.", subject=f"{P} for you") == []


def test_an_sms_must_fit_160_characters():
    assert codes(f"{P} " + "w" * (159 - len(P)), channel="sms") == []
    assert codes(f"{P} " + "y" * (160 - len(P)), channel="sms") == ["PITCH_SMS_TOO_LONG"]
    assert codes(f"{P} " + "z" * 300, channel="email") == []


@pytest.mark.parametrize("placeholder", ["{first_name}", "[NAME]", "[first name]", "<NAME>", "<customer name>", "XXX",
                                         "TODO", "TBD", "FIXME", "%s", "${price}", "{{product}}", "Lorem ipsum",
                                         "______"])
def test_a_left_placeholder_fails(placeholder):
    assert codes(f"Dear {placeholder}, the {P} is here.") == ["PITCH_PLACEHOLDER"]


def test_a_placeholder_hidden_by_plain_text_rendering_is_found_in_the_raw_answer():
    assert codes(f"Dear , the {P} is here.", raw_text=f"Dear <NAME>, the {P} is here.") == ["PITCH_PLACEHOLDER"]
    assert codes(f"Dear Anna, the {P} is here.", raw_text=f"Dear <b>Anna</b>, the {P} is here.") == []


def test_the_product_name_itself_never_fails_a_check():
    odd = "XXX LARGE GIFT VOUCHER 50% OFF {SET}"  # braces are cleaned out of names; the rest is the product's own
    text = f"Hi Anna, {odd.replace('{SET}', 'SET')} is for you."
    assert codes(text, product_name=odd) == []


@pytest.mark.parametrize("url", ["https://shop.example/x", "http://evil.example", "www.shop.com", "shop.com",
                                 "orders@shop.co.uk", "mailto:a@b.example", "ftp://x.example/y", "javascript:alert(1)"])
def test_a_link_or_address_fails(url):
    assert codes(f"Anna, the {P} is at {url} today.") == ["PITCH_URL"]


@pytest.mark.parametrize("phone", ["+44 20 7946 0958", "(555) 123-4567", "06 12 34 56 78", "0800 123 4567"])
def test_a_phone_number_fails(phone):
    assert codes(f"Anna, call {phone} about the {P}.") == ["PITCH_PHONE"]


def test_small_numbers_are_not_phone_numbers():
    assert codes(f"Anna, a pack of 12 {P} for 3 rooms, 40 days since your last order.") == []


@pytest.mark.parametrize("amount, ok", [
    ("£2.95", True), ("2.95 GBP", True), ("2,95 €", True), ("GBP 2.95", True), ("2.95", True),
    ("£3.95", False), ("€ 19,99", False), ("1.99", False), ("10 pounds", False), ("$2", False),
    ("£1,234.00", False),
])
def test_an_amount_must_be_the_offers_price(amount, ok):
    assert codes(f"Anna, the {P} is {amount}.") == ([] if ok else ["PITCH_PRICE"])


def test_any_amount_fails_when_the_offer_has_no_price():
    assert codes(f"Anna, the {P} is £2.95.", price=None) == ["PITCH_PRICE"]
    assert codes(f"Anna, the {P} is lovely.", price=None) == []


@pytest.mark.parametrize("text", ["20% off", "-15 %", "a discount", "on sale", "use voucher", "half price",
                                  "save 5 today", "buy one get one", "une réduction", "10 % Rabatt", "uno sconto",
                                  "un descuento", "a free gift"])
def test_a_discount_fails(text):
    assert codes(f"Anna, the {P}: {text}.") == ["PITCH_DISCOUNT"]


def test_a_share_of_customers_is_not_a_discount():
    assert codes(f"Anna, 35% of our customers chose the {P}.") == []


def test_another_customers_name_fails():
    assert codes(f"Hi Anna, Tom loved the {P}.", other_names=["Tom", "Anna"]) == ["PITCH_OTHER_NAME"]
    assert codes(f"Hi Anna, the {P} is yours.", other_names=["Tom", "Anna"]) == []  # her own name is fine
    assert codes(f"Hi Anna, Tom's favourite {P}.", other_names=["tom"]) == ["PITCH_OTHER_NAME"]


@pytest.mark.parametrize("text, include_first_name, expected", [
    ("Dear Maria,", True, ["PITCH_OTHER_NAME"]),
    ("Bonjour Pierre,", True, ["PITCH_OTHER_NAME"]),
    ("Sehr geehrte Frau Müller,", True, ["PITCH_OTHER_NAME"]),
    ("Dear Anna,", True, []),
    ("Hi ANNA!", True, []),
    ("Dear Sarah,", False, ["PITCH_OTHER_NAME"]),  # no name was sent, so any name is made up
    ("Dear Valued Customer,", False, []),
    ("Dear customer,", False, []),
    ("Hello,\n\nTime to", False, []),
    ("Hi there,", True, []),
])
def test_a_salutation_must_name_this_customer(text, include_first_name, expected):
    assert codes(f"{text} the {P} is here.", include_first_name=include_first_name) == expected


def test_every_code_has_an_english_message_and_failures_carry_it():
    (failure,) = check_pitch("About a candle.", fields=fields(), channel="email")
    assert failure.code == "PITCH_NO_PRODUCT" and P in failure.message
    assert set(CHECK_MESSAGES) == {"PITCH_NO_PRODUCT", "PITCH_SMS_TOO_LONG", "PITCH_PLACEHOLDER", "PITCH_URL",
                                   "PITCH_PHONE", "PITCH_PRICE", "PITCH_DISCOUNT", "PITCH_OTHER_NAME"}
