"""AppTest of the Review queue: who sees it, the counters, filters, row selection and bulk decisions.

The sample's two runs were made by the user ``analyst``, so every offer is the
analyst's submission and the managers may decide it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from crm_core.store.models import Decision, Offer
from crm_core.views.offers import offers_frame
from tests.pages.apptest_tools import frame_with, metrics


@pytest.fixture(autouse=True)
def mixed_gates(runs_app):
    """The sample's newest run passes every offer; give it a mix: every 5th BLOCK, every 5th+1 REVIEW."""
    with runs_app.db.unit_of_work() as s:
        s.execute(update(Offer).where(Offer.run_id == runs_app.last_run, Offer.id % 5 == 0).values(gate="BLOCK"))
        s.execute(update(Offer).where(Offer.run_id == runs_app.last_run, Offer.id % 5 == 1).values(gate="REVIEW"))


def _pending(db, run_id: int, **where) -> list[tuple[int, str]]:
    """(offer id, gate) of the run's pending offers, by id."""
    stmt = select(Offer.id, Offer.gate).where(Offer.run_id == run_id, Offer.state == "pending")
    for column, value in where.items():
        stmt = stmt.where(getattr(Offer, column) == value)
    with db.read() as s:
        return [tuple(r) for r in s.execute(stmt.order_by(Offer.id))]


def _states(db, ids) -> dict[int, tuple[str, str | None]]:
    with db.read() as s:
        return {r[0]: (r[1], r[2]) for r in s.execute(select(Offer.id, Offer.state, Offer.decided_by)
                                                         .where(Offer.id.in_(list(ids))))}


def _select_rows(at, rows: list[int]):
    """Select ``rows`` of the table as drawn (its key changes with what it shows)."""
    at.session_state[at.session_state["review_table_key"]] = {"selection": {"rows": rows, "columns": [],
                                                                            "cells": []}}
    return at


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_viewers_and_analysts_are_refused(page_test, role):
    at = page_test("pages/review.py", role).run()
    assert not at.exception
    assert any("needs the manager role" in e.value for e in at.error)
    assert not at.button


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_managers_and_admins_see_the_newest_runs_queue(page_test, runs_app, role):
    at = page_test("pages/review.py", role).run()
    assert not at.exception
    assert at.selectbox(key="review_run").value == runs_app.last_run
    pending = _pending(runs_app.db, runs_app.last_run)
    cards = metrics(at)
    assert cards["Waiting"] == f"{len(pending):,}"
    for gate in ("PASS", "REVIEW", "BLOCK"):
        assert cards[f"Waiting · {gate}"] == f"{sum(1 for _, g in pending if g == gate):,}"
    table = frame_with(at, "flag_titles")
    assert len(table) == min(50, len(pending))
    assert set(table["state"]) == {"pending"}
    assert table["explanation"].str.len().min() > 0
    assert {b.key for b in at.button} >= {"review_approve", "review_reject", "review_flag"}


def test_the_gate_filter_narrows_the_table_and_the_count(page_test, runs_app):
    expected = [i for i, _ in _pending(runs_app.db, runs_app.last_run, gate="REVIEW")]
    assert 0 < len(expected) < 50
    at = page_test("pages/review.py", "manager").run()
    assert len(frame_with(at, "flag_titles")) == 50
    at.multiselect(key="review_gates").set_value(["REVIEW"]).run()
    table = frame_with(at, "flag_titles")
    assert sorted(table["offer_id"]) == expected
    assert at.checkbox(key="review_all_matching").label == f"All {len(expected):,} matching the filter"


def test_selected_rows_are_approved_and_leave_the_queue(page_test, runs_app):
    at = page_test("pages/review.py", "manager").run()
    table = frame_with(at, "flag_titles")
    passing = [i for i, gate in enumerate(table["gate"]) if gate != "BLOCK"][:2]
    chosen = table["offer_id"].iloc[passing].tolist()
    _select_rows(at, passing).run()
    assert len(at.expander) == 2  # details of each selected offer: flags, why, pitch
    at.button(key="review_approve").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Approved 2"]
    assert _states(runs_app.db, chosen) == {i: ("approved", "manager") for i in chosen}
    assert not set(chosen) & set(frame_with(at, "flag_titles")["offer_id"])
    assert not at.expander  # the selection did not carry over to other rows


def test_reject_without_a_reason_decides_nothing_and_says_why(page_test, runs_app):
    at = page_test("pages/review.py", "manager").run()
    chosen = frame_with(at, "flag_titles")["offer_id"].iloc[:3].tolist()
    _select_rows(at, [0, 1, 2]).run()
    at.button(key="review_reject").click().run()
    assert any("a reason is needed to reject" in w.value for w in at.warning)
    assert {state for state, _ in _states(runs_app.db, chosen).values()} == {"pending"}


def test_all_matching_the_filter_flags_every_page_with_one_reason(page_test, runs_app):
    expected = [i for i, _ in _pending(runs_app.db, runs_app.last_run)]
    at = page_test("pages/review.py", "manager").run()
    at.checkbox(key="review_all_matching").check()
    at.text_input(key="review_reason").input("check the prices")
    at.button(key="review_flag").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == [f"Flagged {len(expected):,}"]
    with runs_app.db.read() as s:
        reasons = s.execute(select(Decision.reason, func.count()).where(Decision.offer_id.in_(expected))
                            .group_by(Decision.reason)).all()
    assert reasons == [("check the prices", len(expected))]
    assert metrics(at)["Waiting"] == "0" and metrics(at)["Flagged"] == f"{len(expected):,}"


def test_bulk_approve_skips_own_submissions_and_blocked_offers_and_says_so(page_test, runs_app):
    offers = _pending(runs_app.db, runs_app.last_run)
    own = [i for i, gate in offers if gate != "BLOCK"][:3]
    with runs_app.db.unit_of_work() as s:
        s.execute(update(Offer).where(Offer.id.in_(own)).values(submitted_by="manager"))
    blocked = [i for i, gate in offers if gate == "BLOCK"]
    at = page_test("pages/review.py", "manager").run()
    at.checkbox(key="review_all_matching").check()
    at.text_input(key="review_reason").input("campaign week 49")
    at.button(key="review_approve").click().run()
    message = at.success[0].value
    assert message.startswith(f"Approved {len(offers) - len(own) - len(blocked):,}")
    assert f"your own submission: another manager decides it ({len(own)})" in message.replace("\\", "")
    assert blocked
    assert f"blocked by the audit gate: it cannot be approved ({len(blocked)})" in message.replace("\\", "")
    assert {state for state, _ in _states(runs_app.db, own + blocked).values()} == {"pending"}


def test_the_family_filter_works_the_families_out_when_asked(page_test, runs_app):
    at = page_test("pages/review.py", "manager").run()
    assert "review_families" not in {w.key for w in at.multiselect}  # no pass over the sales lines yet
    at.toggle(key="review_family_filter").set_value(True).run()
    family = at.multiselect(key="review_families").options[-1]
    at.multiselect(key="review_families").set_value([family]).run()
    offers = offers_frame(runs_app.db, runs_app.last_run)
    expected = offers.loc[(offers["family"] == family) & (offers["state"] == "pending"), "offer_id"]
    assert 0 < len(expected) < len(offers)
    shown_ids = frame_with(at, "flag_titles")["offer_id"]
    assert set(shown_ids) <= set(expected) and len(shown_ids) == min(50, len(expected))
    assert at.checkbox(key="review_all_matching").label == f"All {len(expected):,} matching the filter"


def test_one_selected_offer_opens_the_pitch_assistant_and_its_draft_is_saved(page_test, runs_app, monkeypatch):
    from crm_core.views.pitches import pitch_versions

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    at = page_test("pages/review.py", "manager").run()
    table = frame_with(at, "flag_titles")
    _select_rows(at, [0]).run()
    offer_id = int(table["offer_id"].iloc[0])
    at.button(key="review_pitch_draft").click().run()
    assert not at.exception
    versions = pitch_versions(runs_app.db, offer_id)
    assert len(versions) == 1 and versions[0].source == "template"  # no key configured: the template
