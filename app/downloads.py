"""CSV and Excel download buttons for one table, built only when the user clicks (never on a rerun).

A page passes what it would download: a DataFrame it already holds (a summary), a
:class:`crm_core.views.downloads.DownloadTable` (rows read in chunks), or a callable returning either
(the read itself deferred to the click). Both files go through :mod:`crm_core.formula_safety`.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from crm_core.views.downloads import XLSX_MAX_ROWS, DownloadTable, csv_file, file_stem, table_of, xlsx_file

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Source = pd.DataFrame | DownloadTable | Callable[[], "pd.DataFrame | DownloadTable"]


def download_buttons(frame_or_callable: Source, *, name: str, key_prefix: str, label: str = "Download",
                     rows: int | None = None) -> None:
    """Two buttons, CSV and Excel, for one table; the file is made when its button is clicked.

    Args:
        frame_or_callable: the table (see the module docstring).
        name: the file name without suffix (made safe for a file system; e.g. ``customers_shop_run12``).
        key_prefix: the CSV button's key; the Excel button's is ``key_prefix + "_xlsx"``.
        label: the buttons' text before `` (CSV)`` / `` (Excel)``.
        rows: how many rows the table has, when known: above Excel's limit the Excel button is disabled.
    """
    stem = file_stem(name)

    def table() -> DownloadTable:
        got = frame_or_callable() if callable(frame_or_callable) else frame_or_callable
        return got if isinstance(got, DownloadTable) else table_of(got, name=stem)

    too_big = rows is not None and rows > XLSX_MAX_ROWS
    left, right = st.columns(2)
    left.download_button(f"{label} (CSV)", data=lambda: csv_file(table()), file_name=f"{stem}.csv", mime="text/csv",
                         key=key_prefix, on_click="ignore", icon=":material/download:")
    right.download_button(f"{label} (Excel)", data=lambda: xlsx_file(table()), file_name=f"{stem}.xlsx",
                          mime=XLSX_MIME, key=f"{key_prefix}_xlsx", on_click="ignore", icon=":material/table:",
                          disabled=too_big,
                          help=f"More than {XLSX_MAX_ROWS:,} rows: an Excel sheet cannot hold them; use the CSV."
                          if too_big else None)
