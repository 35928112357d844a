"""Writing demo worlds to files, byte for byte reproducibly.

CSV: UTF-8 without BOM, comma-separated, ``\\n`` line ends, one header row,
dates ``YYYY-MM-DD`` and transaction times ``YYYY-MM-DD HH:MM:SS``, missing
values empty. XLSX: one sheet per dataset; the zip entries' timestamps and
the document's created/modified dates are pinned so that the same world
gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from crm_core.demo.world import DATASETS, DemoArgumentError, DemoWorld

DATE_ONLY_COLUMNS = frozenset({"birth_date", "last_contacted_at", "opened_at", "closed_at"})
PINNED_TIME = (2024, 1, 1, 0, 0, 0)
_CORE_DATES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def write_world(world: DemoWorld, directory: str | Path, *, fmt: str = "csv", prefix: str = "") -> list[Path]:
    """Write each non-empty dataset of ``world`` to ``directory/<prefix><dataset>.<fmt>``.

    Args:
        world: a generated world.
        directory: created if missing.
        fmt: ``"csv"`` or ``"xlsx"`` (one single-sheet workbook per dataset).
        prefix: put before each file name, e.g. ``"retail_"``.
    Returns:
        The paths written, in the order transactions, customers, products, holdings.
    Raises:
        DemoArgumentError: for an unknown format.
    """
    if fmt not in ("csv", "xlsx"):
        raise DemoArgumentError(f"Unknown format {fmt!r}: use fmt='csv' or fmt='xlsx'")
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in world.datasets().items():
        path = out_dir / f"{prefix}{name}.{fmt}"
        frame = frame[list(DATASETS[name])]
        if fmt == "csv":
            write_csv(frame, path)
        else:
            write_xlsx({name: frame}, path)
        written.append(path)
    return written


def write_csv(frame: pd.DataFrame, path: str | Path, *, mode: str = "w", header: bool = True) -> None:
    """Write ``frame`` as house-format CSV (see the module docstring); ``mode="a"`` appends."""
    with open(path, mode, encoding="utf-8", newline="") as handle:
        csv_ready(frame).to_csv(handle, index=False, header=header, lineterminator="\n")


def csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with date-only columns as ``YYYY-MM-DD`` text (others are left to pandas)."""
    out = frame.copy()
    for col in out.columns:
        if col in DATE_ONLY_COLUMNS and pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d").astype("string")
    return out


def write_xlsx(sheets: dict[str, pd.DataFrame], path: str | Path) -> None:
    """Write one sheet per frame, dates as Excel dates, then pin the file's timestamps.

    Args:
        sheets: sheet name -> frame, in sheet order.
        path: the .xlsx file to write.
    """
    wb = Workbook(write_only=True)
    for name, frame in sheets.items():
        ws = wb.create_sheet(title=name)
        ws.append(list(frame.columns))
        formats = {c: ("yyyy-mm-dd" if c in DATE_ONLY_COLUMNS else "yyyy-mm-dd hh:mm:ss")
                   for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])}
        columns = [_cell_values(frame[c]) for c in frame.columns]
        for row in zip(*columns):
            cells = []
            for col, value in zip(frame.columns, row):
                if col in formats and value is not None:
                    cell = WriteOnlyCell(ws, value=value)
                    cell.number_format = formats[col]
                    cells.append(cell)
                else:
                    cells.append(value)
            ws.append(cells)
    wb.properties.creator = "NextBest demo generator"
    buffer = io.BytesIO()
    wb.save(buffer)
    Path(path).write_bytes(pin_zip_timestamps(buffer.getvalue()))


def _cell_values(series: pd.Series) -> list:
    """Python values for openpyxl: None for missing, datetimes, bools, ints, floats, str."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return [None if pd.isna(v) else v.to_pydatetime() for v in series]
    values = series.astype(object).where(series.notna(), None).tolist()
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def pin_zip_timestamps(data: bytes) -> bytes:
    """Rewrite an xlsx (zip) with fixed entry times and fixed document dates."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    stamp = dt.datetime(*PINNED_TIME).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _CORE_DATES.sub(rb"\g<1>" + stamp + rb"\g<2>", content)
            pinned = zipfile.ZipInfo(info.filename, date_time=PINNED_TIME)
            pinned.compress_type = zipfile.ZIP_DEFLATED
            pinned.external_attr = 0o600 << 16
            target.writestr(pinned, content)
    return out.getvalue()
