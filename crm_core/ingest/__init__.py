"""Import real exports: CSV, TSV, Excel and Parquet files, mapped, validated, stored all or nothing.

Public entry points:

* :func:`read_table` - read a file, detect its format, propose a mapping (nothing stored);
* :func:`import_file` - read, validate and store one file with its report;
* :class:`ReaderOptions`, :class:`ParsedTable`, :class:`ImportReport`, :class:`IngestConfig`;
* :func:`recall_mapping` - the mapping confirmed earlier for files with the same headers;
* :func:`detect_currency`, :data:`CURRENCY_CODES` - the currency the amounts name, and the codes offered.

Every failure is an :class:`crm_core.errors.ImportFailed` subclass (see
:mod:`crm_core.ingest.errors`) whose message says what to do.
"""

from crm_core.ingest.currency import CODES as CURRENCY_CODES
from crm_core.ingest.currency import detect_currency
from crm_core.ingest.dates import DATE_FORMAT_CHOICES
from crm_core.ingest.errors import (AmbiguousDates, EmptyColumn, EmptyFile, FileTooLarge, InvalidDateFormat,
                                    LineTooLong, MappingError, MissingColumns, RejectThresholdExceeded, SheetNotFound,
                                    TooManyColumns, UnclosedQuote, UnreadableFile, UnsafeArchive)
from crm_core.ingest.mapping import FIELDS, KINDS, guess_kind, required_fields
from crm_core.ingest.read import ParsedTable, ReaderOptions, load_mapping_file, read_table
from crm_core.ingest.report import ImportReport
from crm_core.ingest.saved_mappings import recall_mapping
from crm_core.ingest.service import import_file
from crm_core.ingest.settings import IngestConfig

__all__ = [
    "AmbiguousDates", "CURRENCY_CODES", "DATE_FORMAT_CHOICES", "EmptyColumn", "EmptyFile", "FIELDS", "FileTooLarge", "ImportReport",
    "IngestConfig", "InvalidDateFormat", "KINDS", "LineTooLong", "MappingError", "MissingColumns", "ParsedTable",
    "ReaderOptions", "RejectThresholdExceeded", "SheetNotFound", "TooManyColumns", "UnclosedQuote",
    "UnreadableFile", "UnsafeArchive", "detect_currency", "guess_kind", "import_file", "load_mapping_file", "read_table",
    "recall_mapping", "required_fields",
]
