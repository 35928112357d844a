"""Row locks for read-then-write use cases that must hold on every database.

On SQLite every unit of work starts with ``BEGIN IMMEDIATE``: one writer at a
time, so a read followed by a write inside it cannot interleave with another
writer. PostgreSQL runs writers side by side; there the rows a decision rests
on are locked with ``SELECT ... FOR UPDATE`` until the transaction ends
(SQLAlchemy leaves the clause out on SQLite, where it is not needed).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.store.models import User, Workspace


def lock_workspace(session: Session, workspace_id: int) -> None:
    """Hold the workspace's row until the transaction ends (imports, runs, campaigns of one workspace queue)."""
    session.execute(select(Workspace.id).where(Workspace.id == workspace_id).with_for_update())


def locked_user(session: Session, username: str) -> User | None:
    """The user row, held until the transaction ends (failed-login counts, lockouts, token versions)."""
    return session.scalar(select(User).where(User.username == username).with_for_update())


def lock_active_admins(session: Session) -> None:
    """Hold every active admin's row: two admins demoting each other at once cannot leave none."""
    session.execute(select(User.id).where(User.role == "admin", User.is_active.is_(True)).with_for_update())
