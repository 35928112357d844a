"""Batches of stored offers: each draft saved as it completes, stopping keeps them, unusable offers are skipped."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import func, select, text

from crm_core.errors import NotFound, ValidationError
from crm_core.pitch import PitchConfig
from crm_core.pitch.service import draft_offers_batch
from crm_core.store.models import Pitch
from crm_core.views.pitches import newest_pitches, run_offer_ids
from crm_core.views.runs import latest_run
from crm_core.views.workspaces import get_workspace
from tests.pitch.conftest import KEY



@pytest.fixture
def shop(run_db):
    ws = get_workspace(run_db, "shop")
    return run_db, run_offer_ids(run_db, latest_run(run_db, ws.id).id)


QUICK = PitchConfig(deadline_seconds=2, timeout_seconds=3)


def _batch(db, actor, ids, config=QUICK, **kwargs):
    return draft_offers_batch(db, actor, ids, tone="friendly", channel="sms", config=config, **kwargs)


def _saved_offers(db) -> set[int]:
    with db.read() as s:
        return set(s.scalars(select(Pitch.offer_id)))


def test_each_draft_is_saved_and_reported_as_it_completes(shop, analyst, stub):
    db, ids = shop
    stub("answer", delay=0.05)
    seen = []

    def progress(fraction, message):
        seen.append((round(fraction, 3), message, len(_saved_offers(db))))  # saved before it is reported

    summary = _batch(db, analyst, ids[:8], api_key=KEY, progress=progress)
    assert [(f, n) for f, _, n in seen] == [(round(i / 8, 3), i) for i in range(1, 9)]
    assert seen[-1][1] == "8 of 8 pitches drafted and saved"
    assert (summary.requested, summary.llm, summary.template, summary.stopped) == (8, 8, 0, False)
    assert _saved_offers(db) == set(ids[:8]) and {p.version for p in summary.saved} == {1}
    assert summary.lines() == [("8 of 8 pitches drafted and saved: 8 by the model (claude-sonnet-5-5), "
                                "0 from templates.")]


def test_templates_are_counted_by_reason(shop, analyst, monkeypatch):
    db, ids = shop
    monkeypatch.setenv("NEXTBEST_LLM", "off")
    summary = _batch(db, analyst, ids[:5], api_key=KEY)
    assert [(r.code, r.drafts) for r in summary.template_reasons] == [("LLM_OFF", 5)]
    assert summary.lines()[1] == "templates, AI drafting is switched off (NEXTBEST_LLM=off): 5"
    assert newest_pitches(db, ids)["source"].tolist() == ["template"] * 5


def test_stopping_keeps_the_drafts_saved_so_far(shop, analyst, stub):
    db, ids = shop
    stub("answer", delay=0.2)
    stop = threading.Event()

    def progress(fraction, message):
        if len(_saved_offers(db)) >= 2:
            stop.set()

    summary = _batch(db, analyst, ids[:20], PitchConfig(concurrency=2), api_key=KEY, progress=progress,
                     stop_event=stop)
    assert summary.stopped and 2 <= len(summary.saved) <= 4
    assert _saved_offers(db) == {p.offer_id for p in summary.saved}
    assert set(summary.not_drafted) == set(ids[:20]) - _saved_offers(db)
    assert "Stopped:" in summary.lines()[-1]


def test_an_error_raised_while_reporting_stops_the_batch_at_once(shop, analyst, stub):
    """A page whose user clicks Stop is interrupted inside ``progress``: the drafts in flight are abandoned."""
    db, ids = shop
    answered = []

    def reply(body):
        answered.append(1)
        if len(answered) > 1:
            time.sleep(8)  # every draft after the first waits long for the service
        product = json.loads(body["messages"][0]["content"].split("<offer_data>\n")[1].split("\n</offer_data>")[0])
        return json.dumps({"subject": "", "body": f"{product['product_name']} for you."})

    stub("answer", reply=reply)

    def progress(fraction, message):
        raise RuntimeError("the page was interrupted")

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="interrupted"):
        _batch(db, analyst, ids[:6], PitchConfig(concurrency=3, deadline_seconds=20, timeout_seconds=20),
               api_key=KEY, progress=progress)
    assert time.monotonic() - started < 4  # not the 8 s the other drafts would take
    assert len(_saved_offers(db)) == 1  # the one that completed is kept


def test_an_offer_that_cannot_be_drafted_is_skipped_and_named(shop, analyst):
    db, ids = shop
    with db.engine.begin() as c:
        product = c.execute(text("SELECT product_id FROM offers WHERE id = :i"), {"i": ids[0]}).scalar_one()
        c.execute(text("UPDATE products SET name = '<>' WHERE id = :p"), {"p": product})
        unusable = set(c.execute(text("SELECT id FROM offers WHERE product_id = :p"), {"p": product}).scalars())
    summary = _batch(db, analyst, ids[:10])
    assert {o for o, _ in summary.skipped} == unusable & set(ids[:10]) and ids[0] in unusable
    assert all("no product name" in why for _, why in summary.skipped)
    assert _saved_offers(db) == set(ids[:10]) - unusable
    assert any(line.startswith(f"offer #{ids[0]} skipped") for line in summary.lines())


def test_unknown_offers_or_an_empty_batch_are_refused_before_anything_is_drafted(shop, analyst):
    db, ids = shop
    with pytest.raises(NotFound, match="#999999"):
        _batch(db, analyst, [ids[0], 999999])
    with pytest.raises(ValidationError, match="No offer"):
        _batch(db, analyst, [])
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Pitch)) == 0
