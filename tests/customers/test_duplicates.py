"""The pure duplicate rules: normalised e-mails, phones, names with postcode (or city), placeholders."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_core.customers.duplicates import (PAIR_COLUMNS, duplicate_pairs, normalise_emails, normalise_phones,
                                           postcodes_from_extra)


def _records(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows).reindex(columns=["customer_id", "first_name", "last_name", "email", "phone", "city",
                                               "postcode"])


def _pairs(frame: pd.DataFrame) -> dict[tuple[str, str], str]:
    found = duplicate_pairs(frame)
    return {(a, b): rules for a, b, rules in zip(found["customer_a"], found["customer_b"], found["rules"])}


@pytest.mark.parametrize(("raw", "key"), [
    (" Ann@Shop.COM ", "ann@shop.com"), ("ann@shop.com", "ann@shop.com"), ("not an address", None),
    ("a@b@c", None), ("", None), (None, None),
])
def test_emails_are_trimmed_and_lower_cased(raw, key):
    got = normalise_emails(pd.Series([raw], dtype="object")).iloc[0]
    assert (got if got is not pd.NA else None) == key


@pytest.mark.parametrize(("raw", "key"), [
    ("+44 20 7946 0958", "+442079460958"), ("0044 20 7946 0958", "+442079460958"),
    ("+44 (0)20 7946-0958", "+442079460958"), ("020 7946 0958", "02079460958"), ("(020) 7946.0958", "02079460958"),
    ("12345", None), ("n/a", None),
])
def test_phones_keep_digits_and_turn_a_leading_00_into_plus(raw, key):
    got = normalise_phones(pd.Series([raw])).iloc[0]
    assert (got if got is not pd.NA else None) == key


def test_a_national_number_is_not_matched_with_its_international_form():
    """Documented limit: the workspace does not know the country of a national number."""
    frame = _records([{"customer_id": "1", "phone": "020 7946 0958"},
                      {"customer_id": "2", "phone": "+44 20 7946 0958"}])
    assert _pairs(frame) == {}


def test_planted_duplicates_are_proposed_with_the_values_as_written():
    frame = _records([
        {"customer_id": "C1", "first_name": "Ann", "last_name": "Lee", "email": "Ann.Lee@Shop.COM ", "city": "York"},
        {"customer_id": "C2", "first_name": "Anne", "last_name": "Lee", "email": "ann.lee@shop.com", "city": "Hull"},
        {"customer_id": "C3", "first_name": "Bo", "last_name": "Ray", "phone": "+44 20 7946 0958"},
        {"customer_id": "C4", "first_name": "Bob", "last_name": "Ray", "phone": "0044 (0)20 7946 0958"},
        {"customer_id": "C5", "first_name": "Zoë", "last_name": "Müller", "postcode": "LS1 1AA", "city": "Leeds"},
        {"customer_id": "C6", "first_name": "zoe", "last_name": "MULLER", "postcode": "ls1-1aa", "city": "Leeds"},
        {"customer_id": "C7", "first_name": "Zoe", "last_name": "Muller", "postcode": "LS2 9JT", "city": "Leeds"},
    ])
    found = duplicate_pairs(frame)
    assert list(found.columns) == PAIR_COLUMNS
    by_pair = found.set_index(["customer_a", "customer_b"])
    assert set(by_pair.index) == {("C1", "C2"), ("C3", "C4"), ("C5", "C6")}  # C7: another postcode
    assert by_pair.loc[("C1", "C2"), "rules"] == "email"
    assert "'Ann.Lee@Shop.COM '" in by_pair.loc[("C1", "C2"), "evidence"]
    assert "'ann.lee@shop.com'" in by_pair.loc[("C1", "C2"), "evidence"]
    assert by_pair.loc[("C3", "C4"), "rules"] == "phone"
    assert "'0044 (0)20 7946 0958'" in by_pair.loc[("C3", "C4"), "evidence"]
    assert by_pair.loc[("C5", "C6"), "rules"] == "name_postcode"
    assert "'LS1 1AA' and 'ls1-1aa'" in by_pair.loc[("C5", "C6"), "evidence"]
    assert set(found["strength"]) == {"strong"}


def test_without_a_postcode_the_same_name_in_the_same_city_is_weaker_evidence():
    frame = _records([
        {"customer_id": "A", "first_name": "Tom", "last_name": "Hart", "city": "Bath", "email": "tom@x.org"},
        {"customer_id": "B", "first_name": "Tom", "last_name": "Hart", "city": "bath ", "postcode": "BA1 1AA"},
        {"customer_id": "C", "first_name": "Tom", "last_name": "Hart", "city": "Leeds"},
        {"customer_id": "D", "first_name": "Eve", "last_name": "Kay", "email": "eve@x.org", "phone": "07700 900123"},
        {"customer_id": "E", "first_name": "Eve", "last_name": "Kay", "email": "EVE@x.org", "phone": "07700-900123"},
    ])
    found = duplicate_pairs(frame).set_index(["customer_a", "customer_b"])
    assert found.loc[("A", "B"), "rules"] == "name_city" and found.loc[("A", "B"), "strength"] == "weak"
    assert found.loc[("D", "E"), "rules"] == "email, phone"  # no city on file: no name_city
    assert found.loc[("D", "E"), "strength"] == "strong"
    assert found.index.tolist() == [("D", "E"), ("A", "B")]  # strong pairs first


def test_a_key_shared_by_many_records_is_a_placeholder_not_a_person():
    frame = _records([{"customer_id": f"X{i}", "email": "noemail@shop.com"} for i in range(6)]
                     + [{"customer_id": "Y1", "email": "y@shop.com"}, {"customer_id": "Y2", "email": "Y@shop.com"}])
    found = duplicate_pairs(frame, max_group=5)
    assert list(zip(found["customer_a"], found["customer_b"])) == [("Y1", "Y2")]
    assert found.attrs["placeholders"] == 1


def test_postcodes_are_read_from_extra_json_under_common_keys():
    extra = pd.Series([{"Postcode": "SW1A 1AA"}, {"zip": 90210}, {"other": "x"}, None, {"postcode": ""}])
    assert postcodes_from_extra(extra).fillna("-").tolist() == ["SW1A 1AA", "90210", "-", "-", "-"]


def test_no_records_give_no_pairs():
    assert duplicate_pairs(_records([])).empty
