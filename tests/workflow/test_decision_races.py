"""Managers deciding the same 1,000 offers at the same moment: exactly one decision per offer, no lock error.

Each worker approves all 1,000 offers in batches of 50, in its own seeded random
order, so the winners interleave: 2 and 8 threads and 8 processes on a SQLite
file, 2 and 8 threads on a real PostgreSQL server.
"""

from __future__ import annotations

import multiprocessing
import re
import sys
import threading
import types
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from crm_core.store.audit_log import check_chain
from crm_core.store.models import AuditEvent
from tests.workflow.race_worker import decide_in_batches, decide_in_process
from tests.workflow.review_builders import decisions_per_offer, insert_pending_offers, offer_states

OFFERS = 1_000


def _threads(db, ids, workers: int) -> list[dict]:
    start = threading.Barrier(workers)
    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(decide_in_batches, db.url, f"m{k}", ids, k, start) for k in range(workers)]
        return [f.result() for f in futures]


def _assert_exactly_one_decision_each(db, ids, results) -> None:
    assert [r["errors"] for r in results] == [[] for _ in results]
    winner = {}
    for r in results:
        for offer in r["decided"]:
            assert offer not in winner, f"offer {offer} decided by {winner.get(offer)} and {r['user']}"
            winner[offer] = r["user"]
    assert sorted(winner) == sorted(ids)
    assert decisions_per_offer(db) == {i: 1 for i in ids}
    states = offer_states(db, ids)
    assert all(states[i] == ("approved", 2, winner[i]) for i in ids)
    told = re.compile(r"already approved by (m\d+) at \d\d \w{3} \d{4} \d\d:\d\d UTC")
    for r in results:  # every loser was told who won
        for offer, why in r["skipped"].items():
            match = told.fullmatch(why)
            assert match and match.group(1) == winner[offer], why
        assert len(r["decided"]) + len(r["skipped"]) == OFFERS
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.entity == "offer")) == OFFERS
        assert check_chain(s).intact


@pytest.mark.parametrize("workers", [2, 8])
def test_threads_deciding_the_same_offers_record_one_decision_each(db, workers):
    ids = insert_pending_offers(db, OFFERS)
    _assert_exactly_one_decision_each(db, ids, _threads(db, ids, workers))


@pytest.fixture
def plain_main(monkeypatch):
    """A bare ``__main__`` for spawned workers.

    Streamlit's AppTest leaves the last page it ran in ``sys.modules["__main__"]``;
    a spawned child would re-run that page (and its login guard) on start-up.
    """
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))


def test_eight_processes_deciding_the_same_offers_record_one_decision_each(db, plain_main):
    ids = insert_pending_offers(db, OFFERS)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(8) as pool:
        start = manager.Barrier(8)
        results = pool.map(decide_in_process, [(db.url, f"m{k}", ids, k, start) for k in range(8)])
    assert len({r["user"] for r in results}) == 8
    _assert_exactly_one_decision_each(db, ids, results)


@pytest.mark.postgres
@pytest.mark.parametrize("workers", [2, 8])
def test_on_postgres_threads_record_one_decision_each(pg_db, workers):
    ids = insert_pending_offers(pg_db, OFFERS)
    _assert_exactly_one_decision_each(pg_db, ids, _threads(pg_db, ids, workers))
