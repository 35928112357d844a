"""What an import did, for the page, the CLI and the stored batch."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from crm_core.formula_safety import csv_bytes
from crm_core.ingest.issues import MESSAGES, empty_issues


@dataclass(frozen=True)
class ImportReport:
    """The outcome of one import.

    Attributes:
        batch_id: the stored ImportBatch (None when nothing was stored).
        status: ``loaded``, ``duplicate`` (same content imported before: nothing added) or
            ``needs_confirmation`` (over the reject threshold: nothing stored yet).
        rows_read / rows_loaded / rows_rejected / rows_warned / rows_skipped: the totals.
        anonymous_rows: loaded rows without a customer id (anonymous sales).
        issues: one row per rejected row or warning: line, column, severity, code, value, message.
        message: one paragraph a user can act on.
        format: how the file was read (encoding, delimiter, decimal mark, date styles, sheet).
        mapping: canonical field -> source header used.
    """

    kind: str
    source_name: str
    workspace: str
    status: str
    batch_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_warned: int = 0
    rows_skipped: int = 0
    anonymous_rows: int = 0
    issues: pd.DataFrame = field(default_factory=empty_issues)
    message: str = ""
    format: dict = field(default_factory=dict)
    mapping: dict = field(default_factory=dict)
    content_hash: str = ""

    @property
    def counts(self) -> dict[str, int]:
        """Number of issues per reason code, most frequent first."""
        if self.issues.empty:
            return {}
        return {str(k): int(v) for k, v in self.issues["code"].value_counts().items()}

    def summary(self) -> dict:
        """The totals as a plain dict (for run.json and the batch row)."""
        return {"status": self.status, "batch_id": self.batch_id, "source": self.source_name, "kind": self.kind,
                "read": self.rows_read, "loaded": self.rows_loaded, "rejected": self.rows_rejected,
                "warned": self.rows_warned, "skipped": self.rows_skipped, "anonymous": self.anonymous_rows,
                "issues": self.counts}

    def to_text(self, max_issues: int = 20) -> str:
        """The report as the CLI prints it: totals, format, issue counts, the first issues."""
        lines = [f"{self.source_name} -> {self.workspace} ({self.kind}): {self.status}",
                 f"  read {self.rows_read:,}  loaded {self.rows_loaded:,}  rejected {self.rows_rejected:,}  "
                 f"warned {self.rows_warned:,}  skipped {self.rows_skipped:,}  anonymous {self.anonymous_rows:,}"]
        if self.format:
            shown = ", ".join(f"{k}={v}" for k, v in self.format.items() if k not in ("sheets",) and v not in (None, ""))
            lines.append(f"  format: {shown}")
        if self.mapping:
            lines.append("  mapping: " + ", ".join(f"{k}<-{v!r}" for k, v in self.mapping.items()))
        for code, n in self.counts.items():
            lines.append(f"  {n:>8,} x {code}: {MESSAGES.get(code, code)}")
        if not self.issues.empty and max_issues:
            lines.append(f"  first issues (line, column, code, value):")
            for row in self.issues.head(max_issues).itertuples(index=False):
                lines.append(f"    line {row.line}: {row.column if isinstance(row.column, str) else '-'} "
                             f"{row.code} {_short(row.value)}")
            if len(self.issues) > max_issues:
                lines.append(f"    ... {len(self.issues) - max_issues:,} more (download the full list as CSV)")
        if self.message:
            lines.append(self.message)
        return "\n".join(lines)

    def issues_csv(self) -> bytes:
        """The issues as UTF-8 CSV, formula-safe (:func:`crm_core.formula_safety.csv_bytes`)."""
        return csv_bytes(self.issues)


def _short(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")
