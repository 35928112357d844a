"""The audit log is a hash chain: an edited or deleted row is detected."""

from sqlalchemy import text

from crm_core.store.audit_log import record_event, verify_chain


def _three_events(db):
    with db.unit_of_work() as s:
        for i in range(3):
            record_event(s, actor="ann", action="offer.approve", entity="offer", entity_id=i,
                         before={"state": "pending"}, after={"state": "approved"}, reason="ok")


def test_intact_chain_verifies(db):
    _three_events(db)
    with db.read() as s:
        assert verify_chain(s) == []


def test_edited_row_is_detected(db):
    _three_events(db)
    with db.unit_of_work() as s:
        s.execute(text("UPDATE audit_events SET actor='mallory' WHERE id=2"))
    with db.read() as s:
        assert 2 in verify_chain(s)


def test_deleted_row_is_detected(db):
    _three_events(db)
    with db.unit_of_work() as s:
        s.execute(text("DELETE FROM audit_events WHERE id=2"))
    with db.read() as s:
        assert verify_chain(s) == [3]
