"""Append-only, hash-chained audit log.

Each event stores the hash of the previous one; the hash covers every field,
so editing or deleting a row breaks the chain and :func:`verify_chain` finds it.
Write events inside the same unit of work as the change they describe.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.store.models import AuditEvent

GENESIS = "0" * 64


def _digest(prev_hash: str, occurred_at: dt.datetime, actor: str, action: str, entity: str,
            entity_id: str | None, before, after, reason: str | None, workspace_id: int | None) -> str:
    stamp = occurred_at.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")
    body = json.dumps([prev_hash, stamp, actor, action, entity, entity_id, before, after, reason, workspace_id],
                      sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def record_event(session: Session, *, actor: str, action: str, entity: str, entity_id=None,
                 before: dict | None = None, after: dict | None = None, reason: str | None = None,
                 workspace_id: int | None = None) -> AuditEvent:
    """Append one event (who, what, before, after, why) to the chain, in ``session``'s transaction."""
    last = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    prev = last or GENESIS
    now = dt.datetime.now(dt.timezone.utc)
    entity_id = None if entity_id is None else str(entity_id)
    before = json.loads(json.dumps(before, default=str)) if before is not None else None
    after = json.loads(json.dumps(after, default=str)) if after is not None else None
    event = AuditEvent(workspace_id=workspace_id, occurred_at=now, actor=actor, action=action, entity=entity,
                       entity_id=entity_id, before_json=before, after_json=after, reason=reason, prev_hash=prev,
                       hash=_digest(prev, now, actor, action, entity, entity_id, before, after, reason, workspace_id))
    session.add(event)
    session.flush()
    return event


def verify_chain(session: Session) -> list[int]:
    """Ids of events whose hash or link does not match (empty when the log is intact)."""
    bad, prev = [], GENESIS
    for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        occurred = e.occurred_at if e.occurred_at.tzinfo else e.occurred_at.replace(tzinfo=dt.timezone.utc)
        expect = _digest(prev, occurred, e.actor, e.action, e.entity, e.entity_id, e.before_json,
                         e.after_json, e.reason, e.workspace_id)
        if e.prev_hash != prev or e.hash != expect:
            bad.append(e.id)
        prev = e.hash
    return bad
