"""Detect what a text table is made of: container, encoding, line limits, delimiter, header row.

Everything here works on bytes or a small sample, before pandas parses the
file, so a hostile file (binary junk, a million-column line) is refused
cheaply and with a message a user can act on.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re

import numpy as np

from crm_core.ingest.errors import EmptyFile, LineTooLong, TooManyColumns, UnreadableFile
from crm_core.ingest.settings import IngestConfig

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_SAMPLE_BYTES = 64 * 1024
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")


def _cp1252_fallback(err: UnicodeDecodeError):
    bad = err.object[err.start:err.end]
    return bad.decode("cp1252", errors="replace"), err.end


codecs.register_error("nextbest_cp1252", _cp1252_fallback)


def detect_container(data: bytes, name: str) -> str:
    """``"xlsx"``, ``"parquet"`` or ``"text"`` from the first bytes (never from the file name alone).

    Raises:
        EmptyFile: no bytes at all.
        UnreadableFile: an old binary .xls, a PDF or another zip that is not a workbook.
    """
    if not data or not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise EmptyFile(f"{name} is empty: export the table again and choose the file with the data.")
    return container_of(data[:8], name)


def container_of(head: bytes, name: str) -> str:
    """``"xlsx"``, ``"parquet"`` or ``"text"`` from the first 8 bytes of a file that is not blank.

    Raises:
        UnreadableFile: an old binary .xls or a PDF.
    """
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "xlsx"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnreadableFile(f"{name} is an old binary Excel file (.xls): open it in Excel or LibreOffice "
                             "and save it as .xlsx or CSV, then import that.")
    if head.startswith(b"%PDF"):
        raise UnreadableFile(f"{name} is a PDF, not a table: export the data as CSV or Excel instead.")
    return "text"


def decode_text(data: bytes, name: str) -> tuple[bytes, str, list[str]]:
    """Find the encoding of a text file and return it re-encoded as UTF-8 (no BOM).

    Handles UTF-8 (with or without BOM), UTF-16 (BOM or NUL pattern),
    cp1252 / latin-1, and files that mix UTF-8 with cp1252 lines.

    Returns:
        ``(utf8_bytes, encoding_label, notes)``; notes explain anything unusual.
    Raises:
        UnreadableFile: binary content.
    """
    notes: list[str] = []
    if data.startswith(codecs.BOM_UTF8):
        return _checked(data[3:], name, "utf-8-sig"), "utf-8-sig", notes
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return _from_utf16(data, "utf-16", name), "utf-16", notes
    sample = data[:4096]
    if len(sample) >= 4 and sample.count(b"\x00") > len(sample) // 4:
        odd_nuls, even_nuls = sample[1::2].count(0), sample[0::2].count(0)
        if odd_nuls > len(sample) // 3 and even_nuls == 0:
            return _from_utf16(data, "utf-16-le", name), "utf-16-le", notes
        if even_nuls > len(sample) // 3 and odd_nuls == 0:
            return _from_utf16(data, "utf-16-be", name), "utf-16-be", notes
        raise _binary(name)
    try:
        data.decode("utf-8")
        return _checked(data, name, "utf-8"), "utf-8", notes
    except UnicodeDecodeError:
        pass
    if _UTF8_MULTIBYTE.search(data):
        text = data.decode("utf-8", errors="nextbest_cp1252")
        notes.append("The file mixes UTF-8 and Windows (cp1252) text; each line was read in the encoding it uses. "
                     "Check accented names in the preview.")
        return _checked(text.encode("utf-8"), name, "mixed utf-8/cp1252"), "mixed utf-8/cp1252", notes
    encoding = "latin-1" if _CP1252_UNDEFINED.search(data) else "cp1252"
    return _checked(data.decode(encoding).encode("utf-8"), name, encoding), encoding, notes


def _from_utf16(data: bytes, encoding: str, name: str) -> bytes:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise _binary(name) from None
    return _checked(text.lstrip("\ufeff").encode("utf-8"), name, encoding)


def _binary(name: str) -> UnreadableFile:
    return UnreadableFile(f"{name} is not a text table (it holds binary data). Choose a CSV, TSV, XLSX or "
                          "Parquet export of your data.")


def _checked(utf8: bytes, name: str, encoding: str) -> bytes:
    """Refuse text with NUL bytes or many control characters (binary renamed .csv)."""
    sample = np.frombuffer(utf8[:_SAMPLE_BYTES], dtype=np.uint8)
    if sample.size == 0:
        return utf8
    control = (sample < 32) & (sample != 9) & (sample != 10) & (sample != 13)
    if (sample == 0).any() or control.mean() > 0.01:
        raise _binary(name)
    return utf8


def check_line_limits(utf8: bytes, config: IngestConfig, name: str, delimiter: str | None = None) -> None:
    """Refuse a text file whose lines are too long or have too many fields, before parsing it.

    Raises:
        LineTooLong, TooManyColumns: naming the line and the limit.
    """
    arr = np.frombuffer(utf8, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)
    bounds = np.concatenate(([-1], ends, [arr.size]))
    widths = np.diff(bounds) - 1
    if widths.size and int(widths.max()) > config.csv_max_line_bytes:
        line = int(np.argmax(widths > config.csv_max_line_bytes)) + 1
        raise LineTooLong(f"Line {line} of {name} is {int(widths[line - 1]):,} bytes long; the limit is "
                          f"{config.csv_max_line_bytes:,}. Is this really a table? Export it again, or raise "
                          "[ingest] csv_max_line_bytes.")
    if delimiter is None:
        return
    positions = np.flatnonzero(arr == ord(delimiter))
    if positions.size <= config.csv_max_columns:
        return
    per_line = np.bincount(np.searchsorted(ends, positions), minlength=bounds.size - 1)
    if int(per_line.max()) + 1 > config.csv_max_columns:
        line = int(np.argmax(per_line + 1 > config.csv_max_columns)) + 1
        raise TooManyColumns(f"Line {line} of {name} has {int(per_line[line - 1]) + 1:,} fields; the limit is "
                             f"{config.csv_max_columns:,} columns. Export only the columns you need.")


def sample_lines(utf8: bytes, limit: int = 60) -> list[str]:
    """The first ``limit`` lines of the text (for sniffing)."""
    head = utf8[:_SAMPLE_BYTES].decode("utf-8", errors="replace")
    lines = head.splitlines()
    if len(utf8) > _SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last one may be cut
    return lines[:limit]


def _split(lines: list[str], delimiter: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter, quotechar='"'))
    except csv.Error:
        return [line.split(delimiter) for line in lines]


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter among , ; tab | that splits the sample into the most consistent columns."""
    best, best_score = ",", (-1, -1)
    content = [line for line in lines if line.strip()]
    for delimiter in DELIMITERS:
        counts = [len(row) for row in _split(content, delimiter)]
        if not counts:
            continue
        values, freq = np.unique(counts, return_counts=True)
        multi = values > 1
        if not multi.any():
            continue
        i = int(np.argmax(np.where(multi, freq, -1)))
        score = (int(freq[i]), int(values[i]))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def split_rows(lines: list[str], delimiter: str) -> list[list[str]]:
    """The sample lines split into fields (quotes honoured), blank lines kept as empty rows."""
    rows = []
    for line in lines:
        rows.append(_split([line], delimiter)[0] if line.strip() else [])
    return rows


def find_header_row(rows: list[list]) -> int:
    """Index of the header row: the first row as wide as the table whose cells are mostly text labels.

    Title lines, notes and blank lines above the header are skipped.
    """
    widths = [sum(1 for c in row if _text(c)) for row in rows]
    if not widths or max(widths) == 0:
        return 0
    body = [w for w in widths if w > 1] or widths
    table_width = int(np.bincount(body).argmax())
    for i, row in enumerate(rows):
        cells = [_text(c) for c in row]
        filled = [c for c in cells if c]
        if len(filled) < max(1, math.ceil(table_width * 0.6)):
            continue
        labels = sum(1 for c in filled if not _looks_like_value(c))
        if labels >= max(1, int(len(filled) * 0.6)):
            return i
    return 0


def _text(cell) -> str:
    return "" if cell is None else str(cell).strip()


_VALUE = re.compile(r"^[\s+\-(]*[£€$]?\s*[\d.,'\s]+%?\)?$|^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(\s.*)?$")


def _looks_like_value(text: str) -> bool:
    return bool(_VALUE.match(text))
