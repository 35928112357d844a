"""Checking the audit log: is every event as written, and is the log as long as it was?

Each event's hash covers its fields and the previous event's hash under a key
kept outside the database (:mod:`crm_core.store.audit_log`), so an edited,
deleted or swapped row shows as the first event whose hash or link does not
match. Removing the newest events leaves a shorter but consistent chain: to
catch that, an auditor keeps the head hash a check printed and gives it to a
later check (``expect_head``), which says whether that hash is still the head,
an older event's (and how many came after), or nowhere in the log.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from crm_core.errors import ConfigError
from crm_core.store.audit_log import GENESIS, ChainCheck, check_chain, event_count, key_file
from crm_core.store.models import AuditEvent

HEAD, OLDER, MISSING = "head", "older", "missing"


@dataclass(frozen=True)
class ChainReport(ChainCheck):
    """The result of checking the audit log: the store's ChainCheck (``events``, ``head``, ``bad``,
    ``intact``, ``first_bad``) and where an expected head stands.

    Attributes:
        expected_head: the hash given to compare with (None when none was given).
        expected_at: where that hash is: ``head``, ``older`` (an earlier event's) or ``missing``.
        expected_event: the id of the event with that hash (None when missing or genesis).
        events_after: how many events came after it (0 when it is the head).
    """

    expected_head: str | None = None
    expected_at: str | None = None
    expected_event: int | None = None
    events_after: int | None = None

    @property
    def ok(self) -> bool:
        """Intact, and the expected head (when given) is still in the log."""
        return self.intact and self.expected_at != MISSING


def verify_audit_chain(db, *, expect_head: str | None = None) -> ChainReport:
    """Recompute every hash of the audit log (streamed) and compare the head with ``expect_head``.

    Args:
        db: the Database.
        expect_head: a head hash printed by an earlier check (optional).
    Returns:
        A ChainReport.
    Raises:
        ConfigError: the log has events but the key file they were written with is missing
            (a new key would call every event bad).
    """
    with db.read() as s:
        if event_count(s) and not key_file().exists():
            raise ConfigError(f"The audit log key {key_file()} is missing, so the chain cannot be checked. Point "
                              "NEXTBEST_AUDIT_KEY_FILE at the key the log was written with.")
        chain = check_chain(s)
        if expect_head is None:
            return ChainReport(chain.events, chain.head, chain.bad)
        wanted = expect_head.strip().lower()
        if wanted == chain.head:
            event = s.scalar(select(AuditEvent.id).where(AuditEvent.hash == wanted))
            return ChainReport(chain.events, chain.head, chain.bad, wanted, HEAD, event, 0)
        event = None if wanted == GENESIS else s.scalar(select(AuditEvent.id).where(AuditEvent.hash == wanted))
        if event is None and wanted != GENESIS:
            return ChainReport(chain.events, chain.head, chain.bad, wanted, MISSING)
        after = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.id > (event or 0)))
        return ChainReport(chain.events, chain.head, chain.bad, wanted, OLDER, event, int(after or 0))


def last_change(db) -> str:
    """The hash of the newest audit event (GENESIS when there is none): a cache key for page data.

    Every change (an import, a run or its deletion, a decision, an edit, a merge, a restore, ...) appends an
    event in the same transaction, from the app or the CLI, so data read after the head was ``h`` is still
    current while the head is ``h``. One primary-key lookup. A hash rather than an id: a database restored
    from a backup or built anew does not repeat the old one's.
    """
    with db.read() as s:
        return s.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS
