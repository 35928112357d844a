"""AppTest of the Duplicate customers page, per role: analysts see the proposals and the evidence,
managers merge, dismiss and undo; viewers do not get the page."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from crm_core.display_text import shown
from crm_core.store.models import Customer
from crm_core.views.merges import merge_history, merged_into


@pytest.fixture
def duplicates(app_db):
    """Plant one e-mail pair (C0001 / C0002, different case) and one phone pair (C0003 / C0004) in the shop."""
    with app_db.db.unit_of_work() as s:
        for code, values in {"C0001": {"email": "Twin@Shop.COM"}, "C0002": {"email": " twin@shop.com"},
                             "C0003": {"phone": "+44 20 7946 0958"}, "C0004": {"phone": "0044 20 7946 0958"}}.items():
            s.execute(update(Customer).where(Customer.customer_code == code).values(**values))
    return app_db


def _page(app_test, role):
    at = app_test("pages/customers.py", role)
    at.session_state["workspace"] = "shop"
    return at.run()


def test_a_viewer_does_not_get_the_page(app_test, duplicates):
    at = _page(app_test, "viewer")
    assert any("needs the analyst role" in e.value for e in at.error)
    assert not at.dataframe


def test_an_analyst_sees_the_proposals_and_their_evidence_but_cannot_merge(app_test, duplicates):
    at = _page(app_test, "analyst")
    assert not at.exception
    table = at.dataframe[0].value
    assert {frozenset(p) for p in zip(table["survivor"], table["merged"])} == {frozenset(("C0001", "C0002")),
                                                                                frozenset(("C0003", "C0004"))}
    assert any(shown("'Twin@Shop.COM'") in m.value for m in at.markdown)  # the evidence, as written
    assert not [b for b in at.button if b.key == "dup_merge"]
    assert any("A manager confirms merges" in i.value for i in at.info)


def test_a_manager_merges_a_pair_then_undoes_it(app_test, duplicates):
    at = _page(app_test, "manager")
    at.selectbox(key="dup_pick").set_value(0).run()
    pair = (at.dataframe[0].value.loc[0, "survivor"], at.dataframe[0].value.loc[0, "merged"])
    at.text_input(key="dup_reason").input("same person, two accounts")
    at.button(key="dup_merge").click().run()
    assert not at.exception
    assert any("is now part of" in s.value for s in at.success)
    assert merged_into(duplicates.db, duplicates.shop_id) == {pair[1]: pair[0]}
    remaining = at.dataframe[0].value
    assert len(remaining) == 1 and pair[0] not in set(remaining["survivor"]) | set(remaining["merged"])
    at.button(key="dup_undo").click().run()
    assert any("undone" in s.value for s in at.success)
    assert merged_into(duplicates.db, duplicates.shop_id) == {}
    assert merge_history(duplicates.db, duplicates.shop_id)["state"].tolist() == ["undone"]


def test_an_admin_keeps_two_records_apart(app_test, duplicates):
    at = _page(app_test, "admin")
    before = len(at.dataframe[0].value)
    at.button(key="dup_dismiss").click().run()
    assert any("kept apart" in s.value for s in at.success)
    assert len(at.dataframe[0].value) == before - 1
    assert merge_history(duplicates.db, duplicates.shop_id)["state"].tolist() == ["dismissed"]
