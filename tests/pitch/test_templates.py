"""The fallback templates: every scenario x tone x channel names the product, fits, and passes every check."""

from __future__ import annotations

import itertools

import pytest

from crm_core.pitch import CHANNELS, TONES, check_pitch, pitch_fields, render_template
from crm_core.recommend.settings import SCENARIOS
from tests.pitch.conftest import offer

LONG_PRODUCT = "EXTRA LARGE VINTAGE CHRISTMAS PAPER CHAIN"[:40]
LONG_NAME = "Maximiliana-Alessandra Bartholomew-Smith"[:40]


def _fields(scenario, *, named=True, priced=True, product=LONG_PRODUCT, name=LONG_NAME, family="Christmas decorations"):
    row = offer(scenario=scenario, product_name=product, first_name=name, family=family,
                price="1234.56" if priced else None)
    return pitch_fields(row, include_first_name=named, currency="EUR")


CASES = list(itertools.product(SCENARIOS, TONES, CHANNELS, [True, False], [True, False]))


@pytest.mark.parametrize("scenario, tone, channel, named, priced", CASES)
def test_every_template_names_the_product_fits_and_passes_every_check(scenario, tone, channel, named, priced):
    f = _fields(scenario, named=named, priced=priced)
    assert len(f.product_name) == 40 and (not named or len(f.first_name) == 40)
    t = render_template(f, tone=tone, channel=channel)
    assert f.product_name in t.body and t.language == "en"
    assert (t.subject is not None) == (channel == "email")
    if channel == "sms":
        assert len(t.body) <= 160
    if named and channel != "sms":
        assert f.first_name in t.body
    if priced and channel != "sms":
        assert "€1,234.56" in t.body
    assert check_pitch(t.body, fields=f, channel=channel, subject=t.subject, other_names=["Tom", "Sarah"]) == []


def test_the_sms_keeps_greeting_and_price_when_they_fit():
    f = _fields("REBUY", product="JAM JAR", name="Anna", family=None)
    assert render_template(f, tone="friendly", channel="sms").body == (
        "Hi Anna! Running low on JAM JAR? It might be time for a top-up. It is €1,234.56.")


def test_templates_are_deterministic_and_differ_by_tone_and_scenario():
    f = _fields("WINBACK")
    assert render_template(f, tone="formal", channel="email") == render_template(f, tone="formal", channel="email")
    texts = {render_template(_fields(s), tone=t, channel="email").body for s in SCENARIOS for t in TONES}
    assert len(texts) == len(SCENARIOS) * len(TONES)


def test_a_language_without_templates_falls_back_to_english():
    t = render_template(_fields("NURTURE"), tone="concise", channel="call", language="de")
    assert t.language == "en" and t.body.startswith("Opening: Hello")
