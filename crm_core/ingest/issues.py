"""The validation report's rows: a rejected row or a warning, with line, column, code and value."""

from __future__ import annotations

import numpy as np
import pandas as pd

ISSUE_COLUMNS = ["line", "column", "severity", "code", "value", "message"]
REJECTED, WARNING = "rejected", "warning"

MESSAGES = {
    # rejected rows: not loaded
    "missing_customer_id": "no customer id",
    "missing_product_id": "no product id",
    "missing_date": "no date",
    "bad_date": "not a date in the file's date format",
    "missing_amount": "no amount",
    "missing_quantity": "no quantity",
    "missing_price": "no unit price",
    "bad_number": "not a number",
    "number_too_large": "number too large to store",
    "formula_not_value": "a spreadsheet formula, not a value: paste values before exporting",
    "wrong_field_count": "the line does not split into the header's columns (a delimiter inside an unquoted value?)",
    # warnings: loaded (or skipped, for already loaded invoices)
    "duplicate_row": "same as an earlier line of this file (kept)",
    "duplicate_id": "the id appears again further down the file (the last line wins)",
    "cancellation": "cancellation or return: netted against sales",
    "zero_price": "price is zero",
    "negative_price": "price is negative",
    "unknown_product": "product not in the catalog",
    "future_date": "date is after the import date",
    "bad_boolean": "not a yes/no value: ignored",
    "bad_optional_date": "not a date: ignored",
    "bad_optional_number": "not a number: ignored",
    "invalid_email": "does not look like an e-mail address (kept)",
    "already_loaded": "invoice already loaded by an earlier import: skipped",
    "same_as_loaded": "identical to a line already loaded (customer, date, product, amount): skipped",
    "unknown_campaign": "no such campaign in this workspace: kept without it",
    "unknown_offer": "no such offer in this workspace: kept without it",
}


class IssueLog:
    """Collects issues column-wise (vectorised) and turns them into one sorted frame."""

    def __init__(self):
        self._parts: list[pd.DataFrame] = []

    def add(self, lines, column: str | None, severity: str, code: str, values=None,
            message: str | None = None) -> None:
        """Record one issue per line in ``lines`` (an index or array of source line numbers)."""
        lines = np.asarray(lines, dtype=np.int64)
        if lines.size == 0:
            return
        if values is None:
            vals = np.full(lines.size, None, dtype=object)
        else:
            vals = np.asarray(pd.Series(values).astype("string").to_numpy(dtype=object, na_value=None))
        self._parts.append(pd.DataFrame({
            "line": lines, "column": column, "severity": severity, "code": code, "value": vals,
            "message": message or MESSAGES.get(code, code)}))

    def add_mask(self, frame: pd.DataFrame, mask: pd.Series, column: str | None, severity: str, code: str,
                 values: pd.Series | None = None, message: str | None = None) -> None:
        """Record an issue for each row of ``frame`` where ``mask`` is True (lines from the index)."""
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            vals = None if values is None else values[mask]
            self.add(frame.index[mask], column, severity, code, vals, message)

    def frame(self) -> pd.DataFrame:
        """Every issue, sorted by line then severity (rejections first)."""
        if not self._parts:
            return empty_issues()
        out = pd.concat(self._parts, ignore_index=True)
        out["line"] = out["line"].astype("int64")
        out = out.sort_values(["line", "severity", "code"], kind="mergesort").reset_index(drop=True)
        for col in ("column", "severity", "code", "value", "message"):
            out[col] = out[col].astype("string")
        return out

    def lines(self, severity: str) -> np.ndarray:
        """Distinct lines with at least one issue of ``severity``."""
        parts = [p.loc[p["severity"] == severity, "line"].to_numpy() for p in self._parts]
        return np.unique(np.concatenate(parts)) if parts else np.array([], dtype=np.int64)


def empty_issues() -> pd.DataFrame:
    """An issues frame without rows."""
    return pd.DataFrame({"line": pd.Series([], dtype="int64"),
                         **{c: pd.Series([], dtype="string") for c in ISSUE_COLUMNS[1:]}})
