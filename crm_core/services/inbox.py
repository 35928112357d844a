"""The inbox of scheduled runs: import every new file of a folder, run the pipeline once, file each away.

``python -m crm_core run --inbox DIR`` (a weekly cron job) calls :func:`process_inbox`:

1. Every regular file directly in DIR is new (hidden files and names ending ``.tmp``, ``.part`` or
   ``.crdownload`` — a copy still being written — are left for the next time). Its kind comes from a
   ``kind_`` or ``kind-`` prefix of its name (``customers_2026-12.csv``), else from its headers
   (:func:`crm_core.ingest.guess_kind`).
2. Files are imported in a stable order: products, customers, transactions, holdings, outcomes (the
   catalog and the customers first, so that sales and holdings find them), then by name; each one
   into the workspace, all or nothing (:func:`crm_core.ingest.import_file`).
3. Each file is moved to ``DIR/processed/`` (loaded, or ``duplicate``: the same content was
   imported before) or ``DIR/rejected/`` (unknown kind, unreadable, missing columns, too many bad
   rows...), with its report beside it: ``<file>.report.txt`` and, when the importer made a
   report, the rejected rows and warnings as ``<file>.issues.csv`` (formula-safe). A name already
   taken there gets ``-2``, ``-3``... before its suffix.
4. When anything new was loaded, the pipeline runs once over the workspace.

Two inbox runs on one folder at once would race for the same files: the second waits for the
first (an exclusive lock on ``DIR/.nextbest-inbox.lock``, where the platform offers ``fcntl``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from crm_core.auth import Action, Actor, require
from crm_core.config import Config
from crm_core.errors import ImportFailed, NextBestError, ValidationError
from crm_core.ingest import KINDS, ImportReport, ParsedTable, ReaderOptions, guess_kind, import_file, read_table
from crm_core.services.pipeline import RunResult, run_pipeline
from crm_core.views.workspaces import get_workspace
from crm_core.workflow.policies import resolve_policy

KIND_ORDER = ("products", "customers", "transactions", "holdings", "outcomes")
PROCESSED, REJECTED = "processed", "rejected"
UNFINISHED = (".tmp", ".part", ".crdownload", ".partial")
LOCK_NAME = ".nextbest-inbox.lock"


@dataclass(frozen=True)
class InboxFile:
    """What became of one file of the inbox."""

    name: str  # as it was found in the inbox
    kind: str | None  # None: not recognised
    kind_from: str  # "name", "headers" or "" (not recognised)
    status: str  # loaded | duplicate | rejected
    moved_to: Path  # where the file is now
    report_path: Path
    issues_path: Path | None  # None when the importer made no report (unknown kind, unreadable file)
    message: str
    report: ImportReport | None = None

    @property
    def rejected(self) -> bool:
        """Whether the file went to ``rejected/``."""
        return self.status == "rejected"


@dataclass(frozen=True)
class InboxResult:
    """One inbox run: each file's fate, and the pipeline run (None when nothing new was loaded)."""

    workspace: str
    files: tuple[InboxFile, ...]
    run: RunResult | None = None
    run_error: str | None = None  # why the pipeline failed, when it did

    @property
    def rejected(self) -> tuple[InboxFile, ...]:
        """The files that went to ``rejected/``."""
        return tuple(f for f in self.files if f.rejected)

    @property
    def ok(self) -> bool:
        """No file rejected and no pipeline failure (the command's exit code 0)."""
        return not self.rejected and self.run_error is None


def process_inbox(db, folder: str | Path, *, actor: Actor, config: Config, workspace: str = "default",
                  options: ReaderOptions = ReaderOptions(), accept_rejects: bool = False,
                  settings_version: int | None = None, as_of: dt.date | None = None,
                  contact_date: dt.date | None = None, policy: str | None = None,
                  say: Callable[[str], None] = lambda message: None) -> InboxResult:
    """Import the new files of ``folder`` into ``workspace``, file each away with its report, run the pipeline once.

    Args:
        db: the Database.
        folder: the inbox.
        actor: who imports and runs (needs Action.IMPORT_DATA and Action.RUN_PIPELINE).
        config: the composed Config (``config.ingest`` for the imports).
        workspace: the workspace name (created by the first import when missing).
        options, accept_rejects: as for :func:`crm_core.ingest.import_file`, for every file.
        settings_version, as_of, contact_date, policy: as for the pipeline run
            (``policy``: a name or a TOML file, see :func:`crm_core.workflow.policies.resolve_policy`).
        say: called with one line per step (the command prints them).
    Returns:
        :class:`InboxResult`.
    Raises:
        PermissionDenied; ValidationError (``folder`` is not a folder).
    """
    require(actor, Action.IMPORT_DATA)
    require(actor, Action.RUN_PIPELINE)
    inbox = Path(folder)
    if not inbox.is_dir():
        raise ValidationError(f"The inbox {inbox} is not a folder: create it, or give the folder the exports are "
                              "copied into (--inbox DIR).")
    for sub in (PROCESSED, REJECTED):
        (inbox / sub).mkdir(exist_ok=True)
    with _locked(inbox):
        found = sorted((_found(path, options, config) for path in new_files(inbox)),
                       key=lambda f: (KIND_ORDER.index(f.kind) if f.kind in KIND_ORDER else len(KIND_ORDER),
                                      f.path.name))
        done = [_import_one(db, inbox, f, actor=actor, config=config, workspace=workspace, options=options,
                            accept_rejects=accept_rejects, say=say) for f in found]
        if not any(f.status == "loaded" for f in done):
            say("nothing new was loaded: no pipeline run")
            return InboxResult(workspace, tuple(done))
        try:
            ws = get_workspace(db, workspace)
            run = run_pipeline(db, ws, actor, config, as_of=as_of, contact_date=contact_date,
                               policy=resolve_policy(db, ws.id, policy, config), settings_version=settings_version,
                               progress=lambda fraction, message: say(message))
        except NextBestError as exc:
            say(f"the pipeline did not run: {exc}")
            return InboxResult(workspace, tuple(done), None, str(exc))
        return InboxResult(workspace, tuple(done), run)


def new_files(inbox: Path) -> list[Path]:
    """The files directly in ``inbox`` waiting to be imported (module docstring: what is left alone)."""
    return sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".")
                  and not p.name.lower().endswith(UNFINISHED))


def kind_from_name(name: str) -> str | None:
    """``customers`` for ``customers_2026-12.csv`` or ``Customers-week49.xlsx``; None without such a prefix."""
    match = re.match(r"^([A-Za-z]+)[_\-]", name)
    kind = match.group(1).lower() if match else None
    return kind if kind in KINDS else None


@dataclass(frozen=True)
class _Found:
    """A file of the inbox and what is known of it before its import."""

    path: Path
    kind: str | None
    source: str  # "name", "headers" or "" (not recognised)
    parsed: ParsedTable | None = None  # read while guessing, handed to the import when it read the right kind
    headers: tuple[str, ...] = ()
    error: ImportFailed | None = None  # the file could not be read at all


def _found(path: Path, options: ReaderOptions, config: Config) -> _Found:
    """The file's kind, from its name, else from its headers (reading it once, as transactions)."""
    kind = kind_from_name(path.name)
    if kind is not None:
        return _Found(path, kind, "name")
    try:
        table = read_table(path, kind="transactions", options=ReaderOptions(sheet=options.sheet),
                           config=config.ingest)
    except ImportFailed as exc:
        return _Found(path, None, "", error=exc)
    guessed = table.guessed_kind or guess_kind(table.headers)
    return _Found(path, guessed, "headers" if guessed else "", table if guessed == "transactions" else None,
                  tuple(table.headers))


def _import_one(db, inbox: Path, found: _Found, *, actor: Actor, config: Config, workspace: str,
                options: ReaderOptions, accept_rejects: bool, say) -> InboxFile:
    """Import one file and file it away with its report."""
    path, kind, report, message = found.path, found.kind, None, ""
    if found.error is not None:
        status, message = "rejected", f"The file cannot be read: {found.error}"
    elif kind is None:
        status = "rejected"
        message = (f"Its kind is not known: the name has no kind prefix and the headers "
                   f"({', '.join(map(repr, found.headers)) or 'none'}) do not look like any of {', '.join(KINDS)}. "
                   f"Rename it with the kind first, e.g. customers_{path.name}, or export it with recognisable "
                   "headers.")
    else:
        try:
            report = import_file(db, workspace, path, kind=kind, actor=actor, options=options, config=config.ingest,
                                 accept_rejects=accept_rejects, parsed=found.parsed)
            status, message = report.status, report.message
        except NextBestError as exc:  # ImportFailed and its kin: this file only, the others go on
            status, message, report = "rejected", str(exc), getattr(exc, "report", None)
    target = _free_name(inbox / (REJECTED if status == "rejected" else PROCESSED), path.name)
    shutil.move(str(path), target)
    report_path = target.with_name(target.name + ".report.txt")
    report_path.write_text(_report_text(path.name, target, found, status, message, report, workspace),
                           encoding="utf-8")
    issues_path = None
    if report is not None:
        issues_path = target.with_name(target.name + ".issues.csv")
        issues_path.write_bytes(report.issues_csv())
    say(f"{status}: {path.name} ({kind or 'unknown kind'}) -> {target.parent.name}/{target.name}"
        + ("" if status != "rejected" else f": {message}"))
    return InboxFile(path.name, kind, found.source, status, target, report_path, issues_path, message, report)


def _free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``name-2.ext``, ``name-3.ext``... when taken (a file of last week, same name)."""
    target = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    number = 2
    while target.exists():
        target, number = folder / f"{stem}-{number}{suffix}", number + 1
    return target


def _report_text(name: str, target: Path, found: _Found, status: str, message: str, report: ImportReport | None,
                 workspace: str) -> str:
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [f"file: {name}", f"kind: {found.kind or 'unknown'}" + (f" (from its {found.source})" if found.source
                                                                     else ""),
             f"workspace: {workspace}", f"status: {status}", f"moved to: {target}", f"at: {when}", ""]
    if report is not None:
        lines.append(report.to_text(max_issues=50))
        if message and message not in report.message:
            lines += ["", message]
    else:
        lines.append(message)
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def _locked(inbox: Path) -> Iterator[None]:
    """Hold an exclusive lock on the inbox while it is processed (no-op where fcntl does not exist)."""
    try:
        import fcntl
    except ImportError:  # Windows: one scheduled task at a time is the scheduler's job there
        yield
        return
    with open(inbox / LOCK_NAME, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

