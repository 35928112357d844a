"""Read any supported file into a frame of text cells: the first step of every import.

:func:`read_table` detects the container (CSV/TSV text, XLSX, Parquet), the
encoding, delimiter, header row and sheet, parses with pandas' C engine,
and proposes a column mapping. Nothing is stored; the page shows the result
as a preview and the importer validates it.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from crm_core.ingest import excel, sniff
from crm_core.ingest.dates import date_style, resolve_date_styles
from crm_core.ingest.errors import AmbiguousDates, EmptyFile, FileTooLarge, MappingError, UnclosedQuote, UnreadableFile
from crm_core.ingest.mapping import DATE_FIELDS, check_kind, check_mapping, guess_kind, missing_fields, propose_mapping
from crm_core.ingest.settings import IngestConfig


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


def source_bytes(source, config: IngestConfig) -> tuple[bytes, str]:
    """``(bytes, name)`` of a path, ``(bytes, name)`` pair, bytes, or uploaded file object.

    Raises:
        FileTooLarge: above ``config.max_upload_mb``.
        UnreadableFile: a path that does not exist.
    """
    limit = config.max_upload_bytes
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise UnreadableFile(f"{path} does not exist or is not a file.")
        if path.stat().st_size > limit:
            raise _too_large(path.name, path.stat().st_size, config)
        return path.read_bytes(), path.name
    if isinstance(source, tuple) and len(source) == 2:
        data, name = source
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "upload"
    elif hasattr(source, "getvalue") or hasattr(source, "read"):
        data = source.getvalue() if hasattr(source, "getvalue") else source.read()
        name = Path(str(getattr(source, "name", "upload"))).name
    else:
        raise UnreadableFile(f"Cannot read {type(source).__name__}: give a file path, bytes and a name, "
                             "or an uploaded file.")
    data = bytes(data)
    if len(data) > limit:
        raise _too_large(name, len(data), config)
    return data, str(name)


def _too_large(name: str, size: int, config: IngestConfig) -> FileTooLarge:
    return FileTooLarge(f"{name} is {size / 2**20:,.1f} MB; the upload limit is {config.max_upload_mb} MB. "
                        "Split the export (e.g. by year) or raise [ingest] max_upload_mb.")


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
    data, name = source_bytes(source, config)
    container = sniff.detect_container(data, name)
    notes: list[str] = []
    if container == "xlsx":
        fmt, headers, frame, rejects = _read_xlsx(data, name, kind, options.sheet, config, notes, progress)
    elif container == "parquet":
        fmt, headers, frame, rejects = _read_parquet(data, name)
    else:
        fmt, headers, frame, rejects = _read_text(data, name, config, notes)
    frame = frame[~(frame == "").all(axis=1)] if len(frame.columns) else frame
    if frame.empty:
        raise EmptyFile(f"{name} has a header ({', '.join(headers[:8])}) but no data rows: export the table "
                        "again with its rows.")
    mapping = _mapping(options.mapping, headers, kind)
    styles = _date_styles(frame, mapping, options.date_format)
    return ParsedTable(source_name=name, kind=kind, content_hash=hashlib.sha256(data).hexdigest(),
                       size_bytes=len(data), format=fmt, headers=headers, frame=frame, mapping=mapping,
                       missing=missing_fields(mapping, kind), date_styles=styles, parse_rejects=rejects,
                       notes=tuple(notes), guessed_kind=guess_kind(headers), preview_rows=config.preview_rows)


def _mapping(given, headers: list[str], kind: str) -> dict[str, str]:
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


def unique_headers(cells: list) -> list[str]:
    """Headers trimmed, blanks named ``column_N``, repeats suffixed `` (2)``."""
    out: list[str] = []
    for i, cell in enumerate(cells):
        text = re.sub(r"\s+", " ", "" if cell is None else str(cell)).strip().lstrip("\ufeff") or f"column_{i + 1}"
        base, n = text, 2
        while text in out:
            text, n = f"{base} ({n})", n + 1
        out.append(text)
    return out


def _read_text(data: bytes, name: str, config: IngestConfig, notes: list[str]):
    utf8, encoding, enc_notes = sniff.decode_text(data, name)
    notes.extend(enc_notes)
    sniff.check_line_limits(utf8, config, name)
    lines = [line.rstrip("\r") for line in utf8[:65536].decode("utf-8", errors="replace").split("\n")[:60]]
    delimiter = sniff.sniff_delimiter(lines)
    sniff.check_line_limits(utf8, config, name, delimiter)
    rows = sniff.split_rows(lines, delimiter)
    h = sniff.find_header_row(rows)
    body = [len(r) for r in rows[h + 1:] if r]
    width = max([len(rows[h])] + ([int(np.bincount(body).argmax())] if body else []))
    headers = unique_headers(list(rows[h]) + [None] * (width - len(rows[h])))
    frame, rejects = _parse_csv(utf8, name, delimiter, headers, h)
    fmt = {"container": "text", "encoding": encoding, "delimiter": delimiter,
           "delimiter_name": sniff.DELIMITER_NAMES[delimiter], "header_line": h + 1}
    return fmt, headers, _drop_blank_columns(frame, headers), rejects


def _parse_csv(utf8: bytes, name: str, delimiter: str, headers: list[str], h: int):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            frame = pd.read_csv(io.BytesIO(utf8), sep=delimiter, header=None, names=headers, skiprows=h + 1,
                                dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=False,
                                on_bad_lines="warn", engine="c", quotechar='"', encoding="utf-8",
                                index_col=False)
        except pd.errors.ParserError as exc:
            text = str(exc)
            found = re.search(r"EOF inside string starting (?:at|on) (?:row|line) (\d+)", text)
            if found:
                line = h + 1 + int(found.group(1))
                raise UnclosedQuote(f"{name}: a quote (\") opened on line {line} is never closed, so the rest of "
                                    "the file would be one value. Close or remove that quote and import "
                                    "again.") from None
            raise UnreadableFile(f"{name} could not be split into columns ({text}). Check the delimiter "
                                 "and quotes, or export it again.") from None
        except pd.errors.EmptyDataError:
            raise EmptyFile(f"{name} has a header but no data rows.") from None
    skipped = []
    for w in caught:
        skipped += [(int(a), int(b), int(c)) for a, b, c in
                    re.findall(r"Skipping line (\d+): expected (\d+) fields?, saw (\d+)", str(w.message))]
    skipped_lines = np.array(sorted(s[0] for s in skipped), dtype=np.int64)
    start = h + 2
    candidates = np.arange(start, start + len(frame) + len(skipped_lines), dtype=np.int64)
    frame.index = pd.Index(np.setdiff1d(candidates, skipped_lines)[:len(frame)], name="line")
    rejects = pd.DataFrame({"line": [s[0] for s in skipped],
                            "value": [f"{c} fields where the header has {b}" for _, b, c in skipped]})
    return frame, rejects


def _drop_blank_columns(frame: pd.DataFrame, headers: list[str]) -> pd.DataFrame:
    blank = [c for c in frame.columns if c.startswith("column_") and (frame[c] == "").all()]
    if blank:
        frame = frame.drop(columns=blank)
        headers[:] = [h for h in headers if h not in blank]
    return frame


def _read_xlsx(data: bytes, name: str, kind: str, sheet: str | None, config: IngestConfig, notes: list[str],
               progress=None):
    excel.check_archive(data, config, name)
    sheets = excel.sheet_names(data, name)
    chosen = sheet
    if sheet is None and len(sheets) > 1:
        chosen = _best_sheet(data, name, sheets, kind)
        notes.append(f"The workbook has {len(sheets)} sheets ({', '.join(sheets)}); sheet {chosen!r} was read. "
                     "Choose another with --sheet NAME or the sheet selector.")
    chosen, rows = excel.read_sheet(data, name, chosen, progress=progress)
    h = sniff.find_header_row(rows[:60])
    if not rows:
        raise EmptyFile(f"{name}: sheet {chosen!r} is empty. Choose the sheet with the data.")
    width = max((len(r) for r in rows[h:h + 200]), default=0)
    headers = unique_headers(list(rows[h]) + [None] * (width - len(rows[h])))
    body = [list(r) + [None] * (width - len(r)) for r in rows[h + 1:]]
    frame = pd.DataFrame(body, columns=headers, dtype=object).fillna("").astype(str)
    frame.index = pd.Index(np.arange(h + 2, h + 2 + len(frame), dtype=np.int64), name="line")
    fmt = {"container": "xlsx", "sheet": chosen, "sheets": sheets, "header_line": h + 1}
    return fmt, headers, _drop_blank_columns(frame, headers), pd.DataFrame(columns=["line", "value"])


def _best_sheet(data: bytes, name: str, sheets: list[str], kind: str) -> str:
    """The first sheet whose headers cover the kind's required fields, else the first sheet."""
    for sheet in sheets:
        _, rows = excel.read_sheet(data, name, sheet, max_rows=60)
        if rows:
            h = sniff.find_header_row(rows)
            if not missing_fields(propose_mapping(unique_headers(rows[h]), kind), kind):
                return sheet
    return sheets[0]


def _read_parquet(data: bytes, name: str):
    try:
        table = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises its own error kinds
        raise UnreadableFile(f"{name} could not be read as Parquet ({type(exc).__name__}): export it again.") from None
    headers = unique_headers(list(map(str, table.columns)))
    frame = pd.DataFrame(index=pd.Index(np.arange(2, 2 + len(table), dtype=np.int64), name="line"))
    for header, col in zip(headers, table.columns):
        values = table[col]
        if pd.api.types.is_datetime64_any_dtype(values):
            text = values.dt.strftime("%Y-%m-%d %H:%M:%S")
        elif pd.api.types.is_bool_dtype(values):
            text = values.map({True: "TRUE", False: "FALSE"})
        else:
            text = values.astype("string")
        frame[header] = pd.Series(text.to_numpy(dtype=object, na_value=""), index=frame.index, dtype=str)
    return {"container": "parquet", "header_line": 1}, headers, frame, pd.DataFrame(columns=["line", "value"])
