"""Use cases on workspaces: creating one (an import may create its workspace)."""

from __future__ import annotations

from sqlalchemy import select

from crm_core.auth import Action, Actor, require
from crm_core.store.models import Workspace
from crm_core.views.workspaces import WorkspaceInfo, workspace_info


def ensure_workspace(db, name: str, actor: Actor, *, kind: str = "retail", currency: str = "GBP",
                     currency_decimals: int = 2, timezone: str = "Europe/London",
                     description: str | None = None) -> WorkspaceInfo:
    """Return workspace ``name``, creating it when missing (analyst and up may create one by importing)."""
    require(actor, Action.IMPORT_DATA)
    with db.unit_of_work() as s:
        ws = s.scalar(select(Workspace).where(Workspace.name == name))
        if ws is None:
            ws = Workspace(name=name, kind=kind, currency=currency, currency_decimals=currency_decimals,
                           timezone=timezone, description=description)
            s.add(ws)
            s.flush()
        return workspace_info(ws)
