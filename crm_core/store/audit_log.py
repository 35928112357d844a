"""Append-only, hash-chained audit log with keyed hashes.

Each event stores the hash of the previous one; the hash covers every field
and is an HMAC-SHA256 under a key kept outside the database
(:func:`crm_core.keys.audit_key_path`), so editing, deleting or swapping rows
breaks the chain, and someone who can write the database but not read the
key cannot rebuild it. The database refuses UPDATE and DELETE on the table
(triggers, revision 0006).

Appends are serialised: inside a unit of work SQLite already holds the write
lock (``BEGIN IMMEDIATE``); on PostgreSQL :func:`record_event` takes a
transaction-level advisory lock before reading the head. Should two writers
still read the same head, ``prev_hash`` is unique, so the second insert fails
instead of forking the chain. Write events inside the same unit of work as
the change they describe; put ids in them, never personal data.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from crm_core.auth.roles import Actor
from crm_core.keys import audit_key_path, secret_key
from crm_core.store.models import AuditEvent

GENESIS = "0" * 64
_PG_CHAIN_LOCK = 7_304_201  # any fixed number: the advisory lock that serialises appends on PostgreSQL


@functools.lru_cache(maxsize=8)
def _key(path: str) -> bytes:
    return secret_key(path).encode("ascii")


def audit_key() -> bytes:
    """The HMAC key of the chain (created on first use; see :mod:`crm_core.keys`)."""
    return _key(str(audit_key_path()))


def _stamp(occurred_at: dt.datetime) -> str:
    if occurred_at.tzinfo is None:  # SQLite gives naive values back; they were stored as UTC
        occurred_at = occurred_at.replace(tzinfo=dt.timezone.utc)
    return occurred_at.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


def event_digest(key: bytes, prev_hash: str, occurred_at: dt.datetime, actor: str, role: str | None, action: str,
                 entity: str, entity_id: str | None, before, after, reason: str | None,
                 workspace_id: int | None) -> str:
    """HMAC-SHA256 of one event's fields and the previous hash (canonical JSON)."""
    body = json.dumps([prev_hash, _stamp(occurred_at), actor, role, action, entity, entity_id, before, after, reason,
                       workspace_id], sort_keys=True, default=str, separators=(",", ":"))
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()


def _jsonable(value):
    return json.loads(json.dumps(value, default=str)) if value is not None else None


def record_event(session: Session, *, actor: Actor | str, action: str, entity: str, entity_id=None,
                 before: dict | None = None, after: dict | None = None, reason: str | None = None,
                 workspace_id: int | None = None, role: str | None = None) -> AuditEvent:
    """Append one event (who, role, what, before, after, why) to the chain, in ``session``'s transaction.

    Args:
        actor: the acting user (an Actor gives the role too) or a system principal's name.
        role: the role, when ``actor`` is a plain name (e.g. ``"system"``).
    """
    if isinstance(actor, Actor):
        actor, role = actor.username, actor.role.label
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_CHAIN_LOCK})
    prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS
    now = dt.datetime.now(dt.timezone.utc)
    entity_id = None if entity_id is None else str(entity_id)
    before, after = _jsonable(before), _jsonable(after)
    digest = event_digest(audit_key(), prev, now, actor, role, action, entity, entity_id, before, after, reason,
                          workspace_id)
    event = AuditEvent(workspace_id=workspace_id, occurred_at=now, actor=actor, actor_role=role, action=action,
                       entity=entity, entity_id=entity_id, before_json=before, after_json=after, reason=reason,
                       prev_hash=prev, hash=digest)
    session.add(event)
    session.flush()
    return event


def record_events(session: Session, events: list[dict], *, actor: Actor | str, role: str | None = None) -> int:
    """Append many events of one actor at once (a bulk decision): one head read, one insert, one chain.

    Args:
        events: dicts with ``action, entity`` and optionally ``entity_id, before, after, reason,
            workspace_id`` (the keyword arguments of :func:`record_event`).
    Returns:
        How many events were appended.
    """
    if not events:
        return 0
    if isinstance(actor, Actor):
        actor, role = actor.username, actor.role.label
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_CHAIN_LOCK})
    prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS
    key, now, rows = audit_key(), dt.datetime.now(dt.timezone.utc), []
    for e in events:
        entity_id = None if e.get("entity_id") is None else str(e["entity_id"])
        before, after = _jsonable(e.get("before")), _jsonable(e.get("after"))
        digest = event_digest(key, prev, now, actor, role, e["action"], e["entity"], entity_id, before, after,
                              e.get("reason"), e.get("workspace_id"))
        rows.append(dict(workspace_id=e.get("workspace_id"), occurred_at=now, actor=actor, actor_role=role,
                         action=e["action"], entity=e["entity"], entity_id=entity_id, before_json=before,
                         after_json=after, reason=e.get("reason"), prev_hash=prev, hash=digest))
        prev = digest
    session.execute(AuditEvent.__table__.insert(), rows)  # in this order: ids follow the chain
    return len(rows)


@dataclass(frozen=True)
class ChainCheck:
    """The result of checking the whole chain.

    Attributes:
        events: how many events there are.
        head: the hash of the newest event (GENESIS for an empty log); keep it to catch a later truncation.
        bad: ids of the events whose hash or link does not match, oldest first.
    """

    events: int
    head: str
    bad: tuple[int, ...]

    @property
    def intact(self) -> bool:
        """Whether every event matches its hash and links to the one before."""
        return not self.bad

    @property
    def first_bad(self) -> int | None:
        """Id of the first event that does not match (None when intact)."""
        return self.bad[0] if self.bad else None


def check_chain(session: Session, *, key: bytes | None = None) -> ChainCheck:
    """Recompute every hash in id order and report the events that do not match (streamed, any size)."""
    key = key or audit_key()
    bad, prev, count = [], GENESIS, 0
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=2_000)).scalars()
    for e in rows:
        count += 1
        expect = event_digest(key, prev, e.occurred_at, e.actor, e.actor_role, e.action, e.entity, e.entity_id,
                              e.before_json, e.after_json, e.reason, e.workspace_id)
        if e.prev_hash != prev or not hmac.compare_digest(e.hash, expect):
            bad.append(e.id)
        prev = e.hash
    return ChainCheck(events=count, head=prev, bad=tuple(bad))


def verify_chain(session: Session) -> list[int]:
    """Ids of events whose hash or link does not match (empty when the log is intact)."""
    return list(check_chain(session).bad)


def event_count(session: Session) -> int:
    """How many events the log holds."""
    return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def key_file() -> Path:
    """The file the chain's key is read from (for messages; never print the key)."""
    return audit_key_path()
