"""Schema versioning: an upgrade from an earlier revision keeps existing rows."""

from sqlalchemy import inspect, text

from crm_core.store import Database
from crm_core.store.migrate import current_revision, head_revision, upgrade


def test_upgrade_from_first_revision_keeps_rows(tmp_path):
    db = Database.open(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(db, "0001")
    assert current_revision(db) == "0001"
    assert "saved_mappings" not in inspect(db.engine).get_table_names()
    with db.engine.begin() as c:
        c.execute(text("INSERT INTO workspaces (name, currency, currency_decimals, timezone, kind, created_at) "
                       "VALUES ('shop', 'GBP', 2, 'Europe/London', 'retail', '2025-01-01 00:00:00')"))
        c.execute(text("INSERT INTO customers (workspace_id, customer_code, created_at) "
                       "VALUES (1, '00042', '2025-01-01 00:00:00')"))
    db.upgrade()
    assert current_revision(db) == head_revision()
    assert "saved_mappings" in inspect(db.engine).get_table_names()
    with db.engine.connect() as c:
        assert c.execute(text("SELECT customer_code FROM customers")).scalar() == "00042"


def test_upgrade_is_idempotent(db):
    db.upgrade()
    db.upgrade()
    assert current_revision(db) == head_revision()


def test_models_match_the_newest_revision(db):
    """A model change without a migration would leave the schema behind."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from crm_core.store.models import Base

    with db.engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), Base.metadata)
    assert diff == []


def _old_chain(db, n: int) -> None:
    """Events as revisions 0001-0005 wrote them: plain SHA-256 hashes, no key."""
    import datetime as dt
    import hashlib
    import json

    prev = "0" * 64
    with db.engine.begin() as c:
        for i in range(n):
            at = dt.datetime(2026, 1, 1, 12, i, tzinfo=dt.timezone.utc)
            stamp = at.replace(tzinfo=None).isoformat(timespec="microseconds")
            body = json.dumps([prev, stamp, "ann", "import_data", "import_batch", str(i), None, {"rows": i}, None,
                               None], sort_keys=True, default=str, separators=(",", ":"))
            digest = hashlib.sha256(body.encode()).hexdigest()
            c.execute(text("INSERT INTO audit_events (occurred_at, actor, action, entity, entity_id, after_json, "
                           "prev_hash, hash) VALUES (:at, 'ann', 'import_data', 'import_batch', :e, :after, :p, :h)"),
                      {"at": at.replace(tzinfo=None), "e": str(i), "after": json.dumps({"rows": i}), "p": prev,
                       "h": digest})
            prev = digest


def test_upgrade_rekeys_an_intact_old_chain_and_makes_it_append_only(tmp_path):
    from crm_core.store.audit_log import check_chain

    db = Database.open(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(db, "0005")
    _old_chain(db, 4)
    db.upgrade()
    with db.read() as s:
        check = check_chain(s)
    assert check.intact and check.events == 4
    with db.engine.connect() as c:
        triggers = c.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars().all()
    assert set(triggers) >= {"audit_events_no_update", "audit_events_no_delete"}


def test_upgrade_refuses_to_rekey_a_chain_that_was_already_broken(tmp_path):
    import pytest

    db = Database.open(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(db, "0005")
    _old_chain(db, 4)
    with db.engine.begin() as c:
        c.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE id = 3"))
    with pytest.raises(RuntimeError, match="already broken at event 3"):
        db.upgrade()
