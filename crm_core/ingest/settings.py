"""Settings of the importer: limits, thresholds and the non-merchandise code list."""

from __future__ import annotations

from dataclasses import dataclass

from crm_core.errors import ConfigError
from crm_core.settings_base import build_section

DEFAULT_NON_MERCHANDISE = (
    # Online Retail style service lines: postage, carriage, fees, adjustments, samples, tests.
    "POST", "DOT", "M", "D", "C2", "ADJUST", "ADJUST2", "BANK CHARGES", "AMAZONFEE", "CRUK",
    "B", "S", "PADS", "TEST001", "TEST002", "GIFT", "SP1002",
)


@dataclass(frozen=True)
class IngestConfig:
    """How files are read and checked.

    Attributes:
        max_upload_mb: largest file accepted (shown to the user).
        reject_threshold: share of non-anonymous rows that may be rejected before
            the import stops and asks for confirmation (0.05 = 5 %).
        non_merchandise_codes: product codes that are services (postage, fees,
            adjustments): they count in money but are never offered.
        upper_case_product_ids: upper-case product codes after trimming.
        cancel_invoice_pattern: regex; an invoice id matching it is a cancellation.
        csv_max_line_bytes: longest physical line of a text file.
        csv_max_columns: most fields on one line of a text file.
        xlsx_max_entries: most members of an Excel (zip) archive.
        xlsx_max_uncompressed_mb: largest total uncompressed size of an Excel archive.
        xlsx_max_ratio: largest compression ratio of an archive member.
        preview_rows: rows shown in the preview.
    """

    max_upload_mb: int = 200
    reject_threshold: float = 0.05
    non_merchandise_codes: tuple[str, ...] = DEFAULT_NON_MERCHANDISE
    upper_case_product_ids: bool = True
    cancel_invoice_pattern: str = r"^[Cc]\d"
    csv_max_line_bytes: int = 1_000_000
    csv_max_columns: int = 2_000
    xlsx_max_entries: int = 100
    xlsx_max_uncompressed_mb: int = 200
    xlsx_max_ratio: float = 100.0
    preview_rows: int = 20

    @property
    def max_upload_bytes(self) -> int:
        """The upload limit in bytes."""
        return int(self.max_upload_mb) * 1024 * 1024

    @classmethod
    def from_dict(cls, d: dict) -> "IngestConfig":
        """Build from the ``[ingest]`` section; unknown keys or bad values raise ConfigError."""
        return build_section(cls, "ingest", d, code_lists=("non_merchandise_codes",))

    def check(self) -> None:
        """Raise ConfigError when a value is out of range."""
        if not 0 <= float(self.reject_threshold) <= 1:
            raise ConfigError(f"[ingest] reject_threshold must be between 0 and 1 (0.05 = 5 %), "
                              f"not {self.reject_threshold}.")
        for name in ("max_upload_mb", "csv_max_line_bytes", "csv_max_columns", "xlsx_max_entries",
                     "xlsx_max_uncompressed_mb", "preview_rows"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"[ingest] {name} must be a positive whole number, not {value!r}.")
        if float(self.xlsx_max_ratio) <= 1:
            raise ConfigError(f"[ingest] xlsx_max_ratio must be above 1, not {self.xlsx_max_ratio}.")
        import re

        try:
            re.compile(self.cancel_invoice_pattern)
        except re.error as exc:
            raise ConfigError(f"[ingest] cancel_invoice_pattern is not a valid regex: {exc}.") from None
