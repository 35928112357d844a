"""Read any supported file into a frame of text cells: the first step of every import.

:func:`read_table` detects the container (CSV/TSV text, XLSX, Parquet), the
encoding, delimiter, header row and sheet, parses the cells as text
(:mod:`crm_core.ingest.containers`) and proposes a column mapping. Nothing is stored; the page shows the result
as a preview and the importer validates it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from crm_core.ingest.containers import read_parquet, read_text, read_xlsx, unique_headers
from crm_core.ingest.dates import date_style, resolve_date_styles
from crm_core.ingest.errors import AmbiguousDates, EmptyFile, MappingError
from crm_core.ingest.mapping import DATE_FIELDS, check_kind, check_mapping, guess_kind, missing_fields, propose_mapping
from crm_core.ingest.settings import IngestConfig
from crm_core.ingest.source import detect_container, open_source

__all__ = ["ParsedTable", "ReaderOptions", "load_mapping_file", "mapping_for", "read_table", "unique_headers"]


@dataclass(frozen=True)
class ReaderOptions:
    """How to read a file when detection is not enough (shared by the CLI commands and the page).

    Attributes:
        mapping: canonical field -> source header (a dict, or a JSON/TOML file path); None: propose one.
        date_format: ``DMY``, ``MDY``, ``YMD``, ``YYYYMMDD``, ``EXCEL`` or a strftime pattern.
        sheet: the Excel sheet to read; None: the first sheet that has the needed columns.
    """

    mapping: dict | str | Path | None = None
    date_format: str | None = None
    sheet: str | None = None


@dataclass(frozen=True)
class ParsedTable:
    """A file as read, before validation.

    Attributes:
        source_name: the file name.
        kind: what the file holds (transactions, customers...).
        content_hash: SHA-256 of the bytes (re-importing the same content adds nothing).
        format: how it was read: container, encoding, delimiter, header_line, sheet, sheets.
        headers: the column headers, made unique.
        frame: every data row as text (``str`` dtype, empty cells ``""``), indexed by source line.
        mapping: canonical field -> header (the given mapping, else the proposal).
        missing: required fields the mapping lacks (empty when the file can be imported).
        date_styles: header -> detected date style (``AMBIGUOUS`` when the user must choose).
        parse_rejects: lines the parser could not split into the header's columns.
        notes: remarks for the user (mixed encodings, other sheets...).
        guessed_kind: the kind the headers look like.
    """

    source_name: str
    kind: str
    content_hash: str
    size_bytes: int
    format: dict
    headers: list[str]
    frame: pd.DataFrame
    mapping: dict[str, str]
    missing: list[str]
    date_styles: dict[str, str] = field(default_factory=dict)
    parse_rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["line", "value"]))
    notes: tuple[str, ...] = ()
    guessed_kind: str | None = None
    preview_rows: int = 20

    @property
    def preview(self) -> pd.DataFrame:
        """The first rows as parsed (what the user checks before confirming)."""
        return self.frame.head(self.preview_rows)

    @property
    def sheets(self) -> list[str]:
        """The workbook's sheets (empty for text and Parquet files)."""
        return list(self.format.get("sheets") or [])

    def with_mapping(self, mapping: dict, date_format: str | None = None) -> "ParsedTable":
        """The same parsed file under another mapping (checked), without parsing it again.

        Raises:
            MappingError: unknown fields, headers the file lacks, a header used twice.
        """
        import dataclasses

        checked = check_mapping(mapping, self.headers, self.kind)
        return dataclasses.replace(self, mapping=checked, missing=missing_fields(checked, self.kind),
                                   date_styles=_date_styles(self.frame, checked, date_format))

    @property
    def needs_date_format(self) -> bool:
        """True when a date column reads both day-first and month-first and nothing decides."""
        return "AMBIGUOUS" in self.date_styles.values()


def read_table(source, *, kind: str, options: ReaderOptions = ReaderOptions(),
               config: IngestConfig = IngestConfig(), progress=None) -> ParsedTable:
    """Read a file into text cells, detect its format and propose a mapping.

    Args:
        source: a path, ``(bytes, name)``, bytes, or an uploaded file object.
        kind: transactions, customers, products, holdings or outcomes.
        options: a mapping, date format or sheet chosen by the user.
        config: the importer's limits.
        progress: called with ``(fraction 0..1, message)`` while a workbook's rows are read.
    Returns:
        A :class:`ParsedTable`; check ``missing`` and ``needs_date_format`` before importing.
    Raises:
        ImportFailed subclasses (FileTooLarge, EmptyFile, UnreadableFile, LineTooLong,
        TooManyColumns, UnclosedQuote, UnsafeArchive, SheetNotFound, MappingError).
    """
    check_kind(kind)
    src = open_source(source, config)
    container = detect_container(src)
    notes: list[str] = []
    if container == "xlsx":
        fmt, headers, frame, rejects = read_xlsx(src.read_all(), src.name, kind, options.sheet, config, notes,
                                                 progress)
    elif container == "parquet":
        fmt, headers, frame, rejects = read_parquet(src)
    else:
        fmt, headers, frame, rejects = read_text(src, config, notes)
    frame = frame[~(frame == "").all(axis=1)] if len(frame.columns) else frame
    if frame.empty:
        raise EmptyFile(f"{src.name} has a header ({', '.join(headers[:8])}) but no data rows: export the table "
                        "again with its rows.")
    mapping = mapping_for(options.mapping, headers, kind)
    styles = _date_styles(frame, mapping, options.date_format)
    return ParsedTable(source_name=src.name, kind=kind, content_hash=src.sha256(), size_bytes=src.size, format=fmt,
                       headers=headers, frame=frame, mapping=mapping, missing=missing_fields(mapping, kind),
                       date_styles=styles, parse_rejects=rejects, notes=tuple(notes),
                       guessed_kind=guess_kind(headers), preview_rows=config.preview_rows)


def mapping_for(given, headers: list[str], kind: str) -> dict[str, str]:
    """The given mapping (a dict or a JSON/TOML file), checked against the headers, else the proposal.

    Raises:
        MappingError: unknown fields, headers the file lacks, a header used twice.
    """
    if given is None:
        return propose_mapping(headers, kind)
    if isinstance(given, (str, Path)):
        given = load_mapping_file(given)
    return check_mapping(given, headers, kind)


def load_mapping_file(path: str | Path) -> dict[str, str]:
    """A mapping (canonical field -> source header) from a JSON or TOML file.

    Raises:
        MappingError: the file is missing or is neither JSON nor TOML of strings.
    """
    import json
    import tomllib

    p = Path(path)
    if not p.is_file():
        raise MappingError(f"Mapping file {p} does not exist.")
    text = p.read_text(encoding="utf-8-sig")
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" or text.lstrip().startswith("{") else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise MappingError(f"Mapping file {p} is neither valid JSON nor TOML ({exc}). Write e.g. "
                           '{"customer_id": "Kundennummer"} or customer_id = "Kundennummer".') from None
    if isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), dict):
        data = next(iter(data.values()))  # a [mapping] table
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise MappingError(f"Mapping file {p} must map canonical field names to column headers (text).")
    return data


def _date_styles(frame: pd.DataFrame, mapping: dict[str, str], date_format: str | None) -> dict[str, str]:
    columns = {h: frame[h] for f, h in mapping.items() if f in DATE_FIELDS}
    try:
        return resolve_date_styles(columns, date_format)
    except AmbiguousDates:
        return {h: date_style(values) for h, values in columns.items()}
