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
    assert current_revision(db) == head_revision() == "0005"
    assert "saved_mappings" in inspect(db.engine).get_table_names()
    with db.engine.connect() as c:
        assert c.execute(text("SELECT customer_code FROM customers")).scalar() == "00042"


def test_upgrade_is_idempotent(db):
    db.upgrade()
    db.upgrade()
    assert current_revision(db) == head_revision() == "0005"


def test_models_match_the_newest_revision(db):
    """A model change without a migration would leave the schema behind."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from crm_core.store.models import Base

    with db.engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), Base.metadata)
    assert diff == []
