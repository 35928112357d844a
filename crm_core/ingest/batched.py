"""A transactions file imported in batches: bounded memory, the same rows and report as a file read at once.

A 10M-line export must not become 90 million Python strings. The file is read
twice, a batch of rows (``batch_rows``, 250,000 by default) at a time:

1. the scan (:mod:`crm_core.ingest.scan`) decides what depends on the whole
   file: the number format, the date styles, empty required columns, the
   currency, the number of rows;
2. each batch is checked with those decisions (rows that repeat a row of an
   earlier batch are warned as ``duplicate_row``, see
   :class:`crm_core.ingest.cells.SeenRows`) and its accepted rows stored at
   once (:class:`crm_core.ingest.load_transactions.TransactionLoader`), all in
   one unit of work: a file is stored entirely or not at all.

Only the issues, the keys of the workspace's customers and products, and two
64-bit hashes per row outlive a batch. When more rows are rejected than the
threshold allows, nothing is kept (the unit of work rolls back, a workspace
this import created included); rows are stored only while the threshold can
still be met.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import pandas as pd
from sqlalchemy import select

from crm_core.auth import Actor
from crm_core.errors import ValidationError
from crm_core.one_ahead import one_ahead
from crm_core.ingest.batch_record import close_batch, describe_format, import_report, loaded_batch, top_codes
from crm_core.ingest.batches import BATCH_ROWS, RowBatch, csv_batches, frame_batches
from crm_core.ingest.cells import SeenRows, Validated, ValidationContext
from crm_core.ingest.containers import (blank_columns, parquet_batches, parquet_headers, read_xlsx, text_format,
                                        text_layout, unnamed)
from crm_core.ingest.currency import currency_decimals
from crm_core.ingest.errors import EmptyFile, RejectThresholdExceeded
from crm_core.ingest.issues import IssueLog, empty_issues
from crm_core.ingest.load_transactions import TransactionLoader
from crm_core.ingest.read import ParsedTable
from crm_core.ingest.report import ImportReport
from crm_core.ingest.scan import FileScan, scan_batches
from crm_core.ingest.source import Source, detect_container
from crm_core.ingest.textfile import inspect_text
from crm_core.ingest.validate import validate
from crm_core.progress import Progress
from crm_core.store.locks import lock_workspace
from crm_core.store.models import ImportBatch, Workspace
from crm_core.views.workspaces import WorkspaceInfo, workspace_info


@dataclass(frozen=True)
class BatchedFile:
    """A file as the batched import reads it: how it was read, its headers, and its rows in batches."""

    source_name: str
    kind: str
    format: dict
    headers: list[str]
    notes: tuple[str, ...]
    read: Callable[[int], Iterator[RowBatch]]  # batch_rows -> the batches (each call reads the file again)

    def batches(self, batch_rows: int) -> Iterator[RowBatch]:
        """The file's rows, ``batch_rows`` at a time, blank rows left out."""
        for batch in self.read(batch_rows):
            frame = batch.frame
            if len(frame.columns) and len(frame):
                frame = frame[~(frame == "").all(axis=1)]
            yield RowBatch(frame, batch.rejects)


def open_batched(src: Source, kind: str, *, sheet: str | None, config, parsed: ParsedTable | None = None,
                 progress: Progress | None = None) -> BatchedFile:
    """Open ``src`` for a batched import (text and Parquet files are streamed; a workbook is read whole).

    ``parsed`` is the same file already read for the preview: its cells are used, not read again.
    Raises:
        ImportFailed subclasses of reading (EmptyFile, UnreadableFile, LineTooLong, ...).
    """
    if parsed is not None:
        return BatchedFile(parsed.source_name, kind, dict(parsed.format), list(parsed.headers), parsed.notes,
                           lambda n: frame_batches(parsed.frame, parsed.parse_rejects, batch_rows=n))
    container = detect_container(src)
    if container == "xlsx":
        notes: list[str] = []
        fmt, headers, frame, rejects = read_xlsx(src.read_all(), src.name, kind, sheet, config, notes, progress)
        return BatchedFile(src.name, kind, fmt, headers, tuple(notes),
                           lambda n: frame_batches(frame, rejects, batch_rows=n))
    if container == "parquet":
        headers = parquet_headers(src)
        return BatchedFile(src.name, kind, {"container": "parquet", "header_line": 1}, headers, (),
                           lambda n: parquet_batches(src, batch_rows=n))
    facts = inspect_text(src, config)
    layout = text_layout(src, facts, config)
    blank = blank_columns(csv_batches(src, facts, layout), unnamed(layout.headers)) if unnamed(layout.headers) \
        else []
    keep = [h for h in layout.headers if h not in blank]
    return BatchedFile(src.name, kind, text_format(facts, layout), keep, facts.notes,
                       lambda n: csv_batches(src, facts, layout, keep=keep, batch_rows=n))


def scan_file(table: BatchedFile, mapping: dict, date_format: str | None, batch_rows: int) -> FileScan:
    """The first read (:func:`crm_core.ingest.scan.scan_batches`); an empty file is an EmptyFile.

    Raises:
        EmptyFile, AmbiguousDates, EmptyColumn.
    """
    scan = scan_batches(table.batches(batch_rows), table.headers, mapping, table.kind,
                        delimiter=table.format.get("delimiter"), date_format=date_format)
    if not scan.rows:
        raise EmptyFile(f"{table.source_name} has a header ({', '.join(table.headers[:8])}) but no data rows: "
                        "export the table again with its rows.")
    return scan


class _Totals:
    """The checks' counts and issues over all batches, as one Validated."""

    def __init__(self):
        self.read = self.rejected = self.warned = self.anonymous = self.countable = self.countable_rejected = 0
        self.issues: list[pd.DataFrame] = []

    def add(self, checked: Validated) -> None:
        self.read += checked.rows_read
        self.rejected += checked.rows_rejected
        self.warned += checked.rows_warned
        self.anonymous += checked.anonymous
        self.countable += checked.countable_read
        self.countable_rejected += checked.countable_rejected
        if len(checked.issues):
            self.issues.append(checked.issues)

    def validated(self, scan: FileScan) -> Validated:
        issues = pd.concat(self.issues, ignore_index=True) if self.issues else empty_issues()
        return Validated(kind="transactions", rows=pd.DataFrame(), issues=issues, rows_read=self.read,
                         rows_rejected=self.rejected, rows_warned=self.warned, anonymous=self.anonymous,
                         countable_read=self.countable, countable_rejected=self.countable_rejected,
                         number_format=scan.formats.number_format, date_styles=dict(scan.formats.date_styles))

    def over(self, threshold: float, rows_at_most: int) -> bool:
        """Whether the rejections so far already exceed the threshold over the whole file."""
        return self.countable_rejected > threshold * max(rows_at_most, 1)


@dataclass(frozen=True)
class Target:
    """Where the rows go: the workspace (None: create it in the import's unit of work) and how."""

    name: str
    existing: WorkspaceInfo | None
    currency: str | None
    timezone: str
    actor: Actor
    confirmed: bool


def store_batches(db, table: BatchedFile, scan: FileScan, mapping: dict, ctx: ValidationContext, target: Target, *,
                  content_hash: str, accept_rejects: bool, batch_rows: int = BATCH_ROWS,
                  progress: Progress) -> tuple[ImportReport | None, WorkspaceInfo]:
    """Check and store every batch in one unit of work: ``(report, workspace)`` (no report: the same file
    was loaded meanwhile).

    Raises:
        RejectThresholdExceeded: with the report of the whole file; nothing is stored.
    """
    config = ctx.config
    non_merch = {c.strip().upper() for c in config.non_merchandise_codes}
    fmt = describe_format(table, _formats_of(scan))
    stored_fmt = {**fmt, "currency": scan.currency.describe()} if scan.currency is not None else fmt
    totals, load_log, seen = _Totals(), IssueLog(), SeenRows()
    with db.unit_of_work(check_foreign_keys=False, bulk=True) as session:
        ws = target.existing or _workspace_in(session, target, scan)
        lock_workspace(session, ws.id)  # two imports of one file at once: the second sees the first
        if loaded_batch(db, ws.id, "transactions", content_hash, session=session) is not None:
            return None, ws
        batch = ImportBatch(workspace_id=ws.id, kind="transactions", source_name=table.source_name[:500],
                            content_hash=content_hash, status="loaded", rows_read=0, format_json=stored_fmt,
                            mapping_json=dict(mapping), created_by=target.actor.username)
        session.add(batch)
        session.flush()
        with TransactionLoader(session, workspace_id=ws.id, batch_id=batch.id, non_merchandise=non_merch,
                               is_sqlite=db.is_sqlite, expected_rows=scan.rows) as loader:
            checked_batches = (validate(_as_table(table, part), mapping, ctx, formats=scan.formats, seen=seen)
                               for part in table.batches(batch_rows))
            for checked in one_ahead(checked_batches):  # batch k+1 read and checked while batch k is stored
                totals.add(checked)
                if accept_rejects or not totals.over(config.reject_threshold, scan.rows + scan.rejects):
                    loader.add(checked.rows, load_log)
                progress(0.2 + 0.7 * min(1.0, totals.read / max(scan.rows, 1)),
                         f"checked and stored {totals.read:,} of {scan.rows:,} rows")
        checked = totals.validated(scan)
        if checked.reject_rate > config.reject_threshold and not accept_rejects:
            raise _over_threshold(table, target.name, checked, mapping, fmt, content_hash, config)
        progress(0.9, "saving the report")
        issues = pd.concat([checked.issues, load_log.frame()], ignore_index=True)
        report = close_batch(session, batch, ws, kind="transactions", name=table.source_name,
                             headers=table.headers, mapping=mapping, fmt=stored_fmt, checked=checked, issues=issues,
                             loaded=loader.loaded, skipped=loader.skipped, confirmed=target.confirmed,
                             actor=target.actor, content_hash=content_hash)
    return report, ws


def _formats_of(scan: FileScan) -> Validated:
    """An empty Validated carrying the file's formats (what describe_format reads)."""
    return Validated(kind="transactions", rows=pd.DataFrame(), issues=empty_issues(), rows_read=0, rows_rejected=0,
                     rows_warned=0, number_format=scan.formats.number_format,
                     date_styles=dict(scan.formats.date_styles))


def _as_table(table: BatchedFile, part: RowBatch) -> ParsedTable:
    """One batch as the ParsedTable the checks read."""
    return ParsedTable(source_name=table.source_name, kind=table.kind, content_hash="", size_bytes=0,
                       format=table.format, headers=table.headers, frame=part.frame, mapping={}, missing=[],
                       parse_rejects=part.rejects)


def _over_threshold(table, workspace, checked: Validated, mapping, fmt, content_hash, config):
    preview = import_report("transactions", table.source_name, workspace, "needs_confirmation", None, checked,
                            checked.issues.sort_values(["line", "severity", "code"], kind="mergesort")
                            .reset_index(drop=True), 0, 0, fmt, mapping, content_hash)
    return RejectThresholdExceeded(
        f"{table.source_name}: {checked.countable_rejected:,} of {checked.countable_read:,} rows "
        f"({checked.reject_rate:.1%}) would be rejected, more than the {config.reject_threshold:.0%} threshold "
        f"(most often: {top_codes(preview)}). Nothing was stored. Fix the file or the mapping, or confirm to "
        "load the good rows anyway (--accept-rejects on the command line).", report=preview)


def _workspace_in(session, target: Target, scan: FileScan) -> WorkspaceInfo:
    """The workspace, created in the import's unit of work when missing (so a refused file leaves none).

    The row is the one :func:`crm_core.services.workspaces.ensure_workspace` makes: the currency given,
    else the one detected in the amounts, else ``XXX``, with its decimals, in the chosen time zone.
    """
    ws = session.scalar(select(Workspace).where(Workspace.name == target.name))
    if ws is None:
        code = (target.currency or (scan.currency.code if scan.currency else None) or "XXX").strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise ValidationError(f"{target.currency!r} is not a currency code: give three letters such as EUR, "
                                  "USD or CHF.")
        ws = Workspace(name=target.name, kind="retail", currency=code, currency_decimals=currency_decimals(code),
                       timezone=target.timezone)
        session.add(ws)
        session.flush()
    return workspace_info(ws)
