"""Every file NextBest writes for a spreadsheet goes through here: no cell can run as a formula.

Excel, LibreOffice and Google Sheets run a cell that starts with ``=``,
``+``, ``-``, ``@``, a tab, a carriage return or a line feed as a formula
(CSV injection), and they skip leading spaces and quotes first, so
``  =1+1`` and ``"=1+1`` are just as dangerous. openpyxl and
``DataFrame.to_excel`` even store such a string as a live formula.

- CSV (:func:`csv_bytes`): a risky text cell gets a leading apostrophe,
  which every spreadsheet shows as text. A plain number written as text
  (``-12.5``) is left alone: it is a number, not a formula. A carriage
  return inside a cell becomes a line feed: Python's CSV writer quotes a
  field with a line feed but not one with a lone carriage return, which a
  spreadsheet would read as the start of a new row (and a new first cell).
- Excel (:func:`write_workbook`): every text cell is written with the
  string type, so it is exactly its text and never a formula; numbers,
  booleans and dates keep their types. Characters that XML cannot hold at
  all (control characters other than tab, CR, LF) are dropped, and a
  carriage return is written as a line feed (XML reads a raw CR back as LF
  anyway): a cell's text is otherwise exactly what was given.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

_RISKY = re.compile(r"^[\s'\"]*[=+\-@\t\r\n]")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
XLSX_MAX_TEXT = 32_767  # Excel's limit for one cell


def is_risky(value: str) -> bool:
    """Whether a spreadsheet would run ``value`` as a formula (and it is not a plain number)."""
    return bool(value) and bool(_RISKY.match(value)) and not _NUMBER.match(value)


def neutralise_text(value: str) -> str:
    """One CSV cell: prefix ``'`` when a spreadsheet would run it."""
    return "'" + value if is_risky(value) else value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and header) cannot run as formulas in a CSV (vectorised)."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if not (pd.api.types.is_string_dtype(s) or s.dtype == object):
            continue
        text = s.astype("string")
        if text.str.contains("\r", regex=False, na=False).any():
            text = text.str.replace("\r\n", "\n", regex=False).str.replace("\r", "\n", regex=False)
            out[col] = text
        risky = _risky_cells(text)
        if risky.any():
            out[col] = text.where(~risky, "'" + text)
    if any(is_risky(str(c)) for c in out.columns):
        out.columns = [neutralise_text(str(c)) for c in out.columns]
    return out


def _risky_cells(text: pd.Series) -> pd.Series:
    """:func:`is_risky` of every cell of a string column (False where missing).

    ``_RISKY``'s ``\\s`` is Unicode whitespace, which only Python's regex engine knows, one call per cell
    (about 5 s a million cells): so cells that cannot be risky, empty or starting with an ASCII letter or
    digit, are told apart first by Arrow's own engine, and only the others go through Python.
    """
    safe = (text.str.len() == 0) | text.str.match(r"[A-Za-z0-9]")
    candidates = ~safe.fillna(True).to_numpy(dtype=bool)
    risky = pd.Series(False, index=text.index)
    if candidates.any():
        some = text[candidates]
        risky[candidates] = (some.str.match(_RISKY.pattern, na=False)
                             & ~some.str.fullmatch(_NUMBER.pattern, na=False)).to_numpy(dtype=bool)
    return risky


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as UTF-8 CSV (no BOM, ``\\n`` line ends, no index), formula-safe."""
    buffer = io.StringIO()
    neutralise_formulas(frame).to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def xlsx_text(value: str) -> str:
    """What a text cell of a workbook holds: without XML-illegal characters, CR as LF, within Excel's limit."""
    return _XML_ILLEGAL.sub("", value).replace("\r\n", "\n").replace("\r", "\n")[:XLSX_MAX_TEXT]


@dataclass(frozen=True)
class SheetChart:
    """A native Excel chart drawn from columns of the sheet it is on.

    Attributes:
        title: the chart's title.
        categories: the column whose cells label the bars or points.
        values: the numeric columns, one series each (its header names the series).
        kind: ``bar`` (vertical), ``barh`` (horizontal) or ``line``.
        y_title, x_title: axis titles.
        anchor: the cell of the chart's top-left corner (default: right of the table, charts stacked).
    """

    title: str
    categories: str
    values: tuple[str, ...]
    kind: str = "bar"
    y_title: str | None = None
    x_title: str | None = None
    anchor: str | None = None


def write_workbook(sheets: dict[str, pd.DataFrame], target: str | Path | io.BytesIO | None = None, *,
                   charts: dict[str, Sequence[SheetChart]] | None = None) -> bytes | None:
    """Write frames as the sheets of one .xlsx workbook, every text cell typed as text.

    Args:
        sheets: sheet name -> frame (header row, then one row per record; no index).
        target: a path or buffer; None returns the file's bytes.
        charts: sheet name -> native charts of that sheet's columns (openpyxl.chart); a sheet
            without rows gets none.
    Returns:
        The bytes when ``target`` is None.
    Raises:
        KeyError: a chart names a column its sheet does not have.
    """
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for name, frame in sheets.items():
        sheet = book.create_sheet(title=_sheet_title(name))
        sheet.append([_text_cell(sheet, str(c)) for c in frame.columns])
        for row in frame.itertuples(index=False, name=None):
            sheet.append([_cell(sheet, v) for v in row])
        for number, chart in enumerate((charts or {}).get(name, ())):
            if len(frame):
                sheet.add_chart(_chart(sheet, frame, chart), chart.anchor or _anchor(frame, number))
    if target is None:
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()
    book.save(target)
    return None


def _chart(sheet, frame: pd.DataFrame, spec: SheetChart):
    """The openpyxl chart of ``spec`` over the rows of ``frame`` as written on ``sheet`` (header on row 1)."""
    from openpyxl.chart import BarChart, LineChart, Reference

    columns = list(frame.columns)
    chart = LineChart() if spec.kind == "line" else BarChart()
    if spec.kind == "barh":
        chart.type = "bar"
    chart.title = spec.title
    chart.y_axis.title = spec.y_title
    chart.x_axis.title = spec.x_title
    chart.width, chart.height = 18, 9
    last = len(frame) + 1
    for column in spec.values:
        index = columns.index(column) + 1
        chart.add_data(Reference(sheet, min_col=index, min_row=1, max_row=last), titles_from_data=True)
    label = columns.index(spec.categories) + 1
    chart.set_categories(Reference(sheet, min_col=label, min_row=2, max_row=last))
    return chart


def _anchor(frame: pd.DataFrame, number: int) -> str:
    """Two columns right of the table, each further chart 20 rows lower."""
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(len(frame.columns) + 2)}{2 + 20 * number}"


def _sheet_title(name: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", str(name))[:31] or "Sheet"


def _text_cell(sheet, text: str):
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=xlsx_text(text))
    cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
    return cell


def _cell(sheet, value):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, str):
        return _text_cell(sheet, value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, (bytes, bytearray)):  # numpy scalars
        return value.item()
    if isinstance(value, (int, float, bool)) or hasattr(value, "isoformat"):
        return value
    return _text_cell(sheet, str(value))
