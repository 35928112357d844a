"""The audit log: keyed hash chain, append-only in the database, never forked by concurrent writers."""

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from crm_core.auth import Actor, Role
from crm_core.store.audit_log import GENESIS, check_chain, event_digest, record_event, verify_chain


def _events(db, n=5):
    with db.unit_of_work() as s:
        for i in range(n):
            record_event(s, actor=Actor("max", Role.MANAGER), action="offer.approve", entity="offer", entity_id=i,
                         before={"state": "pending", "version": 1}, after={"state": "approved", "version": 2},
                         reason="ok")


def _drop_triggers(db):
    """What someone holding the database file could do: the triggers are just rows in it."""
    with db.engine.begin() as c:
        c.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        c.exec_driver_sql("DROP TRIGGER audit_events_no_delete")


def test_intact_chain_verifies_with_count_and_head(db):
    _events(db)
    with db.read() as s:
        check = check_chain(s)
    assert check.intact and check.events == 5 and check.first_bad is None
    with db.engine.connect() as c:
        assert check.head == c.exec_driver_sql("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1").scalar()


def test_events_record_the_role_and_link_to_the_previous_hash(db):
    _events(db, 2)
    with db.engine.connect() as c:
        rows = c.exec_driver_sql("SELECT actor, actor_role, prev_hash, hash FROM audit_events ORDER BY id").all()
    assert [r.actor_role for r in rows] == ["manager", "manager"]
    assert rows[0].prev_hash == GENESIS and rows[1].prev_hash == rows[0].hash


def test_update_and_delete_are_refused_by_the_database(db):
    _events(db, 2)
    for statement in ("UPDATE audit_events SET actor = 'mallory' WHERE id = 1", "DELETE FROM audit_events WHERE id = 2",
                      "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.unit_of_work() as s:
                s.execute(text(statement))
    with db.read() as s:
        assert check_chain(s).events == 2 and verify_chain(s) == []


def test_deleting_a_workspace_leaves_its_events_alone(db, analyst):
    from crm_core.services.workspaces import ensure_workspace

    ws = ensure_workspace(db, "shop", analyst)
    with db.unit_of_work() as s:
        record_event(s, actor=analyst, action="test", entity="workspace", entity_id=ws.id, workspace_id=ws.id)
    with db.unit_of_work() as s:
        s.execute(text("DELETE FROM workspaces WHERE id = :id"), {"id": ws.id})
    with db.engine.connect() as c:
        assert c.exec_driver_sql("SELECT workspace_id FROM audit_events").scalar() == ws.id


@pytest.mark.parametrize("byte_of", ["actor", "reason", "before_json", "hash"])
def test_a_flipped_byte_is_found_at_its_row(db, byte_of):
    _events(db)
    _drop_triggers(db)
    with db.engine.begin() as c:
        value = c.exec_driver_sql(f"SELECT {byte_of} FROM audit_events WHERE id = 3").scalar()
        flipped = value[:-2] + chr(ord(value[-2]) ^ 1) + value[-1]
        c.exec_driver_sql(f"UPDATE audit_events SET {byte_of} = ? WHERE id = 3", (flipped,))
    with db.read() as s:
        assert check_chain(s).first_bad == 3


@pytest.mark.parametrize("deleted, first_bad", [(1, 2), (3, 4), (5, None)])
def test_a_deleted_row_is_found_at_the_next_one(db, deleted, first_bad):
    _events(db)
    _drop_triggers(db)
    with db.engine.begin() as c:
        c.exec_driver_sql("DELETE FROM audit_events WHERE id = ?", (deleted,))
    with db.read() as s:
        check = check_chain(s)
    assert check.first_bad == first_bad
    if first_bad is None:  # the newest event gone: only the head an auditor kept tells
        assert check.events == 4


def test_two_swapped_rows_are_found_at_the_first_of_them(db):
    _events(db)
    _drop_triggers(db)
    with db.engine.begin() as c:
        cols = "occurred_at, actor, actor_role, action, entity, entity_id, before_json, after_json, reason, prev_hash, hash"
        two, four = (c.exec_driver_sql(f"SELECT {cols} FROM audit_events WHERE id = ?", (i,)).one() for i in (2, 4))
        c.exec_driver_sql("UPDATE audit_events SET hash = 'x' || hash, prev_hash = 'x' || prev_hash WHERE id IN (2, 4)")
        sets = ", ".join(f"{col} = ?" for col in cols.split(", "))
        c.exec_driver_sql(f"UPDATE audit_events SET {sets} WHERE id = 2", tuple(four))
        c.exec_driver_sql(f"UPDATE audit_events SET {sets} WHERE id = 4", tuple(two))
    with db.read() as s:
        assert check_chain(s).first_bad == 2


def test_a_chain_rebuilt_without_the_key_does_not_verify(db):
    """Someone who can write the database but not read the key recomputes every hash with a guessed key."""
    _events(db, 3)
    _drop_triggers(db)
    with db.engine.begin() as c:
        rows = c.exec_driver_sql("SELECT id, occurred_at, actor, actor_role, action, entity, entity_id, before_json, "
                                 "after_json, reason, workspace_id FROM audit_events ORDER BY id").all()
        prev = GENESIS
        import datetime as dt
        import json
        for r in rows:
            actor = "mallory" if r.id == 2 else r.actor
            digest = event_digest(b"a guessed key", prev, dt.datetime.fromisoformat(r.occurred_at), actor,
                                  r.actor_role, r.action, r.entity, r.entity_id, json.loads(r.before_json),
                                  json.loads(r.after_json), r.reason, r.workspace_id)
            c.exec_driver_sql("UPDATE audit_events SET actor = ?, prev_hash = ?, hash = ? WHERE id = ?",
                              (actor, prev, digest, r.id))
            prev = digest
    with db.read() as s:
        assert check_chain(s).first_bad == 1


def test_concurrent_writers_never_fork_the_chain(tmp_path):
    from crm_core.store import Database

    db = Database.open(f"sqlite:///{tmp_path / 'race.db'}")
    db.upgrade()
    errors = []

    def write(worker):
        try:
            for i in range(25):
                with db.unit_of_work() as s:
                    record_event(s, actor=f"w{worker}", action="test", entity="offer", entity_id=i)
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.read() as s:
        check = check_chain(s)
    assert check.intact and check.events == 50
    db.engine.dispose()


def test_a_bulk_append_is_one_intact_chain_after_single_events(db):
    from crm_core.store.audit_log import record_events

    _events(db, 2)
    with db.unit_of_work() as s:
        n = record_events(s, [{"action": "offer.approved", "entity": "offer", "entity_id": i,
                               "before": {"version": 1}, "after": {"version": 2}, "workspace_id": 1}
                              for i in range(300)], actor=Actor("max", Role.MANAGER))
    assert n == 300
    _events(db, 1)
    with db.read() as s:
        check = check_chain(s)
    assert check.intact and check.events == 303
    with db.engine.connect() as c:
        ids = c.exec_driver_sql("SELECT entity_id FROM audit_events WHERE action = 'offer.approved' ORDER BY id")
        assert [r[0] for r in ids] == [str(i) for i in range(300)]
