"""Every rule fires on the fact it is about and stays quiet otherwise (baseline: NO_PITCH only)."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_core.gate import GateConfig
from tests.gate.builders import (AS_OF, BASE_CUSTOMERS, ago, customers_frame, details_of, flags_of,
                                 gate_world, offers_frame, pairs_frame, products_frame)


def test_the_clean_baseline_offer_only_lacks_a_pitch():
    _, g = gate_world()
    assert flags_of(g) == ["NO_PITCH"]
    assert (g["audit_score"].iloc[0], g["gate"].iloc[0]) == (98, "PASS")


def test_opted_out_of_email_is_an_error():
    _, g = gate_world(customers=customers_frame({**BASE_CUSTOMERS, "C1": (False, False, ago(100))}))
    assert "OPTED_OUT" in flags_of(g)
    assert details_of(g)["OPTED_OUT"]["severity"] == "ERROR"
    assert g["gate"].iloc[0] == "BLOCK"


def test_do_not_contact_is_an_error_even_with_email_consent():
    _, g = gate_world(customers=customers_frame({**BASE_CUSTOMERS, "C1": (True, True, ago(100))}))
    assert "DO_NOT_CONTACT" in flags_of(g)
    assert "OPTED_OUT" not in flags_of(g)
    assert g["gate"].iloc[0] == "BLOCK"


def test_a_customer_no_file_mentions_has_unknown_consent_a_warning_under_standard():
    _, g = gate_world(customers=customers_frame({"C9": (True, False, None)}))
    assert flags_of(g) == ["CONSENT_UNKNOWN", "NO_PITCH"]
    assert details_of(g)["CONSENT_UNKNOWN"]["severity"] == "WARN"
    assert (g["audit_score"].iloc[0], g["gate"].iloc[0]) == (83, "PASS")


def test_no_customers_file_at_all_means_consent_unknown():
    _, g = gate_world(customers=None)
    assert "CONSENT_UNKNOWN" in flags_of(g)


def test_strict_escalates_unknown_consent_to_an_error_that_blocks():
    _, g = gate_world(customers=None, policy="strict")
    assert details_of(g)["CONSENT_UNKNOWN"]["severity"] == "ERROR"
    assert (g["audit_score"].iloc[0], g["gate"].iloc[0], g["worst_severity"].iloc[0]) == (0, "BLOCK", "ERROR")


def test_consent_is_known_when_one_of_its_two_values_is():
    _, g = gate_world(customers=customers_frame({**BASE_CUSTOMERS, "C1": (None, False, None)}))
    assert "CONSENT_UNKNOWN" not in flags_of(g)


@pytest.mark.parametrize("opened, closed, held", [
    (ago(200), None, True),
    (None, None, True),           # no opening date: held
    (ago(200), ago(5), False),    # closed before as-of
    (ago(200), AS_OF, False),     # closed on the as-of day: no longer held that day
    (ago(-3), None, False),       # opened after as-of
])
def test_a_product_held_at_the_as_of_date_is_an_error(opened, closed, held):
    holdings = pairs_frame([("C1", "LAMP", opened, closed)], opened_at=1, closed_at=1)
    _, g = gate_world(holdings=holdings)
    assert ("ALREADY_HELD" in flags_of(g)) is held


def test_a_held_product_is_an_error_even_as_a_rebuy():
    holdings = pairs_frame([("C1", "LAMP", ago(200), None)], opened_at=1, closed_at=1)
    _, g = gate_world(offers_frame(("C1", "LAMP", "REBUY")), holdings=holdings)
    assert "ALREADY_HELD" in flags_of(g)


SOAP_RHYTHM = [("C2", f"s{k}", ago(30 * k), "SOAP", 5.0, "Bath") for k in range(4)]  # every 30 days


@pytest.mark.parametrize("days_ago, fired", [(12, True), (29, True), (30, False), (45, False)])
def test_bought_within_the_products_repurchase_rhythm_is_an_error(days_ago, fired):
    _, g = gate_world(offers_frame(("C1", "SOAP")), extra_tx=SOAP_RHYTHM + [("C1", "c1s", ago(days_ago), "SOAP", 5.0)])
    assert ("RECENTLY_BOUGHT" in flags_of(g)) is fired
    if fired:
        assert details_of(g)["RECENTLY_BOUGHT"]["message"] == (
            f"Bought this product {days_ago} days ago, within its repurchase window of 30 days.")


def test_a_rebuy_offer_of_a_recent_purchase_is_not_flagged():
    bought = [("C1", "c1s", ago(12), "SOAP", 5.0)]
    _, g = gate_world(offers_frame(("C1", "SOAP", "REBUY")), extra_tx=SOAP_RHYTHM + bought)
    assert "RECENTLY_BOUGHT" not in flags_of(g)


def test_a_product_nobody_bought_twice_uses_the_default_repurchase_window():
    config = GateConfig(default_repurchase_days=21)
    f, g = gate_world(offers_frame(("C1", "VASE"), ("C1", "BOWL")), config=config,
                      extra_tx=[("C1", "v", ago(20), "VASE", 9.0), ("C1", "b", ago(21), "BOWL", 9.0)])
    assert f["repurchase_days"].tolist() == [21.0, 21.0]
    assert "RECENTLY_BOUGHT" in flags_of(g, 0)
    assert "RECENTLY_BOUGHT" not in flags_of(g, 1)


def test_an_inactive_product_is_an_error():
    _, g = gate_world(products=products_frame({"LAMP": {"price": 25.0, "active": False}}))
    assert "PRODUCT_INACTIVE" in flags_of(g)
    assert g["gate"].iloc[0] == "BLOCK"


def test_a_product_without_catalogue_price_and_without_recent_sales_has_no_price():
    old_sale = [("C9", "old", ago(400), "RUG", 50.0)]
    f, g = gate_world(offers_frame(("C1", "RUG")), extra_tx=old_sale)
    assert pd.isna(f["price"].iloc[0]) and pd.isna(f["price_source"].iloc[0])
    assert "NO_PRICE" in flags_of(g)
    assert details_of(g)["NO_PRICE"]["message"].endswith("no sale in the 365 days before the as-of date.")


def test_a_shop_without_a_catalogue_prices_products_from_their_recent_sales():
    sales = [("C9", "r1", ago(10), "RUG", 40.0), ("C8", "r2", ago(20), "RUG", 50.0), ("C7", "r3", ago(30), "RUG", 90.0)]
    f, g = gate_world(offers_frame(("C1", "RUG")), extra_tx=sales, products=None)
    assert (f["price"].iloc[0], f["price_source"].iloc[0]) == (50.0, "sales")  # the median unit price
    assert "NO_PRICE" not in flags_of(g)
    assert "PRODUCT_INACTIVE" not in flags_of(g)


def test_a_catalogue_price_wins_over_sales_prices():
    f, _ = gate_world()
    assert (f["price"].iloc[0], f["price_source"].iloc[0]) == (25.0, "catalog")


@pytest.mark.parametrize("last_contacted, fired", [(ago(5), True), (ago(13), True), (ago(14), False)])
def test_contacted_within_the_silence_window_is_an_error(last_contacted, fired):
    _, g = gate_world(customers=customers_frame({"C1": (True, False, last_contacted)}))
    assert ("CONTACTED_RECENTLY" in flags_of(g)) is fired


def test_the_silence_window_counts_back_from_the_contact_date_not_the_as_of_date():
    contacted = customers_frame({"C1": (True, False, ago(5))})  # 5 days before as-of, 25 before contact
    _, later = gate_world(customers=contacted, contact_date=ago(-20))
    assert "CONTACTED_RECENTLY" not in flags_of(later)
    recent = customers_frame({"C1": (True, False, ago(-15))})  # 15 days after as-of, 5 before contact
    _, g = gate_world(customers=recent, contact_date=ago(-20))
    assert details_of(g)["CONTACTED_RECENTLY"]["message"] == (
        "Contacted 5 days before the contact date; the silence window is 14 days.")


@pytest.mark.parametrize("exported, product, fired", [
    (ago(10), "LAMP", True), (ago(29), "LAMP", True), (ago(30), "LAMP", False),
    (ago(10), "MUG", False),       # another product
    (ago(-1), "LAMP", False),      # exported after the contact date: not yet
])
def test_the_same_product_exported_recently_is_a_warning(exported, product, fired):
    exports = pairs_frame([("C1", product, exported)], exported_at=1)
    _, g = gate_world(exports=exports)
    assert ("RECENTLY_EXPORTED" in flags_of(g)) is fired
    if fired:
        assert details_of(g)["RECENTLY_EXPORTED"]["severity"] == "WARN"


def test_previous_exports_are_counted_back_from_the_contact_date():
    exports = pairs_frame([("C1", "LAMP", ago(-5))], exported_at=1)  # after as-of, 5 days before contact
    _, g = gate_world(exports=exports, contact_date=ago(-10))
    assert "RECENTLY_EXPORTED" in flags_of(g)


@pytest.mark.parametrize("price, fired", [(91.0, True), (90.0, False), (85.0, False)])
def test_a_price_far_above_the_usual_basket_is_a_warning(price, fired):
    _, g = gate_world(products=products_frame({"LAMP": {"price": price}}))
    assert ("PRICE_ABOVE_BASKET" in flags_of(g)) is fired
    if fired:
        assert details_of(g)["PRICE_ABOVE_BASKET"]["message"] == (
            "Price 91.00 is 3.03x the customer's usual basket of 30.00 (limit 3.00x).")


def test_the_basket_is_the_median_invoice_of_sales_lines_summed_per_invoice():
    rows = [("C1", "a", ago(50), "MUG", 10.0), ("C1", "a", ago(50), "LAMP", 15.0),  # invoice a: 25
            ("C1", "b", ago(40), "MUG", 40.0),                                       # invoice b: 40
            ("C1", "c", ago(30), "MUG", 100.0), ("C1", "r", ago(20), "MUG", -100.0, None, True)]  # c, then a return
    f, _ = gate_world(tx_rows=rows)
    assert (f["basket"].iloc[0], f["purchases"].iloc[0]) == (40.0, 3)


@pytest.mark.parametrize("score, fired", [(0.1, True), (0.15, False), (0.6, False)])
def test_a_low_score_is_a_warning(score, fired):
    _, g = gate_world(offers_frame(("C1", "LAMP", "CROSS_SELL", score)))
    assert ("LOW_SCORE" in flags_of(g)) is fired
    if fired:
        assert details_of(g)["LOW_SCORE"]["message"] == "Offer score 0.100 is below 0.150."


def test_one_purchase_long_ago_is_thin_data_not_also_stale():
    f, g = gate_world(tx_rows=[("C1", "x", ago(400), "MUG", 30.0), ("C9", "i9", ago(10), "LAMP", 20.0)])
    assert (f["purchases"].iloc[0], f["days_since_first"].iloc[0]) == (1, 400.0)
    assert "THIN_DATA" in flags_of(g) and "STALE_DATA" not in flags_of(g)
    assert details_of(g)["THIN_DATA"]["message"] == "Only one purchase, 400 days before the as-of date (more than 365)."


def test_one_recent_purchase_is_not_thin_data():
    _, g = gate_world(tx_rows=[("C1", "x", ago(100), "MUG", 30.0), ("C9", "i9", ago(10), "LAMP", 20.0)])
    assert "THIN_DATA" not in flags_of(g)


def test_a_customer_whose_last_line_is_long_ago_has_stale_data():
    rows = [("C1", "x", ago(500), "MUG", 30.0), ("C1", "y", ago(400), "MUG", 30.0), ("C9", "i9", ago(10), "LAMP", 20.0)]
    _, g = gate_world(tx_rows=rows)
    assert "STALE_DATA" in flags_of(g) and "THIN_DATA" not in flags_of(g)


def test_a_recent_return_is_news_about_the_customer():
    rows = [("C1", "x", ago(500), "MUG", 30.0), ("C1", "y", ago(400), "MUG", 30.0),
            ("C1", "C7", ago(10), "MUG", -30.0, None, True), ("C9", "i9", ago(10), "LAMP", 20.0)]
    f, g = gate_world(tx_rows=rows)
    assert f["days_since_last_line"].iloc[0] == 10
    assert "STALE_DATA" not in flags_of(g)


def test_lines_after_the_as_of_date_are_ignored():
    f, _ = gate_world(extra_tx=[("C1", "later", ago(-3), "LAMP", 500.0)])
    assert (f["days_since_last_line"].iloc[0], f["purchases"].iloc[0], f["basket"].iloc[0]) == (60.0, 2, 30.0)
    assert pd.isna(f["days_since_bought"].iloc[0])


def test_a_margin_under_the_floor_is_a_warning_when_costs_are_known():
    _, g = gate_world(products=products_frame({"LAMP": {"price": 25.0, "unit_cost": 24.0}}))
    assert details_of(g)["LOW_MARGIN"]["message"] == "Margin 4.00 % is under the floor of 10.00 %."


def test_a_given_margin_rate_is_used_as_it_is():
    f, g = gate_world(products=products_frame({"LAMP": {"price": 25.0, "margin_rate": 0.05}}))
    assert f["margin_rate"].iloc[0] == 0.05 and "LOW_MARGIN" in flags_of(g)


def test_the_margin_rule_is_quiet_when_costs_are_unknown():
    f, g = gate_world(products=products_frame({"LAMP": {"price": 25.0}}))
    assert pd.isna(f["margin_rate"].iloc[0])
    assert "LOW_MARGIN" not in flags_of(g)


def test_failed_pitch_checks_become_one_warning_listing_them():
    pitches = pd.DataFrame({"customer_id": ["C1"], "product_id": ["LAMP"], "pitch_failures": ["PRICE_CLAIM;TONE"]})
    _, g = gate_world(pitches=pitches)
    assert flags_of(g) == ["PITCH_CHECK_FAILED"]
    assert details_of(g)["PITCH_CHECK_FAILED"] == {
        "code": "PITCH_CHECK_FAILED", "severity": "WARN",
        "message": "The drafted pitch failed 2 check(s): PRICE_CLAIM, TONE."}
    assert g["gate"].iloc[0] == "REVIEW"  # the standard policy reviews a failed pitch whatever the score


@pytest.mark.parametrize("failures", ["", None])
def test_a_drafted_pitch_that_passed_raises_nothing(failures):
    pitches = pd.DataFrame({"customer_id": ["C1"], "product_id": ["LAMP"], "pitch_failures": [failures]})
    _, g = gate_world(pitches=pitches)
    assert flags_of(g) == []
    assert (g["audit_score"].iloc[0], g["worst_severity"].iloc[0]) == (100, "")


def test_a_pitch_for_another_product_does_not_count():
    pitches = pd.DataFrame({"customer_id": ["C1"], "product_id": ["MUG"]})
    _, g = gate_world(pitches=pitches)
    assert flags_of(g) == ["NO_PITCH"]
    assert details_of(g)["NO_PITCH"] == {"code": "NO_PITCH", "severity": "INFO",
                                         "message": "No pitch has been drafted for this offer yet."}


def test_flags_are_alphabetical_and_details_worst_severity_first():
    customers = customers_frame({"C1": (False, False, ago(3))})
    _, g = gate_world(offers_frame(("C1", "LAMP", "CROSS_SELL", 0.05)), customers=customers)
    assert flags_of(g) == ["CONTACTED_RECENTLY", "LOW_SCORE", "NO_PITCH", "OPTED_OUT"]
    assert [(d["severity"], d["code"]) for d in g["flag_details"].iloc[0]] == [
        ("ERROR", "CONTACTED_RECENTLY"), ("ERROR", "OPTED_OUT"), ("WARN", "LOW_SCORE"), ("INFO", "NO_PITCH")]



def test_the_repurchase_window_is_the_median_interval_rounded_up_to_whole_days():
    rhythm = [("C2", "a", ago(27), "SOAP", 5.0), ("C2", "b", ago(0), "SOAP", 5.0),
              ("C3", "c", ago(28), "SOAP", 5.0), ("C3", "d", ago(0), "SOAP", 5.0)]  # 27 and 28 days: median 27.5
    f, g = gate_world(offers_frame(("C1", "SOAP")), extra_tx=rhythm + [("C1", "e", ago(27), "SOAP", 5.0)])
    assert f["repurchase_days"].iloc[0] == 28
    assert details_of(g)["RECENTLY_BOUGHT"]["message"] == (
        "Bought this product 27 days ago, within its repurchase window of 28 days.")
