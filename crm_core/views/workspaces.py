"""The read side of workspaces: separate data worlds (a shop, a bank) in one database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select

from crm_core.errors import NotFound
from crm_core.money import minor_per_major
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
        """Minor units per major unit of the workspace's currency (see :mod:`crm_core.money`)."""
        return minor_per_major(self.currency_decimals)


def workspace_info(ws: Workspace) -> WorkspaceInfo:
    """A workspace row as the frozen WorkspaceInfo pages and use cases work with."""
    return WorkspaceInfo(ws.id, ws.name, ws.kind, ws.currency, ws.currency_decimals, ws.timezone, ws.description)


def list_workspaces(db) -> list[WorkspaceInfo]:
    """Every workspace, by name."""
    with db.read() as s:
        return [workspace_info(w) for w in s.scalars(select(Workspace).order_by(Workspace.name))]


def get_workspace(db, name: str) -> WorkspaceInfo:
    """The workspace called ``name``; raises NotFound naming the ones there are."""
    with db.read() as s:
        ws = s.scalar(select(Workspace).where(Workspace.name == name))
        if ws is None:
            names = [w.name for w in s.scalars(select(Workspace))]
            raise NotFound(f"No workspace {name!r}; there are: {', '.join(names) or 'none yet'}.")
        return workspace_info(ws)


def default_workspace(workspaces: list[WorkspaceInfo]) -> WorkspaceInfo | None:
    """The workspace a new session opens on: the one set up first (the demo's shop, then the bank)."""
    return min(workspaces, key=lambda w: w.id) if workspaces else None


def today_in(workspace: WorkspaceInfo) -> dt.date:
    """Today's date in the workspace's time zone (UTC when the zone is unknown)."""
    try:
        zone = ZoneInfo(workspace.timezone)
    except (KeyError, ValueError):
        zone = dt.timezone.utc
    return dt.datetime.now(zone).date()
