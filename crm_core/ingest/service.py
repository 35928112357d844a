"""``import_file``: read, map, validate and store one file, all or nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd

from crm_core.auth import Action, Actor, require
from crm_core.ingest import load_records
from crm_core.ingest.batch_record import (catalog_codes, close_batch, describe_format, import_report, loaded_batch,
                                          record_duplicate, top_codes, workspace_named)
from crm_core.ingest.batched import Target, open_batched, scan_file, store_batches
from crm_core.ingest.batches import BATCH_ROWS
from crm_core.ingest.cells import Validated, ValidationContext
from crm_core.ingest.currency import currency_decimals, detect_currency
from crm_core.ingest.errors import RejectThresholdExceeded
from crm_core.ingest.issues import IssueLog
from crm_core.ingest.mapping import check_kind, require_fields
from crm_core.ingest.read import ParsedTable, ReaderOptions, load_mapping_file, mapping_for, read_table
from crm_core.ingest.report import ImportReport
from crm_core.ingest.saved_mappings import recall_mapping
from crm_core.ingest.settings import IngestConfig
from crm_core.ingest.source import open_source
from crm_core.ingest.validate import validate
from crm_core.progress import Progress, no_progress, within
from crm_core.services.workspaces import NO_CURRENCY, check_timezone, ensure_workspace, now_in
from crm_core.store.locks import lock_workspace
from crm_core.store.models import ImportBatch
from crm_core.views.workspaces import WorkspaceInfo


def import_file(db, workspace: str, source, *, kind: str, actor: Actor, options: ReaderOptions = ReaderOptions(),
                config: IngestConfig = IngestConfig(), accept_rejects: bool = False, progress: Progress | None = None,
                imported_at: dt.datetime | None = None, parsed: ParsedTable | None = None,
                currency: str | None = None, timezone: str | None = None,
                batch_rows: int | None = None) -> ImportReport:
    """Import one file into ``workspace``: stored entirely, with its report, or not at all.

    A transactions file is read and stored in batches of ``batch_rows`` rows (bounded memory,
    see :mod:`crm_core.ingest.batched`); the other kinds are read at once.

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
        batch_rows: rows of a transactions file checked and stored at a time (default 250,000).
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
    src = open_source(source, config)
    existing_ws = workspace_named(db, workspace)
    zone = existing_ws.timezone if existing_ws is not None else check_timezone(timezone or "UTC")
    imported_at = imported_at or now_in(zone)
    if kind == "transactions":
        return _import_batched(db, workspace, src, existing_ws, Target(workspace, existing_ws, currency, zone, actor,
                                                                        options.mapping is not None),
                               imported_at=imported_at, options=options, config=config, parsed=parsed,
                               accept_rejects=accept_rejects, batch_rows=batch_rows or BATCH_ROWS,
                               progress=progress)
    content_hash = src.sha256()
    name = src.name
    if existing_ws is not None and loaded_batch(db, existing_ws.id, kind, content_hash) is not None:
        return record_duplicate(db, existing_ws, kind, name, content_hash, actor)

    given = _given_mapping(options)
    if _reusable(parsed, content_hash, kind, options):
        table = parsed.with_mapping(given if given is not None else parsed.mapping, options.date_format)
    else:
        table = read_table(src, kind=kind, options=dataclasses.replace(options, mapping=given), config=config,
                           progress=within(progress, 0.0, 0.2))
    mapping = table.mapping
    if given is None and existing_ws is not None:
        mapping = recall_mapping(db, existing_ws.id, kind, table.headers) or mapping
    require_fields(mapping, table.headers, kind, name)
    progress(0.2, f"checking {len(table.frame):,} rows")
    ctx = ValidationContext(config=config, decimals=existing_ws.currency_decimals if existing_ws else 2,
                            today=imported_at.date(), date_format=options.date_format)
    checked = validate(table, mapping, ctx)
    fmt = describe_format(table, checked)
    if checked.reject_rate > config.reject_threshold and not accept_rejects:
        preview = import_report(kind, name, workspace, "needs_confirmation", None, checked, checked.issues, 0, 0,
                                fmt, mapping, content_hash)
        raise RejectThresholdExceeded(
            f"{name}: {checked.countable_rejected:,} of {checked.countable_read:,} rows "
            f"({checked.reject_rate:.1%}) would be rejected, more than the {config.reject_threshold:.0%} threshold "
            f"(most often: {top_codes(preview)}). Nothing was stored. Fix the file or the mapping, or confirm to "
            "load the good rows anyway (--accept-rejects on the command line).", report=preview)

    progress(0.5, "storing")
    found = detect_currency(table.frame, mapping)
    if found is not None:
        fmt["currency"] = found.describe()
    code = currency or (found.code if found else None)
    ws = existing_ws or ensure_workspace(db, workspace, actor, currency=code, timezone=zone,
                                         currency_decimals=currency_decimals(code or NO_CURRENCY))
    with db.unit_of_work() as session:
        lock_workspace(session, ws.id)  # two imports of one file at once: the second sees the first
        if loaded_batch(db, ws.id, kind, content_hash, session=session) is not None:
            duplicate = True
        else:
            duplicate = False
            report = _store(session, ws, table, checked, mapping, fmt, actor, imported_at, given is not None,
                            config)
    if duplicate:
        return record_duplicate(db, ws, kind, name, content_hash, actor)
    progress(1.0, "done")
    return _currency_warning(report, found, ws)


def _import_batched(db, workspace: str, src, existing_ws: WorkspaceInfo | None, target: Target, *,
                    imported_at: dt.datetime, options: ReaderOptions, config: IngestConfig,
                    parsed: ParsedTable | None, accept_rejects: bool, batch_rows: int,
                    progress: Progress) -> ImportReport:
    """A transactions file, read and stored in batches (:mod:`crm_core.ingest.batched`)."""
    reuse = parsed if parsed is not None and _reusable(parsed, src.sha256(), "transactions", options) else None
    table = open_batched(src, "transactions", sheet=options.sheet, config=config, parsed=reuse,
                         progress=within(progress, 0.0, 0.1))
    content_hash = src.sha256()
    if existing_ws is not None and loaded_batch(db, existing_ws.id, "transactions", content_hash) is not None:
        return record_duplicate(db, existing_ws, "transactions", src.name, content_hash, target.actor)
    given = _given_mapping(options)
    mapping = mapping_for(given if given is not None or reuse is None else reuse.mapping, table.headers,
                          "transactions")
    if given is None and existing_ws is not None:
        mapping = recall_mapping(db, existing_ws.id, "transactions", table.headers) or mapping
    require_fields(mapping, table.headers, "transactions", src.name)
    progress(0.1, "reading the whole file once: formats, currency, rows")
    scan = scan_file(table, mapping, options.date_format, batch_rows)
    progress(0.2, f"checking {scan.rows:,} rows")
    ctx = ValidationContext(config=config, decimals=existing_ws.currency_decimals if existing_ws else 2,
                            today=imported_at.date(), date_format=options.date_format,
                            catalog=catalog_codes(db, existing_ws))
    report, ws = store_batches(db, table, scan, mapping, ctx, dataclasses.replace(target, confirmed=given is not None),
                               content_hash=content_hash, accept_rejects=accept_rejects, batch_rows=batch_rows,
                               progress=progress)
    if report is None:
        return record_duplicate(db, ws, "transactions", src.name, content_hash, target.actor)
    progress(1.0, "done")
    return _currency_warning(report, scan.currency, ws)


def _given_mapping(options: ReaderOptions) -> dict | None:
    given = options.mapping
    if isinstance(given, str) or hasattr(given, "suffix"):
        given = load_mapping_file(given)
    return given


def _currency_warning(report: ImportReport, found, ws: WorkspaceInfo) -> ImportReport:
    """The report, warned when the amounts name another currency than the workspace's."""
    if found is None or found.code == ws.currency:
        return report
    return dataclasses.replace(report, message=report.message + (
        f" Warning: the amounts look like {found.describe()}, but workspace {ws.name} is in {ws.currency}; "
        f"they were stored as written, as {ws.currency}. Check the file, or import it into another workspace."))


def _reusable(parsed: ParsedTable | None, content_hash: str, kind: str, options: ReaderOptions) -> bool:
    """Whether a table read before stands for this file as the options ask to read it."""
    return (parsed is not None and parsed.content_hash == content_hash and parsed.kind == kind
            and (options.sheet is None or parsed.format.get("sheet") == options.sheet))


def _store(session, ws: WorkspaceInfo, table, checked: Validated, mapping: dict, fmt: dict, actor: Actor,
           imported_at: dt.datetime, confirmed: bool, config: IngestConfig) -> ImportReport:
    """Store a master data file read at once (customers, products, holdings, outcomes) with its record."""
    kind, rows = table.kind, checked.rows
    batch = ImportBatch(workspace_id=ws.id, kind=kind, source_name=table.source_name[:500],
                        content_hash=table.content_hash, status="loaded", rows_read=checked.rows_read,
                        format_json=fmt, mapping_json=dict(mapping), created_by=actor.username)
    session.add(batch)
    session.flush()
    log = IssueLog()
    non_merch = {c.strip().upper() for c in config.non_merchandise_codes}
    skipped = 0
    if kind == "customers":
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
    issues = pd.concat([checked.issues, log.frame()], ignore_index=True) if len(log.frame()) else checked.issues
    return close_batch(session, batch, ws, kind=kind, name=table.source_name, headers=table.headers, mapping=mapping,
                       fmt=fmt, checked=checked, issues=issues, loaded=loaded, skipped=skipped, confirmed=confirmed,
                       actor=actor, content_hash=table.content_hash)
