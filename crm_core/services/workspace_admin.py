"""An admin's use cases on workspaces: create, rename, set currency, decimals, time zone and kind, delete.

Each checks ``Action.MANAGE_WORKSPACES``, holds the workspace's row while it
reads and writes (:func:`crm_core.store.locks.lock_workspace`: an import or a
run of the workspace waits), and records one audit event with what was before
and after. The audit log has no foreign key, so a deleted workspace's events stay.

Money is stored as integer minor units at the workspace's number of decimals
(:mod:`crm_core.money`): changing the decimals of a workspace that holds any
amount would silently multiply or divide every stored amount by ten, so it is
refused (the currency code alone may change: it relabels the same amounts).

How deleting stays fast (:func:`delete_rows`): several columns that point at
customers and offers have no index (``offers.customer_id``,
``offers.original_offer_id``, ``campaign_members.offer_id``), so SQLite's own
cascade looks through the whole child table once per deleted row; deleting a
run of 8,000 offers that way took 18 s, 2,000 took 1 s (quadratic). Here the
cascade is done set by set (one DELETE or UPDATE per child table and path, with
the ids as a subquery) with SQLite's row-by-row checks off, then SQLite's
``foreign_key_check`` confirms nothing was left pointing at a deleted row.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Table, delete, exists, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_core.auth import Action, Actor, require
from crm_core.errors import ConflictError, NotFound, ValidationError
from crm_core.free_text import checked_text
from crm_core.services.workspaces import check_timezone
from crm_core.store.audit_log import record_event
from crm_core.store.locks import lock_workspace
from crm_core.store.models import Base, PipelineRun, Workspace
from crm_core.views.workspaces import WorkspaceInfo, workspace_info

KINDS = ("retail", "bank")
MAX_NAME_CHARS = 100
MAX_DECIMALS = 4  # ISO 4217 currencies use 0 to 4 decimals


def create_workspace(db, actor: Actor, name: str, *, kind: str = "retail", currency: str = "XXX",
                     currency_decimals: int = 2, timezone: str = "UTC") -> WorkspaceInfo:
    """Create an empty workspace; returns it.

    Raises:
        PermissionDenied; ValidationError (a bad name, kind, currency, decimals or time zone);
        ConflictError (the name is taken).
    """
    require(actor, Action.MANAGE_WORKSPACES)
    values = {"name": _name(name), "kind": _kind(kind), "currency": _currency(currency),
              "currency_decimals": _decimals(currency_decimals), "timezone": check_timezone(timezone)}
    try:
        with db.unit_of_work() as s:
            _refuse_taken(s, values["name"])
            ws = Workspace(**values)
            s.add(ws)
            s.flush()
            record_event(s, actor=actor, action="workspace.created", entity="workspace", entity_id=ws.id,
                         after=values, workspace_id=ws.id)
            return workspace_info(ws)
    except IntegrityError:
        raise ConflictError(f"A workspace called {values['name']!r} was created at the same moment.") from None


def update_workspace(db, actor: Actor, workspace_id: int, *, name: str | None = None, kind: str | None = None,
                     currency: str | None = None, currency_decimals: int | None = None,
                     timezone: str | None = None) -> WorkspaceInfo:
    """Change the given settings of a workspace (None: leave as it is); returns the workspace after.

    Raises:
        PermissionDenied; NotFound; ValidationError (a bad value, nothing changed, or new decimals
        for a workspace holding money); ConflictError (the new name is taken).
    """
    require(actor, Action.MANAGE_WORKSPACES)
    wanted = {"name": None if name is None else _name(name), "kind": None if kind is None else _kind(kind),
              "currency": None if currency is None else _currency(currency),
              "currency_decimals": None if currency_decimals is None else _decimals(currency_decimals),
              "timezone": None if timezone is None else check_timezone(timezone)}
    try:
        with db.unit_of_work() as s:
            ws = _locked(s, workspace_id)
            changes = {k: v for k, v in wanted.items() if v is not None and v != getattr(ws, k)}
            if not changes:
                raise ValidationError(f"Nothing to change: workspace {ws.name} already has these settings.")
            if "name" in changes:
                _refuse_taken(s, changes["name"])
            if "currency_decimals" in changes:
                held = money_held(s, ws.id)
                if held:
                    raise ValidationError(
                        f"Workspace {ws.name} holds amounts ({held}) stored as whole minor units at "
                        f"{ws.currency_decimals} decimals; at {changes['currency_decimals']} decimals every one of "
                        "them would mean a different sum. Create a new workspace with the decimals you need and "
                        "import the files into it.")
            before = {k: getattr(ws, k) for k in changes}
            for key, value in changes.items():
                setattr(ws, key, value)
            s.flush()
            record_event(s, actor=actor, action="workspace.updated", entity="workspace", entity_id=ws.id,
                         before=before, after=changes, workspace_id=ws.id)
            return workspace_info(ws)
    except IntegrityError:
        raise ConflictError(f"A workspace called {wanted['name']!r} was created at the same moment.") from None


def delete_workspace(db, actor: Actor, workspace_id: int, *, confirm_name: str) -> dict[str, int]:
    """Delete a workspace and everything in it, once ``confirm_name`` repeats its name exactly.

    Its audit events stay (the log has no foreign key). Refused while one of its runs is running.

    Returns:
        Rows deleted per table (``{"workspaces": 1, "customers": 40, ...}``).
    Raises:
        PermissionDenied; NotFound; ValidationError (the typed name differs; a run is in progress).
    """
    require(actor, Action.MANAGE_WORKSPACES)
    with db.unit_of_work(check_foreign_keys=False) as s:
        ws = _locked(s, workspace_id)
        if (confirm_name or "").strip() != ws.name:
            raise ValidationError(f"Type the workspace's name, {ws.name}, exactly to delete it; nothing was deleted.")
        running = s.scalar(select(PipelineRun.id).where(PipelineRun.workspace_id == ws.id,
                                                        PipelineRun.status == "running").limit(1))
        if running is not None:
            raise ValidationError(f"Run #{running} of workspace {ws.name} is in progress; wait for it to finish, "
                                  "then delete the workspace.")
        before = {**{k: getattr(ws, k) for k in ("name", "kind", "currency", "currency_decimals", "timezone")}}
        counts = delete_rows(s, Workspace.__table__, Workspace.id == ws.id)
        record_event(s, actor=actor, action="workspace.deleted", entity="workspace", entity_id=workspace_id,
                     before={**before, "rows": counts}, workspace_id=workspace_id)
        return counts


def money_held(session: Session, workspace_id: int) -> str:
    """What of the workspace holds amounts in minor units (``"sales lines, products"``), "" when nothing does.

    Every table with a ``workspace_id`` and a ``*_minor`` column counts, and stored runs (their
    customers' net spend is in minor units).
    """
    found = []
    for table in Base.metadata.sorted_tables:
        money = [c for c in table.columns if c.name.endswith("_minor")]
        if "workspace_id" in table.columns and money:
            held = exists().where(table.c.workspace_id == workspace_id, or_(*[c.is_not(None) for c in money]))
            if session.scalar(select(held)):
                found.append("sales lines" if table.name == "transactions" else table.name.replace("_", " "))
    if session.scalar(select(exists().where(PipelineRun.workspace_id == workspace_id))):
        found.append("pipeline runs")
    return ", ".join(found)


def delete_rows(session: Session, table: Table, where, *, unreferenced: bool = False) -> dict[str, int]:
    """Delete the rows of ``table`` matching ``where`` and everything that hangs on them, set by set.

    Follows every foreign key of the models that points at ``table``: ``CASCADE`` children are
    deleted the same way (first), ``SET NULL`` columns are emptied. On SQLite, run it inside
    ``db.unit_of_work(check_foreign_keys=False)``: the row-by-row checks are off, and this function
    ends with ``PRAGMA foreign_key_check`` on every table it touched (ConflictError, so the unit
    of work rolls back, should anything still point at a deleted row).

    Args:
        unreferenced: the caller has made sure no row refers to those deleted: the children are
            not visited (only checked, on SQLite).
    Returns:
        Rows deleted per table.
    """
    counts: Counter = Counter()
    touched: set[str] = set()
    if unreferenced:
        touched.update(child.name for child, _ in _children(table))
        counts[table.name] += session.execute(delete(table).where(where)).rowcount or 0
    else:
        _purge(session, table, where, counts, touched, depth=0)
    if session.get_bind().dialect.name == "sqlite":
        for name in sorted(touched):
            broken = session.execute(text(f'PRAGMA foreign_key_check("{name}")')).first()
            if broken is not None:
                raise ConflictError(f"Deleting would leave row {broken[1]} of {name} pointing at a missing "
                                    f"{broken[2]} row; nothing was deleted.")
    return {name: n for name, n in counts.items() if n}


def _purge(session: Session, table: Table, where, counts: Counter, touched: set, depth: int) -> None:
    if depth > 8:
        raise RuntimeError(f"foreign keys nest deeper than 8 levels below {table.name}")
    children = _children(table)
    if children:
        (key,) = table.primary_key.columns
        doomed = select(key).where(where)
        for child, fk in children:
            touched.add(child.name)
            if fk.ondelete == "SET NULL":
                session.execute(update(child).where(fk.parent.in_(doomed)).values({fk.parent.name: None}))
            elif fk.ondelete == "CASCADE":
                _purge(session, child, fk.parent.in_(doomed), counts, touched, depth + 1)
            else:
                raise RuntimeError(f"{child.name}.{fk.parent.name} has no ON DELETE rule")
    counts[table.name] += session.execute(delete(table).where(where)).rowcount or 0


def _children(table: Table) -> list:
    """``(child table, foreign key)`` of every foreign key of the models that points at ``table``."""
    return [(child, fk) for child in Base.metadata.sorted_tables for fk in child.foreign_keys
            if fk.column.table is table]


def _locked(session: Session, workspace_id: int) -> Workspace:
    lock_workspace(session, workspace_id)
    ws = session.get(Workspace, workspace_id)
    if ws is None:
        raise NotFound(f"There is no workspace #{workspace_id}; it may have been deleted meanwhile.")
    return ws


def _refuse_taken(session: Session, name: str) -> None:
    if session.scalar(select(Workspace.id).where(Workspace.name == name)) is not None:
        raise ConflictError(f"There is a workspace called {name!r} already; choose another name.")


def _name(name: str) -> str:
    return checked_text(name, label="A workspace name", max_chars=MAX_NAME_CHARS,
                        missing="Give the workspace a name (e.g. shop, bank).")


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValidationError(f"{kind!r} is not a kind of workspace; use {' or '.join(KINDS)}.")
    return kind


def _currency(code: str) -> str:
    value = str(code or "").strip().upper()
    if len(value) != 3 or not value.isalpha() or not value.isascii():
        raise ValidationError(f"{code!r} is not a currency code: give three letters such as EUR, USD or CHF "
                              "(XXX: no currency, plain numbers).")
    return value


def _decimals(decimals) -> int:
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= MAX_DECIMALS:
        raise ValidationError(f"Currency decimals are a whole number from 0 to {MAX_DECIMALS} (2 for EUR, 0 for JPY), "
                              f"not {decimals!r}.")
    return decimals
