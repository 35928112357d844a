"""Excel workbooks (.xlsx), checked before parsing.

An .xlsx file is a zip archive of XML parts. Before openpyxl touches it, the
archive must have at most ``xlsx_max_entries`` members, at most
``xlsx_max_uncompressed_mb`` of uncompressed data, no big member compressed
more than ``xlsx_max_ratio`` times (a zip bomb), and no XML part may declare a
DOCTYPE or entities. openpyxl then parses with defusedxml (entity expansion
off). Cells holding formulas are read as their formula text, never evaluated.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl

from crm_core.errors import ConfigError
from crm_core.ingest.errors import EmptyFile, SheetNotFound, UnreadableFile, UnsafeArchive
from crm_core.ingest.settings import IngestConfig

_RATIO_MIN_BYTES = 1024 * 1024  # small parts of a workbook may compress very well; bombs are big


def check_archive(data: bytes, config: IngestConfig, name: str) -> None:
    """Refuse an archive that is not a safe, plausible workbook (see the module docstring).

    Raises:
        UnsafeArchive: too many entries, too large once uncompressed, a zip bomb, XML entities.
        UnreadableFile: a damaged zip, or a zip that is not an Excel workbook.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise UnreadableFile(f"{name} looks like an Excel file but the archive is damaged: open it in Excel "
                             "and save it again, or export it as CSV.") from None
    with archive:
        members = archive.infolist()
        if len(members) > config.xlsx_max_entries:
            raise UnsafeArchive(f"{name} holds {len(members)} archive entries; a workbook may have at most "
                                f"{config.xlsx_max_entries}. Save only the data sheet as a new .xlsx or CSV.")
        total = sum(m.file_size for m in members)
        if total > config.xlsx_max_uncompressed_mb * 1024 * 1024:
            raise UnsafeArchive(f"{name} would expand to {total / 2**20:,.0f} MB; the limit is "
                                f"{config.xlsx_max_uncompressed_mb} MB. Export the data as CSV instead, or raise "
                                "[ingest] xlsx_max_uncompressed_mb.")
        for m in members:
            ratio = m.file_size / max(m.compress_size, 1)
            if m.file_size > _RATIO_MIN_BYTES and ratio > config.xlsx_max_ratio:
                raise UnsafeArchive(f"{name}: part {m.filename!r} is compressed {ratio:,.0f} times (limit "
                                    f"{config.xlsx_max_ratio:g}), as a zip bomb is. It was not opened; "
                                    "export the data again as .xlsx or CSV.")
        names = {m.filename for m in members}
        if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
            raise UnreadableFile(f"{name} is a zip archive but not an Excel workbook: choose the .xlsx or "
                                 "CSV file itself.")
        for m in members:
            if m.filename.endswith((".xml", ".rels", ".vml")):
                with archive.open(m) as part:
                    head = part.read(4096)
                if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                    raise UnsafeArchive(f"{name}: part {m.filename!r} declares XML entities, which workbooks "
                                        "saved by Excel never do. It was not opened.")


_PROGRESS_ROWS = 20_000


def _open(data: bytes, name: str):
    if not openpyxl.DEFUSEDXML:
        raise ConfigError("openpyxl is not using defusedxml (OPENPYXL_DEFUSEDXML is off or defusedxml is "
                          "missing): install defusedxml and unset OPENPYXL_DEFUSEDXML to read Excel files.")
    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds for damaged parts
        raise UnreadableFile(f"{name} could not be read as an Excel workbook ({type(exc).__name__}): open it in "
                             "Excel, save it again as .xlsx, or export the data as CSV.") from None


def sheet_names(data: bytes, name: str) -> list[str]:
    """The names of the workbook's worksheets, in order."""
    wb = _open(data, name)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def read_sheet(data: bytes, name: str, sheet: str | None, max_rows: int | None = None,
               progress=None) -> tuple[str, list[list]]:
    """Rows of one worksheet as lists of text cells (None where empty).

    Args:
        sheet: the sheet name; None reads the first sheet.
        max_rows: stop after this many rows (for sniffing).
        progress: called with ``(fraction 0..1, message)`` every few thousand rows
            (a big workbook takes a minute to read).
    Returns:
        ``(sheet_name, rows)``; row i is spreadsheet row i + 1.
    Raises:
        SheetNotFound: naming the sheets there are.
    """
    wb = _open(data, name)
    try:
        names = list(wb.sheetnames)
        if not names:
            raise EmptyFile(f"{name} has no worksheet.")
        chosen = names[0] if sheet is None else sheet
        if chosen not in names:
            raise SheetNotFound(f"{name} has no sheet {sheet!r}; its sheets are: {', '.join(map(repr, names))}. "
                                "Choose one with --sheet NAME or the sheet selector.")
        ws = wb[chosen]
        total = ws.max_row if isinstance(ws.max_row, int) and ws.max_row > 0 else None  # from the sheet's dimension
        rows: list[list] = []
        for row in ws.iter_rows(values_only=True):
            rows.append([cell_text(v) for v in row])
            if max_rows is not None and len(rows) >= max_rows:
                break
            if progress is not None and len(rows) % _PROGRESS_ROWS == 0:
                of = f" of {total:,}" if total else ""
                progress(min(len(rows) / total, 1.0) if total else 0.0, f"reading row {len(rows):,}{of} of {chosen}")
        return chosen, rows
    finally:
        wb.close()


def cell_text(value) -> str | None:
    """A cell value as the text a CSV export would hold (formulas stay as their ``=...`` text)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value.total_seconds() / 86400)
    return str(getattr(value, "text", value))
