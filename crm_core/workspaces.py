"""Workspaces: separate data worlds (a shop, a bank) in one database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from crm_core.auth import Action, Actor, require
from crm_core.errors import NotFound
from crm_core.store.models import Workspace


@dataclass(frozen=True)
class WorkspaceInfo:
    """A workspace as pages and scripts see it."""

    id: int
    name: str
    kind: str
    currency: str
    currency_decimals: int
    timezone: str
    description: str | None = None

    @property
    def minor_per_major(self) -> int:
        return 10 ** self.currency_decimals


def _info(ws: Workspace) -> WorkspaceInfo:
    return WorkspaceInfo(ws.id, ws.name, ws.kind, ws.currency, ws.currency_decimals, ws.timezone, ws.description)


def list_workspaces(db) -> list[WorkspaceInfo]:
    """Every workspace, by name."""
    with db.read() as s:
        return [_info(w) for w in s.scalars(select(Workspace).order_by(Workspace.name))]


def get_workspace(db, name: str) -> WorkspaceInfo:
    """The workspace called ``name``; raises NotFound naming the ones there are."""
    with db.read() as s:
        ws = s.scalar(select(Workspace).where(Workspace.name == name))
        if ws is None:
            names = [w.name for w in s.scalars(select(Workspace))]
            raise NotFound(f"No workspace {name!r}; there are: {', '.join(names) or 'none yet'}.")
        return _info(ws)


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
        return _info(ws)
