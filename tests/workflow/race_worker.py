"""One manager deciding offers in shuffled batches: run in a thread or in a process of its own (spawn)."""

from __future__ import annotations

import random

from crm_core.auth import Actor, Role
from crm_core.store import Database
from crm_core.workflow import decide_offers

BATCH = 50


def decide_in_batches(url: str, username: str, ids: list[int], seed: int,
                      start=None) -> dict:
    """Approve ``ids`` as manager ``username``, 50 at a time in a seeded random order.

    ``start`` (a threading or multiprocessing-manager Barrier) lines the workers up first.

    Returns:
        ``{"user", "decided": [...], "skipped": {id: reason}, "errors": [repr, ...]}``;
        any exception is caught and returned, so a test sees it instead of a dead worker.
    """
    order = list(ids)
    random.Random(seed).shuffle(order)
    db = Database.open(url)
    decided, skipped, errors = [], {}, []
    if start is not None:
        start.wait()
    for begin in range(0, len(order), BATCH):
        try:
            outcome = decide_offers(db, Actor(username, Role.MANAGER), order[begin:begin + BATCH], "approved")
        except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
            errors.append(repr(exc))
            continue
        decided += outcome.decided
        skipped.update(outcome.skipped)
    return {"user": username, "decided": decided, "skipped": skipped, "errors": errors}


def decide_in_process(args: tuple) -> dict:
    """:func:`decide_in_batches` for a process pool (``(url, username, ids, seed, barrier proxy)``)."""
    url, username, ids, seed, start = args
    try:
        return decide_in_batches(url, username, ids, seed, start)
    finally:
        Database.close_all()
