"""The record of one import: its batch row, report, issues and audit event, and the duplicate case.

Shared by the two ways a file is stored (:mod:`crm_core.ingest.service` for
master data read at once, :mod:`crm_core.ingest.batched` for transactions
read in batches), so both report and record an import the same way.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from crm_core.auth import Actor
from crm_core.ingest.cells import Validated
from crm_core.ingest.load import insert_issues
from crm_core.ingest.report import ImportReport
from crm_core.ingest.saved_mappings import remember_mapping
from crm_core.store.audit_log import record_event
from crm_core.store.models import ImportBatch, Product, Workspace
from crm_core.views.workspaces import WorkspaceInfo, workspace_info


def close_batch(session, batch: ImportBatch, ws: WorkspaceInfo, *, kind: str, name: str, headers: list[str],
                mapping: dict, fmt: dict, checked: Validated, issues: pd.DataFrame, loaded: int, skipped: int,
                confirmed: bool, actor: Actor, content_hash: str) -> ImportReport:
    """Store the issues, the batch's counts and summary, the confirmed mapping and the audit event; the report.

    ``issues`` are the checks' and the load's, in any order (sorted here by line, severity and code).
    """
    issues = issues.sort_values(["line", "severity", "code"], kind="mergesort").reset_index(drop=True)
    insert_issues(session, batch.id, issues)
    warned = int(issues.loc[issues["severity"] == "warning", "line"].nunique()) if len(issues) else 0
    anonymous = checked.anonymous if kind == "transactions" else 0
    report = import_report(kind, name, ws.name, "loaded", batch.id, checked, issues, loaded, skipped, fmt, mapping,
                           content_hash, warned=warned)
    batch.rows_read, batch.rows_loaded, batch.rows_rejected = checked.rows_read, loaded, checked.rows_rejected
    batch.rows_warned, batch.rows_skipped, batch.summary_json = warned, skipped, report.summary()
    if confirmed:
        remember_mapping(session, ws.id, kind, headers, mapping, actor.username)
    record_event(session, actor=actor, action="import_data", entity="import_batch", entity_id=batch.id,
                 after={**report.summary(), "anonymous": anonymous, "content_hash": content_hash},
                 workspace_id=ws.id)
    return report


def import_report(kind, name, workspace, status, batch_id, checked: Validated, issues, loaded, skipped, fmt, mapping,
                  content_hash, warned=None) -> ImportReport:
    """The report of an import: its counts and a message a user can act on."""
    warned = checked.rows_warned if warned is None else warned
    anonymous = checked.anonymous if kind == "transactions" else 0
    parts = [f"{loaded:,} of {checked.rows_read:,} rows loaded" if status == "loaded"
             else f"{checked.rows_read:,} rows read, nothing stored yet"]
    if checked.rows_rejected:
        parts.append(f"{checked.rows_rejected:,} rejected (see the issues: line, column, reason)")
    if skipped:
        parts.append(f"{skipped:,} skipped as already loaded")
    if anonymous:
        parts.append(f"{anonymous:,} without a customer id loaded as anonymous sales "
                     "(they count for product popularity, not for any customer)")
    if warned:
        parts.append(f"{warned:,} with warnings")
    return ImportReport(kind=kind, source_name=name, workspace=workspace, status=status, batch_id=batch_id,
                        rows_read=checked.rows_read, rows_loaded=loaded, rows_rejected=checked.rows_rejected,
                        rows_warned=warned, rows_skipped=skipped, anonymous_rows=anonymous, issues=issues,
                        message="; ".join(parts) + ".", format=fmt, mapping=dict(mapping), content_hash=content_hash)


def top_codes(report: ImportReport) -> str:
    """The three most frequent rejection codes, for the threshold message."""
    rejected = report.issues[report.issues["severity"] == "rejected"]
    counts = rejected["code"].value_counts().head(3)
    return ", ".join(f"{code} x{n:,}" for code, n in counts.items()) or "unreadable lines"


def describe_format(table, checked: Validated) -> dict:
    """How the file was read (``table.format`` and ``notes``) with its number format and date styles."""
    fmt = dict(table.format)
    fmt["number_format"] = checked.number_format.describe()
    if checked.date_styles:
        fmt["dates"] = dict(checked.date_styles)
    if table.notes:
        fmt["notes"] = list(table.notes)
    return fmt


def workspace_named(db, name: str) -> WorkspaceInfo | None:
    """The workspace called ``name``, or None."""
    with db.read() as s:
        ws = s.scalar(select(Workspace).where(Workspace.name == name))
        return None if ws is None else workspace_info(ws)


def catalog_codes(db, ws: WorkspaceInfo | None) -> frozenset[str] | None:
    """The workspace's catalog product codes (None without a workspace or a catalog)."""
    if ws is None:
        return None
    with db.read() as s:
        codes = frozenset(s.scalars(select(Product.product_code).where(Product.workspace_id == ws.id,
                                                                       Product.in_catalog.is_(True))))
    return codes or None


def loaded_batch(db, workspace_id: int, kind: str, content_hash: str, session=None):
    """The id of a loaded import of the same content and kind into the workspace, or None."""
    stmt = select(ImportBatch.id).where(ImportBatch.workspace_id == workspace_id, ImportBatch.kind == kind,
                                        ImportBatch.content_hash == content_hash, ImportBatch.status == "loaded")
    if session is not None:
        return session.scalar(stmt.limit(1))
    with db.read() as s:
        return s.scalar(stmt.limit(1))


def record_duplicate(db, ws: WorkspaceInfo, kind: str, name: str, content_hash: str, actor: Actor) -> ImportReport:
    """Record (and audit) a re-import of content already loaded: nothing is added."""
    first = loaded_batch(db, ws.id, kind, content_hash)
    with db.unit_of_work() as s:
        batch = ImportBatch(workspace_id=ws.id, kind=kind, source_name=name[:500], content_hash=content_hash,
                            status="duplicate", created_by=actor.username,
                            summary_json={"duplicate_of": first})
        s.add(batch)
        s.flush()
        record_event(s, actor=actor, action="import_data", entity="import_batch", entity_id=batch.id,
                     after={"status": "duplicate", "duplicate_of": first, "source": name}, workspace_id=ws.id)
        batch_id = batch.id
    return ImportReport(kind=kind, source_name=name, workspace=ws.name, status="duplicate", batch_id=batch_id,
                        content_hash=content_hash,
                        message=f"{name} was already imported into {ws.name} (batch {first}); nothing was added.")
