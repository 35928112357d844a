"""Use cases on workspaces: creating one (an import may create its workspace).

A workspace has one currency and one time zone. Neither is assumed: the
importer passes the currency it detected in the file (or the one the user
chose), and the time zone the user chose; a workspace made without a known
currency gets ``XXX`` (ISO 4217: no currency), shown as plain numbers, never GBP.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import select

from crm_core.auth import Action, Actor, require
from crm_core.errors import ValidationError
from crm_core.store.models import Workspace
from crm_core.views.workspaces import WorkspaceInfo, workspace_info

NO_CURRENCY = "XXX"


def timezone_choices() -> list[str]:
    """Every IANA time zone name this machine knows, sorted (for a picker)."""
    return sorted(available_timezones())


def machine_timezone() -> str:
    """The IANA name of this machine's own time zone when it can be read (a default to offer), else UTC."""
    import os
    from pathlib import Path

    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        try:
            name = Path("/etc/timezone").read_text(encoding="utf-8").strip()
        except OSError:
            link = Path("/etc/localtime")
            name = str(link.resolve()).split("zoneinfo/", 1)[-1] if link.is_symlink() else ""
    return name if name in available_timezones() else "UTC"


def check_timezone(name: str) -> str:
    """``name`` when it is an IANA time zone (``Europe/Paris``); ValidationError naming what to give otherwise."""
    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{name!r} is not a time zone: give an IANA name such as Europe/Paris, "
                              "America/New_York or UTC.") from None
    return str(name)


def now_in(timezone: str) -> dt.datetime:
    """The local wall-clock time in ``timezone`` (naive, to the second): an import's "now"."""
    return dt.datetime.now(ZoneInfo(check_timezone(timezone))).replace(tzinfo=None, microsecond=0)


def ensure_workspace(db, name: str, actor: Actor, *, kind: str = "retail", currency: str | None = None,
                     currency_decimals: int = 2, timezone: str = "UTC",
                     description: str | None = None) -> WorkspaceInfo:
    """Return workspace ``name``, creating it when missing (analyst and up may create one by importing).

    ``currency`` (ISO code; None: ``XXX``, no currency) and ``timezone`` (IANA name) are used only
    when the workspace is created: an existing workspace is never changed here.

    Raises:
        PermissionDenied; ValidationError for an unknown time zone or a currency that is not 3 letters.
    """
    require(actor, Action.IMPORT_DATA)
    code = (currency or NO_CURRENCY).strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValidationError(f"{currency!r} is not a currency code: give three letters such as EUR, USD or CHF.")
    check_timezone(timezone)
    with db.unit_of_work() as s:
        ws = s.scalar(select(Workspace).where(Workspace.name == name))
        if ws is None:
            ws = Workspace(name=name, kind=kind, currency=code, currency_decimals=currency_decimals,
                           timezone=timezone, description=description)
            s.add(ws)
            s.flush()
        return workspace_info(ws)
