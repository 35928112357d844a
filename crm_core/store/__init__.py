"""Storage: SQLAlchemy models, the Database door, migrations, the audit log."""

from crm_core.store.db import Database, default_url

__all__ = ["Database", "default_url"]
