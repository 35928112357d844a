"""Why an import stopped: one small error class per failure mode.

All derive from :class:`crm_core.errors.ImportFailed` (a NextBestError), and
nothing of the file is stored when one is raised. Messages say what to do.
"""

from __future__ import annotations

from crm_core.errors import ImportFailed


class FileTooLarge(ImportFailed):
    """The file is above the upload limit."""


class EmptyFile(ImportFailed):
    """The file holds nothing, or only a header."""


class UnreadableFile(ImportFailed):
    """The bytes are not a CSV, TSV, Excel or Parquet table (binary junk, old .xls, a PDF...)."""


class LineTooLong(ImportFailed):
    """A line of a text file is wider than the configured cap."""


class TooManyColumns(ImportFailed):
    """A line of a text file has more fields than the configured cap."""


class UnclosedQuote(ImportFailed):
    """A quote opened in a text file is never closed."""


class UnsafeArchive(ImportFailed):
    """An Excel file fails the archive checks (too many entries, too big, zip bomb, XML entities)."""


class SheetNotFound(ImportFailed):
    """The requested Excel sheet does not exist."""


class MappingError(ImportFailed):
    """A given column mapping names unknown fields or headers."""


class MissingColumns(ImportFailed):
    """The file lacks a column the chosen kind needs."""

    def __init__(self, message: str, missing: list[str] | None = None):
        super().__init__(message)
        self.missing = list(missing or [])


class EmptyColumn(ImportFailed):
    """A required column is present but empty in every row."""


class AmbiguousDates(ImportFailed):
    """Every date could be day-first or month-first: the user must choose a date format."""

    def __init__(self, message: str, column: str | None = None):
        super().__init__(message)
        self.column = column


class InvalidDateFormat(ImportFailed):
    """The date format the user gave is not one NextBest knows."""


class RejectThresholdExceeded(ImportFailed):
    """More rows than the threshold would be rejected; import again with accept_rejects=True."""

    def __init__(self, message: str, report=None):
        super().__init__(message)
        self.report = report
