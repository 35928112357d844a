"""Moving many offers from one review state to another at once, race-safe on SQLite and PostgreSQL.

The one write path behind :mod:`crm_core.workflow.decisions`. Inside ONE unit of work:

1. lock the offers' rows (``SELECT ... FOR UPDATE`` in id order on PostgreSQL, so two
   bulk decisions over the same offers queue instead of deadlocking; SQLite's
   ``BEGIN IMMEDIATE`` already holds the only write lock);
2. classify them column-wise (the caller's rule says, per offer, why it must be skipped);
3. one conditional ``UPDATE offers ... WHERE id IN (...) AND state = ? AND version = ?
   RETURNING id`` per (state, version) group and chunk: an offer counts as changed only
   when the database says it changed it;
4. bulk-insert the ``decisions`` rows (state and version before) and append one audit
   event per offer to the chain (:func:`crm_core.store.audit_log.record_events`).

Why not read, then write: a plain read-then-write in a deferred SQLite transaction
recorded 986 of 1,000 concurrent approvals twice in a probe. A lock error that
still escapes (a PostgreSQL deadlock, SQLite's busy timeout under heavy load) is
retried a few times from the start, so it never reaches the user.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from crm_core.auth.roles import Actor
from crm_core.store.audit_log import record_events
from crm_core.store.models import Decision, Offer

ID_CHUNK = 5_000  # ids per statement: SQLite allows 32,766 bound parameters
RETRIES = 5
NO_SUCH_OFFER = "no such offer"
CHANGED_MEANWHILE = "changed by someone else while this decision was being saved: load the queue again"
# What the classification sees of each locked offer.
LOCKED_COLUMNS = ("id", "workspace_id", "state", "version", "gate", "submitted_by", "decided_by", "decided_at")
_LOCK_ERRORS_PG = {"40P01", "40001", "55P03"}  # deadlock, serialization failure, lock not available

Classifier = Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class Transition:
    """One kind of change: its decision word, the state it leads to and the offer columns it sets.

    Attributes:
        word: the ``decisions.decision`` value and the audit action's suffix (``offer.<word>``).
        target_state: the offer's state afterwards.
        sets_decider: whether the acting user becomes ``decided_by`` (a decision) or the
            decider is cleared (back to pending).
        sets_submitter: whether the acting user becomes ``submitted_by`` (a resubmission).
    """

    word: str
    target_state: str
    sets_decider: bool
    sets_submitter: bool = False


def unique_ids(offer_ids: Iterable) -> list[int]:
    """The ids as ints, each once, in the order given."""
    return list(dict.fromkeys(int(i) for i in offer_ids))


def apply_transition(db, actor: Actor, ids: list[int], transition: Transition, classify: Classifier, *,
                     reason: str | None) -> tuple[tuple[int, ...], dict[int, str]]:
    """Move the offers ``ids`` that ``classify`` lets through to ``transition.target_state``.

    Args:
        db: the Database.
        actor: who acts (recorded on the offers, the decisions and the audit events).
        ids: offer ids, each once.
        transition: what changes.
        classify: given the locked offers (columns :data:`LOCKED_COLUMNS`, indexed by id),
            returns per offer the reason it is skipped, or None/NA when it may change.
        reason: the why recorded with the decisions and events (None: none given).
    Returns:
        ``(changed ids in the order given, {skipped id: reason})``.
    """
    for attempt in range(RETRIES):
        try:
            return _apply_once(db, actor, ids, transition, classify, reason)
        except DBAPIError as exc:
            if attempt == RETRIES - 1 or not _is_lock_error(exc):
                raise
            time.sleep(0.05 * 2 ** attempt)
    raise AssertionError("unreachable")


def _apply_once(db, actor, ids, transition, classify, reason):
    """One attempt of :func:`apply_transition` in one unit of work."""
    if not ids:
        return (), {}
    with db.unit_of_work() as s:
        current = _locked_offers(s, ids)
        why = classify(current).reindex(current.index)
        go = current[why.isna().to_numpy()]
        now = dt.datetime.now(dt.timezone.utc)
        changed = _conditional_update(s, go, transition, actor.username, now)
        _record(s, actor, go[go.index.isin(list(changed))], transition, reason, now)
    skipped = {int(i): str(r) for i, r in why.dropna().items()}
    skipped.update({i: NO_SUCH_OFFER for i in ids if i not in current.index})
    skipped.update({int(i): CHANGED_MEANWHILE for i in go.index if i not in changed})
    return tuple(i for i in ids if i in changed), {i: skipped[i] for i in ids if i in skipped}


def _locked_offers(s: Session, ids: list[int]) -> pd.DataFrame:
    """The offers' rows, locked until the transaction ends (ascending id, chunk by chunk)."""
    columns = [getattr(Offer, c) for c in LOCKED_COLUMNS]
    ordered = sorted(ids)
    rows = []
    for start in range(0, len(ordered), ID_CHUNK):
        chunk = ordered[start:start + ID_CHUNK]
        rows += s.execute(select(*columns).where(Offer.id.in_(chunk)).order_by(Offer.id).with_for_update()).all()
    frame = pd.DataFrame(rows, columns=list(LOCKED_COLUMNS))
    frame["id"] = frame["id"].astype("int64")
    frame["version"] = frame["version"].astype("int64")
    return frame.set_index("id", drop=False)


def _conditional_update(s: Session, go: pd.DataFrame, transition: Transition, username: str,
                        now: dt.datetime) -> set[int]:
    """UPDATE the offers ``go`` where state and version are still as read; the ids the database changed."""
    values = {"state": transition.target_state, "version": Offer.version + 1}
    if transition.sets_decider:
        values.update(decided_by=username, decided_at=now)
    else:
        values.update(decided_by=None, decided_at=None)
    if transition.sets_submitter:
        values["submitted_by"] = username
    table = Offer.__table__
    changed: set[int] = set()
    for (state, version), group in go.groupby(["state", "version"], sort=True):
        group_ids = sorted(int(i) for i in group.index)
        for start in range(0, len(group_ids), ID_CHUNK):
            chunk = group_ids[start:start + ID_CHUNK]
            stmt = (table.update()
                    .where(table.c.id.in_(chunk), table.c.state == state, table.c.version == int(version))
                    .values(**values).returning(table.c.id))
            changed.update(int(i) for i in s.execute(stmt).scalars())
    return changed


def _record(s: Session, actor: Actor, done: pd.DataFrame, transition: Transition, reason: str | None,
            now: dt.datetime) -> None:
    """The decisions rows and the audit events of the changed offers (ids only, no personal data)."""
    if done.empty:
        return
    ids = done["id"].tolist()
    workspaces = done["workspace_id"].astype("int64").tolist()
    states = done["state"].astype(str).tolist()
    versions = done["version"].tolist()
    s.execute(insert(Decision.__table__), [
        {"workspace_id": w, "offer_id": i, "decision": transition.word, "reason": reason,
         "decided_by": actor.username, "decided_at": now, "state_before": st, "version_before": v}
        for i, w, st, v in zip(ids, workspaces, states, versions)])
    record_events(s, [
        {"action": f"offer.{transition.word}", "entity": "offer", "entity_id": i, "workspace_id": w,
         "before": {"state": st, "version": v}, "after": {"state": transition.target_state, "version": v + 1},
         "reason": reason}
        for i, w, st, v in zip(ids, workspaces, states, versions)], actor=actor)


def _is_lock_error(exc: DBAPIError) -> bool:
    """Whether ``exc`` is a lock conflict worth retrying (not a bug)."""
    code = getattr(exc.orig, "pgcode", None)
    if code in _LOCK_ERRORS_PG:
        return True
    text = str(exc.orig).lower()
    return "database is locked" in text or "database table is locked" in text or "deadlock" in text
