"""A file to import, as the importer opens it: a path or bytes, its size, name and content hash.

:func:`open_source` takes a path, ``(bytes, name)``, bytes or an uploaded file
and checks the upload limit without reading the file; a :class:`Source` is
then read in chunks (an 850 MB export is never held whole), except by the
readers that need every byte at once (workbooks).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from crm_core.ingest import sniff
from crm_core.ingest.errors import EmptyFile, FileTooLarge, UnreadableFile
from crm_core.ingest.settings import IngestConfig

CHUNK_BYTES = 16 << 20
_BLANK = b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"


@dataclass
class Source:
    """A file to import: its name, size and a way to open its bytes (never read whole here)."""

    name: str
    size: int
    path: Path | None = None
    data: bytes | None = None
    digest: str | None = None  # SHA-256, once a read has computed it

    def open(self):
        """A binary file object positioned at the start."""
        return open(self.path, "rb") if self.path is not None else io.BytesIO(self.data)

    def head(self, n: int) -> bytes:
        """The first ``n`` bytes."""
        with self.open() as f:
            return f.read(n)

    def read_all(self) -> bytes:
        """Every byte (for the containers that are read whole: workbooks)."""
        if self.data is not None:
            return self.data
        return self.path.read_bytes()

    def chunks(self, size: int = CHUNK_BYTES):
        """The bytes, in chunks."""
        with self.open() as f:
            while chunk := f.read(size):
                yield chunk

    def sha256(self) -> str:
        """SHA-256 of the content (the import's identity: the same content is never loaded twice)."""
        if self.digest is None:
            digest = hashlib.sha256()
            for chunk in self.chunks():
                digest.update(chunk)
            self.digest = digest.hexdigest()
        return self.digest

    def is_blank(self) -> bool:
        """True when the file holds nothing but spaces, line ends, NULs and byte-order marks."""
        return all(not chunk.strip(_BLANK) for chunk in self.chunks())


def open_source(source, config: IngestConfig) -> Source:
    """A :class:`Source` for a path, ``(bytes, name)`` pair, bytes, or uploaded file object.

    Raises:
        FileTooLarge: above ``config.max_upload_mb``.
        UnreadableFile: a path that does not exist, or an object that is not a file.
    """
    if isinstance(source, Source):
        return source
    limit = config.max_upload_bytes
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise UnreadableFile(f"{path} does not exist or is not a file.")
        size = path.stat().st_size
        if size > limit:
            raise _too_large(path.name, size, config)
        return Source(path.name, size, path=path)
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
    return Source(str(name), len(data), data=data)


def _too_large(name: str, size: int, config: IngestConfig) -> FileTooLarge:
    return FileTooLarge(f"{name} is {size / 2**20:,.1f} MB; the upload limit is {config.max_upload_mb} MB. "
                        "Split the export (e.g. by year) or raise [ingest] max_upload_mb.")


def detect_container(src: Source) -> str:
    """``xlsx``, ``parquet`` or ``text`` (see :func:`crm_core.ingest.sniff.detect_container`).

    Raises:
        EmptyFile, UnreadableFile.
    """
    if src.size == 0 or src.is_blank():
        raise empty_error(src.name)
    return sniff.container_of(src.head(8), src.name)


def empty_error(name: str) -> EmptyFile:
    """The error for a file with no bytes, or only blanks."""
    return EmptyFile(f"{name} is empty: export the table again and choose the file with the data.")
