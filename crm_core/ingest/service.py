"""``import_file``: read, map, validate and store one file, all or nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import pandas as pd
from sqlalchemy import select

from crm_core.auth import Action, Actor, require
from crm_core.ingest import load, load_records
from crm_core.ingest.cells import Validated, ValidationContext
from crm_core.ingest.currency import currency_decimals, detect_currency
from crm_core.ingest.errors import RejectThresholdExceeded
from crm_core.ingest.issues import IssueLog
from crm_core.ingest.mapping import check_kind, require_fields
from crm_core.ingest.read import ParsedTable, ReaderOptions, load_mapping_file, read_table, source_bytes
from crm_core.ingest.report import ImportReport
from crm_core.ingest.saved_mappings import recall_mapping, remember_mapping
from crm_core.ingest.settings import IngestConfig
from crm_core.ingest.validate import validate
from crm_core.progress import Progress, no_progress, within
from crm_core.services.workspaces import NO_CURRENCY, check_timezone, ensure_workspace, now_in
from crm_core.store.audit_log import record_event
from crm_core.store.locks import lock_workspace
from crm_core.store.models import ImportBatch, Product, Workspace
from crm_core.views.workspaces import WorkspaceInfo, workspace_info


def import_file(db, workspace: str, source, *, kind: str, actor: Actor, options: ReaderOptions = ReaderOptions(),
                config: IngestConfig = IngestConfig(), accept_rejects: bool = False, progress: Progress | None = None,
                imported_at: dt.datetime | None = None, parsed: ParsedTable | None = None,
                currency: str | None = None, timezone: str | None = None) -> ImportReport:
    """Import one file into ``workspace``: stored entirely, with its report, or not at all.

    Args:
        db: the Database.
        workspace: workspace name (created when missing).
        source: a path, ``(bytes, name)``, bytes or an uploaded file.
        kind: transactions, customers, products, holdings or outcomes.
        actor: the acting user (needs the analyst role or higher).
        options: mapping (dict or JSON/TOML file), date format and sheet; without a mapping the one
            confirmed earlier for the same headers is used, else the proposal.
        config: the importer settings.
        accept_rejects: load the good rows even when more than ``config.reject_threshold`` of the
            non-anonymous rows are rejected.
        progress: called with ``(fraction 0..1, message)``.
        imported_at: the import's local time (default now): future-date warnings and the
            effective date of customer attributes without their own date.
        parsed: what :func:`read_table` already made of this same file (the Import page's
            preview), so a big workbook is not read twice; used only when its content hash,
            kind and sheet match, else the file is read again.
        currency: the currency of a workspace this import creates (default: the one detected in the
            amounts, else ``XXX``, none); an existing workspace keeps its own, and a file whose
            amounts name another currency gets a warning in the report.
        timezone: the time zone of a workspace this import creates (default UTC); the import's
            "now" is taken in the workspace's time zone.
    Returns:
        An :class:`ImportReport` with status ``loaded`` or ``duplicate``.
    Raises:
        PermissionDenied; ImportFailed subclasses (MissingColumns, AmbiguousDates,
        RejectThresholdExceeded, ...), with nothing stored.
    """
    require(actor, Action.IMPORT_DATA)
    check_kind(kind)
    progress = progress or no_progress
    progress(0.0, "reading the file")
    data, name = source_bytes(source, config)
    content_hash = hashlib.sha256(data).hexdigest()
    existing_ws = _workspace(db, workspace)
    zone = existing_ws.timezone if existing_ws is not None else check_timezone(timezone or "UTC")
    imported_at = imported_at or now_in(zone)
    if existing_ws is not None and _loaded_batch(db, existing_ws.id, kind, content_hash) is not None:
        return _duplicate(db, existing_ws, kind, name, content_hash, actor)

    given = options.mapping
    if isinstance(given, str) or hasattr(given, "suffix"):
        given = load_mapping_file(given)
    if _reusable(parsed, content_hash, kind, options):
        table = parsed.with_mapping(given if given is not None else parsed.mapping, options.date_format)
    else:
        table = read_table((data, name), kind=kind, options=dataclasses.replace(options, mapping=given), config=config,
                           progress=within(progress, 0.0, 0.2))
    mapping = table.mapping
    if given is None and existing_ws is not None:
        mapping = recall_mapping(db, existing_ws.id, kind, table.headers) or mapping
    require_fields(mapping, table.headers, kind, name)
    progress(0.2, f"checking {len(table.frame):,} rows")
    ctx = ValidationContext(config=config, decimals=existing_ws.currency_decimals if existing_ws else 2,
                            today=imported_at.date(), date_format=options.date_format,
                            catalog=_catalog(db, existing_ws) if kind == "transactions" else None)
    checked = validate(table, mapping, ctx)
    fmt = _format(table, checked)
    if checked.reject_rate > config.reject_threshold and not accept_rejects:
        preview = _report(kind, name, workspace, "needs_confirmation", None, checked, checked.issues, 0, 0, fmt,
                          mapping, content_hash)
        raise RejectThresholdExceeded(
            f"{name}: {checked.countable_rejected:,} of {checked.countable_read:,} rows "
            f"({checked.reject_rate:.1%}) would be rejected, more than the {config.reject_threshold:.0%} threshold "
            f"(most often: {_top_codes(preview)}). Nothing was stored. Fix the file or the mapping, or confirm to "
            "load the good rows anyway (--accept-rejects on the command line).", report=preview)

    progress(0.5, "storing")
    found = detect_currency(table.frame, mapping)
    if found is not None:
        fmt["currency"] = found.describe()
    code = currency or (found.code if found else None)
    ws = existing_ws or ensure_workspace(db, workspace, actor, currency=code, timezone=zone,
                                         currency_decimals=currency_decimals(code or NO_CURRENCY))
    # A transactions file only inserts, with keys from this same transaction: its bulk load skips
    # SQLite's per-row foreign key lookups (tests/ingest/test_load.py runs foreign_key_check after).
    with db.unit_of_work(check_foreign_keys=kind != "transactions") as session:
        lock_workspace(session, ws.id)  # two imports of one file at once: the second sees the first
        if _loaded_batch(db, ws.id, kind, content_hash, session=session) is not None:
            duplicate = True
        else:
            duplicate = False
            report = _store(db, session, ws, table, checked, mapping, fmt, actor, imported_at, given is not None,
                            config, progress)
    if duplicate:
        return _duplicate(db, ws, kind, name, content_hash, actor)
    progress(1.0, "done")
    if found is not None and found.code != ws.currency:
        report = dataclasses.replace(report, message=report.message + (
            f" Warning: the amounts look like {found.describe()}, but workspace {ws.name} is in {ws.currency}; "
            f"they were stored as written, as {ws.currency}. Check the file, or import it into another workspace."))
    return report


def _reusable(parsed: ParsedTable | None, content_hash: str, kind: str, options: ReaderOptions) -> bool:
    """Whether a table read before stands for this file as the options ask to read it."""
    return (parsed is not None and parsed.content_hash == content_hash and parsed.kind == kind
            and (options.sheet is None or parsed.format.get("sheet") == options.sheet))


def _store(db, session, ws: WorkspaceInfo, table, checked: Validated, mapping: dict, fmt: dict, actor: Actor,
           imported_at: dt.datetime, confirmed: bool, config: IngestConfig, progress: Progress) -> ImportReport:
    kind, rows = table.kind, checked.rows
    batch = ImportBatch(workspace_id=ws.id, kind=kind, source_name=table.source_name[:500],
                        content_hash=table.content_hash, status="loaded", rows_read=checked.rows_read,
                        format_json=fmt, mapping_json=dict(mapping), created_by=actor.username)
    session.add(batch)
    session.flush()
    log = IssueLog()
    non_merch = {c.strip().upper() for c in config.non_merchandise_codes}
    skipped = 0
    if kind == "transactions":
        loaded, skipped = load.insert_transactions(session, workspace_id=ws.id, batch_id=batch.id, rows=rows,
                                                 non_merchandise=non_merch, is_sqlite=db.is_sqlite, log=log,
                                                 progress=progress)
    elif kind == "customers":
        loaded = load_records.insert_customers(session, workspace_id=ws.id, batch_id=batch.id, rows=rows,
                                             mapped=set(mapping), imported_at=imported_at)
    elif kind == "products":
        loaded = load_records.insert_products(session, workspace_id=ws.id, rows=rows, mapped=set(mapping),
                                            non_merchandise=non_merch, log=log)
    elif kind == "holdings":
        loaded, skipped = load_records.insert_holdings(session, workspace_id=ws.id, batch_id=batch.id, rows=rows,
                                                     non_merchandise=non_merch, log=log)
    else:
        loaded = load_records.insert_outcomes(session, workspace_id=ws.id, batch_id=batch.id, rows=rows, log=log)
    progress(0.9, "saving the report")
    issues = pd.concat([checked.issues, log.frame()], ignore_index=True) if len(log.frame()) else checked.issues
    issues = issues.sort_values(["line", "severity", "code"], kind="mergesort").reset_index(drop=True)
    load.insert_issues(session, batch.id, issues)
    warned = int(issues.loc[issues["severity"] == "warning", "line"].nunique()) if len(issues) else 0
    anonymous = checked.anonymous if kind == "transactions" else 0
    report = _report(kind, table.source_name, ws.name, "loaded", batch.id, checked, issues, loaded, skipped, fmt,
                     mapping, table.content_hash, warned=warned)
    batch.rows_loaded, batch.rows_rejected, batch.rows_warned = loaded, checked.rows_rejected, warned
    batch.rows_skipped, batch.summary_json = skipped, report.summary()
    if confirmed:
        remember_mapping(session, ws.id, kind, table.headers, mapping, actor.username)
    record_event(session, actor=actor, action="import_data", entity="import_batch", entity_id=batch.id,
                 after={**report.summary(), "anonymous": anonymous, "content_hash": table.content_hash},
                 workspace_id=ws.id)
    return report


def _report(kind, name, workspace, status, batch_id, checked: Validated, issues, loaded, skipped, fmt, mapping,
            content_hash, warned=None) -> ImportReport:
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


def _top_codes(report: ImportReport) -> str:
    rejected = report.issues[report.issues["severity"] == "rejected"]
    counts = rejected["code"].value_counts().head(3)
    return ", ".join(f"{code} x{n:,}" for code, n in counts.items()) or "unreadable lines"


def _format(table, checked: Validated) -> dict:
    fmt = dict(table.format)
    fmt["number_format"] = checked.number_format.describe()
    if checked.date_styles:
        fmt["dates"] = dict(checked.date_styles)
    if table.notes:
        fmt["notes"] = list(table.notes)
    return fmt


def _workspace(db, name: str) -> WorkspaceInfo | None:
    with db.read() as s:
        ws = s.scalar(select(Workspace).where(Workspace.name == name))
        return None if ws is None else workspace_info(ws)


def _catalog(db, ws: WorkspaceInfo | None) -> frozenset[str] | None:
    if ws is None:
        return None
    with db.read() as s:
        codes = frozenset(s.scalars(select(Product.product_code).where(Product.workspace_id == ws.id,
                                                                       Product.in_catalog.is_(True))))
    return codes or None


def _loaded_batch(db, workspace_id: int, kind: str, content_hash: str, session=None):
    stmt = select(ImportBatch.id).where(ImportBatch.workspace_id == workspace_id, ImportBatch.kind == kind,
                                        ImportBatch.content_hash == content_hash, ImportBatch.status == "loaded")
    if session is not None:
        return session.scalar(stmt.limit(1))
    with db.read() as s:
        return s.scalar(stmt.limit(1))


def _duplicate(db, ws: WorkspaceInfo, kind: str, name: str, content_hash: str, actor: Actor) -> ImportReport:
    first = _loaded_batch(db, ws.id, kind, content_hash)
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
