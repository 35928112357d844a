"""Taking back an import: one batch's rows removed as a whole, with a reason, in one unit of work.

What goes, all or nothing (:func:`revert_import`):

- the batch's own rows: sales lines, holdings, outcomes and dated customer
  attributes (each carries ``batch_id``);
- customers the batch created (their ``created_at`` falls between this batch
  and the workspace's next one) and products it created (stubs, not from a
  catalog, named by its lines), when nothing else refers to them any more: a
  customer with other sales, a run result or an offer stays;
- the Overview figures kept for the workspace (they may include the batch).

What stays: the batch itself, marked ``reverted`` (by whom, when, why), with
its report; runs that started after the batch (they were built on its data)
are marked stale with the reason, not deleted; values a file wrote over
(a customer's name, a catalog's prices) are not restored: a catalog file
(products) is refused for that reason.

After taking back a batch, the workspace holds exactly the rows it held
before the batch was imported, as long as nothing since refers to them
(tests/services/test_import_revert.py checks every table's row count).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, exists, select, union, update
from sqlalchemy.orm import Session

from crm_core.auth import Action, Actor, require
from crm_core.errors import ConflictError, NotFound, ValidationError
from crm_core.free_text import MAX_REASON_CHARS, checked_text
from crm_core.services.workspace_admin import delete_rows
from crm_core.store.audit_log import record_event
from crm_core.store.locks import lock_workspace
from crm_core.store.models import (Base, Customer, CustomerAttribute, Holding, ImportBatch, Outcome, OverviewSummary,
                                   PipelineRun, Product, Transaction, utc_now)

CHUNK = 10_000  # ids per IN list (SQLite allows 32,766 bound values)
_BATCH_ROWS = (Transaction, Holding, Outcome, CustomerAttribute)


@dataclass(frozen=True)
class RevertResult:
    """What taking back a batch did.

    Attributes:
        removed: rows deleted per table (``{"transactions": 402, "customers": 3}``).
        stale_runs: ids of the runs now marked stale.
    """

    batch_id: int
    removed: dict
    stale_runs: tuple[int, ...]


def revert_import(db, actor: Actor, batch_id: int, *, reason: str) -> RevertResult:
    """Take back import batch ``batch_id`` as a whole (see the module docstring), saying why.

    Raises:
        PermissionDenied (admins only); NotFound; ValidationError (no reason, a duplicate or a
        catalog batch, a run in progress); ConflictError (already taken back).
    """
    require(actor, Action.MANAGE_WORKSPACES)
    why = checked_text(reason, label="A reason", max_chars=MAX_REASON_CHARS,
                       missing="Say why the import is taken back (kept with the batch and in the audit log).")
    with db.unit_of_work(check_foreign_keys=False) as s:
        batch = _batch(s, batch_id)
        lock_workspace(s, batch.workspace_id)
        batch = s.scalar(select(ImportBatch).where(ImportBatch.id == batch.id).with_for_update())
        _refuse(s, batch)
        customers = _created_customers(s, batch)
        products = _stub_products(s, batch)
        removed: dict[str, int] = {}
        for model in _BATCH_ROWS:
            removed.update(delete_rows(s, model.__table__, model.batch_id == batch.id))
        removed.update(delete_rows(s, Customer.__table__, Customer.id.in_(_unreferenced(s, Customer, customers)),
                                   unreferenced=True))
        for start in range(0, len(products), CHUNK):
            chunk = select(Product.id).where(Product.id.in_(products[start:start + CHUNK]))
            for table, n in delete_rows(s, Product.__table__, Product.id.in_(_unreferenced(s, Product, chunk)),
                                        unreferenced=True).items():
                removed[table] = removed.get(table, 0) + n
        s.execute(delete(OverviewSummary).where(OverviewSummary.workspace_id == batch.workspace_id))
        stale = _mark_stale(s, batch, why) if batch.kind != "outcomes" else ()
        batch.status, batch.reverted_by, batch.reverted_at, batch.revert_reason = \
            "reverted", actor.username, utc_now(), why
        record_event(s, actor=actor, action="import.reverted", entity="import_batch", entity_id=batch.id,
                     before={"status": "loaded", "kind": batch.kind, "rows_loaded": batch.rows_loaded},
                     after={"status": "reverted", "removed": removed, "stale_runs": list(stale)},
                     reason=why, workspace_id=batch.workspace_id)
        return RevertResult(batch.id, removed, tuple(stale))


def _batch(session: Session, batch_id: int) -> ImportBatch:
    batch = session.get(ImportBatch, int(batch_id))
    if batch is None:
        raise NotFound(f"There is no import batch #{batch_id}; pick one from the list of imports.")
    return batch


def _refuse(session: Session, batch: ImportBatch) -> None:
    """Raise when the batch cannot be taken back (said in the user's terms)."""
    if batch.status == "reverted":
        when = f"{batch.reverted_at:%d %b %Y %H:%M} UTC" if batch.reverted_at else "earlier"
        raise ConflictError(f"Import #{batch.id} was already taken back by {batch.reverted_by} on {when} "
                            f"({batch.revert_reason}).")
    if batch.status == "duplicate":
        raise ValidationError(f"Import #{batch.id} was a duplicate of an earlier file: nothing of it was stored, "
                              "so there is nothing to take back.")
    if batch.kind == "products":
        raise ValidationError(f"Import #{batch.id} is a product catalog: it wrote names, prices, families and "
                              "aliases over the products in place, which taking it back could not undo. Import the "
                              "previous catalog file again to restore the earlier values.")
    running = session.scalar(select(PipelineRun.id).where(PipelineRun.workspace_id == batch.workspace_id,
                                                          PipelineRun.status == "running").limit(1))
    if running is not None:
        raise ValidationError(f"Run #{running} of this workspace is in progress; wait for it to finish, then take "
                              "the import back (the run will be marked stale).")


def _created_customers(session: Session, batch: ImportBatch):
    """The customers the batch created: stamped between its own start and the workspace's next stored batch."""
    after = session.scalar(select(ImportBatch.created_at).where(
        ImportBatch.workspace_id == batch.workspace_id, ImportBatch.id > batch.id,
        ImportBatch.status != "duplicate").order_by(ImportBatch.id).limit(1))
    stmt = select(Customer.id).where(Customer.workspace_id == batch.workspace_id,
                                     Customer.created_at >= batch.created_at)
    return stmt if after is None else stmt.where(Customer.created_at < after)


def _stub_products(session: Session, batch: ImportBatch) -> list[int]:
    """Products only seen in files (not from a catalog) that the batch's lines name: they exist for such lines."""
    named = union(select(Transaction.product_id).where(Transaction.batch_id == batch.id),
                  select(Holding.product_id).where(Holding.batch_id == batch.id)).subquery()
    return list(session.scalars(select(Product.id).where(Product.id.in_(select(named.c[0])),
                                                         Product.in_catalog.is_(False))))


def _unreferenced(session: Session, model, candidates):
    """``candidates`` (a select of ids) narrowed to those no row of any table refers to, as a select.

    SQLite runs an uncorrelated ``NOT IN (subquery)`` once per statement (a scan of each child
    table, several of them unindexed on these columns); PostgreSQL plans ``NOT EXISTS`` as an anti-join.
    """
    table, stmt = model.__table__, candidates
    postgres = session.get_bind().dialect.name == "postgresql"
    for child in Base.metadata.sorted_tables:
        for fk in child.foreign_keys:
            if fk.column.table is table:
                stmt = stmt.where(~exists().where(fk.parent == table.c.id) if postgres else
                                  table.c.id.not_in(select(fk.parent).where(fk.parent.is_not(None))))
    return stmt


def _mark_stale(session: Session, batch: ImportBatch, reason: str) -> list[int]:
    """Runs of the workspace that started after the batch was imported, marked stale (first reason kept)."""
    runs = list(session.scalars(select(PipelineRun.id).where(
        PipelineRun.workspace_id == batch.workspace_id, PipelineRun.started_at >= batch.created_at,
        PipelineRun.stale_reason.is_(None)).order_by(PipelineRun.id)))
    if runs:
        text = (f"Built on import #{batch.id} ({batch.source_name}), taken back on "
                f"{dt.datetime.now(dt.timezone.utc):%d %b %Y}: {reason}")[:2000]
        session.execute(update(PipelineRun).where(PipelineRun.id.in_(runs)).values(stale_reason=text))
    return runs
