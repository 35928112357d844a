"""A text export read in chunks: its encoding, line limits and first 64 KB, and its text as UTF-8.

A 10M-line export is 850 MB, so it is never held whole. :func:`inspect_text`
reads a text file in chunks to find its encoding (the rules of
:func:`crm_core.ingest.sniff.decode_text`, applied to the whole file as
before), check line widths, count its lines and keep the first 64 KB for
sniffing (a UTF-8 file in the same read as its hash);
:func:`utf8_reader` then gives the text again as UTF-8 for the CSV parser,
decoding as it goes when the file is not UTF-8 already. Every check names the
line and the limit exactly as the whole-file checks did.
"""

from __future__ import annotations

import codecs
import hashlib
import io
from dataclasses import dataclass

import numpy as np

from crm_core.ingest import sniff
from crm_core.ingest.errors import LineTooLong, TooManyColumns
from crm_core.ingest.settings import IngestConfig
from crm_core.ingest.source import Source

SAMPLE_BYTES = 64 * 1024
LINE_STRIDE = 4096  # every LINE_STRIDE-th line's byte offset is kept (to re-read the file's last record)
_TRANSCODED = {"mixed utf-8/cp1252": ("utf-8", "nextbest_cp1252"), "utf-16": ("utf-16", "strict"),
               "utf-16-le": ("utf-16-le", "strict"), "utf-16-be": ("utf-16-be", "strict")}


@dataclass(frozen=True)
class TextFacts:
    """What one read of a text file found.

    Attributes:
        encoding: as :func:`crm_core.ingest.sniff.decode_text` names it.
        notes: remarks for the user (mixed encodings).
        sample: the first 64 KB of the text as UTF-8.
        lines: physical lines of the UTF-8 text (a last line without a line end counts).
        max_width: bytes of the longest line.
        line_starts: byte offset (in the UTF-8 text) of lines 1, 1 + LINE_STRIDE, ...
        ends_with_newline: the text ends with a line end.
    """

    encoding: str
    notes: tuple[str, ...]
    sample: bytes
    lines: int
    max_width: int
    line_starts: np.ndarray
    ends_with_newline: bool


def inspect_text(src: Source, config: IngestConfig) -> TextFacts:
    """Find a text file's encoding and check its lines (LineTooLong), in bounded memory.

    A UTF-8 file is read once (its hash, encoding, line widths and sample together); a file in
    another encoding is read again as UTF-8 for its lines.

    Raises:
        UnreadableFile: binary content; LineTooLong: a line above ``config.csv_max_line_bytes``.
    """
    encoding = _fixed_encoding(src.head(4096), src.name)
    widths, sample, notes = _LineWidths(config.csv_max_line_bytes), bytearray(), []
    if encoding is None:
        encoding, notes = _read_raw(src, widths, sample)
    if encoding != "utf-8":
        widths, sample = _LineWidths(config.csv_max_line_bytes), bytearray()
        for chunk in utf8_chunks(src, encoding):
            _add(widths, sample, chunk)
    widths.finish()
    sniff._checked(bytes(sample), src.name, encoding)
    if widths.first_long is not None:
        raise LineTooLong(f"Line {widths.first_long} of {src.name} is {widths.long_width:,} bytes long; the limit "
                          f"is {config.csv_max_line_bytes:,}. Is this really a table? Export it again, or raise "
                          "[ingest] csv_max_line_bytes.")
    return TextFacts(encoding, tuple(notes), bytes(sample), widths.lines, widths.max_width,
                     np.concatenate(widths.starts), widths.ends_with_newline)


def _add(widths: "_LineWidths", sample: bytearray, chunk: bytes) -> None:
    if len(sample) < SAMPLE_BYTES:
        sample += chunk[:SAMPLE_BYTES - len(sample)]
    widths.add(chunk)


def check_field_counts(src: Source, facts: TextFacts, delimiter: str, config: IngestConfig) -> None:
    """TooManyColumns when a line has more fields than ``config.csv_max_columns``.

    A line of w bytes has at most w + 1 fields, so the text is read again only when its
    longest line could hold too many.
    """
    if facts.max_width + 1 <= config.csv_max_columns:
        return
    line, delim, carry = 0, ord(delimiter), 0
    for chunk in utf8_chunks(src, facts.encoding):
        arr = np.frombuffer(chunk, dtype=np.uint8)
        ends = np.flatnonzero(arr == 10)
        counts = np.cumsum(arr == delim)
        per_line = np.diff(np.concatenate(([0], counts[ends]))) if len(ends) else np.zeros(0, np.int64)
        if len(per_line):
            per_line[0] += carry
            carry = int(counts[-1] - counts[ends[-1]])
        else:
            carry += int(counts[-1]) if len(counts) else 0
        over = np.flatnonzero(per_line + 1 > config.csv_max_columns)
        if len(over):
            _too_many(src.name, line + int(over[0]) + 1, int(per_line[over[0]]) + 1, config)
        line += len(ends)
    if carry + 1 > config.csv_max_columns:
        _too_many(src.name, line + 1, carry + 1, config)


def _too_many(name: str, line: int, fields: int, config: IngestConfig):
    raise TooManyColumns(f"Line {line} of {name} has {fields:,} fields; the limit is "
                         f"{config.csv_max_columns:,} columns. Export only the columns you need.")


class _LineWidths:
    """Line widths and counts over chunks (a line may span two chunks), and the first line above a limit."""

    def __init__(self, limit: int):
        self.limit = limit
        self.lines = 0  # lines counted (ended ones, then the last one in finish)
        self.carry = 0  # bytes of the line not ended yet
        self.offset = 0  # bytes seen
        self.max_width = 0
        self.first_long: int | None = None
        self.long_width = 0
        self.starts = [np.zeros(1, dtype=np.int64)]  # byte offsets of lines 1, 1 + LINE_STRIDE, ...
        self.ends_with_newline = False

    def add(self, chunk: bytes) -> None:
        arr = np.frombuffer(chunk, dtype=np.uint8)
        ends = np.flatnonzero(arr == 10)
        if len(ends):
            widths = np.diff(ends, prepend=-1) - 1
            widths[0] = ends[0] + self.carry
            self._widths(widths)
            numbers = np.arange(self.lines + 1, self.lines + 1 + len(ends))  # 0-based index of the next line
            keep = numbers % LINE_STRIDE == 0
            if keep.any():
                self.starts.append((ends[keep] + 1 + self.offset).astype(np.int64))
            self.lines += len(ends)
            self.carry = len(arr) - int(ends[-1]) - 1
        else:
            self.carry += len(arr)
        self.offset += len(arr)
        if len(arr):
            self.ends_with_newline = bool(arr[-1] == 10)

    def finish(self) -> None:
        """Count the last line when it has no line end."""
        if self.carry:
            self._widths(np.array([self.carry]))
            self.lines += 1
            self.carry = 0

    def _widths(self, widths: np.ndarray) -> None:
        top = int(widths.max())
        self.max_width = max(self.max_width, top)
        if top > self.limit and self.first_long is None:
            at = int(np.argmax(widths > self.limit))
            self.first_long, self.long_width = self.lines + at + 1, int(widths[at])


def _fixed_encoding(head: bytes, name: str) -> str | None:
    """The encoding a byte-order mark or a NUL pattern in the first 4 KB settles (None: look further).

    Raises:
        UnreadableFile: NULs in no UTF-16 pattern (binary data).
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    if len(head) >= 4 and head.count(b"\x00") > len(head) // 4:
        odd_nuls, even_nuls = head[1::2].count(0), head[0::2].count(0)
        if odd_nuls > len(head) // 3 and even_nuls == 0:
            return "utf-16-le"
        if even_nuls > len(head) // 3 and odd_nuls == 0:
            return "utf-16-be"
        raise sniff._binary(name)
    return None


def _read_raw(src: Source, widths: "_LineWidths", sample: bytearray) -> tuple[str, list[str]]:
    """One read of the bytes: their hash, whether they are UTF-8 (and, while they are, their lines),
    else whether they mix UTF-8 with cp1252 or are cp1252 / latin-1 (the rules of sniff.decode_text)."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    valid, multibyte, undefined, tail = True, False, False, b""
    for chunk in src.chunks():
        digest.update(chunk)
        if valid:
            try:
                decoder.decode(chunk)
                _add(widths, sample, chunk)
            except UnicodeDecodeError:
                valid = False
        if not valid:
            multibyte = multibyte or bool(sniff._UTF8_MULTIBYTE.search(tail + chunk))
            undefined = undefined or bool(sniff._CP1252_UNDEFINED.search(chunk))
        tail = chunk[-3:]
    src.digest = digest.hexdigest()
    if valid:
        try:
            decoder.decode(b"", final=True)
            return "utf-8", []
        except UnicodeDecodeError:
            multibyte = multibyte or bool(sniff._UTF8_MULTIBYTE.search(tail))
    if multibyte:
        return "mixed utf-8/cp1252", ["The file mixes UTF-8 and Windows (cp1252) text; each line was read in the "
                                      "encoding it uses. Check accented names in the preview."]
    return ("latin-1" if undefined else "cp1252"), []


def utf8_chunks(src: Source, encoding: str):
    """The text as UTF-8 chunks (without a byte-order mark), decoded as it is read.

    Raises:
        UnreadableFile: UTF-16 text that does not decode (binary data).
    """
    if encoding in ("utf-8", "utf-8-sig"):
        first = True
        for chunk in src.chunks():
            if first and encoding == "utf-8-sig":
                chunk = chunk[3:]
            first = False
            yield chunk
        return
    if encoding in ("cp1252", "latin-1"):
        for chunk in src.chunks():
            yield chunk.decode(encoding).encode("utf-8")
        return
    codec, errors = _TRANSCODED[encoding]
    decoder = codecs.getincrementaldecoder(codec)(errors)
    first = True
    try:
        for chunk in src.chunks():
            text = decoder.decode(chunk)
            if first and text:
                text = text.lstrip("\ufeff") if codec.startswith("utf-16") else text
                first = False
            yield text.encode("utf-8")
        rest = decoder.decode(b"", final=True)
        if rest:
            yield rest.encode("utf-8")
    except UnicodeDecodeError:
        raise sniff._binary(src.name) from None


class _ChunkStream(io.RawIOBase):
    """A read-only binary stream over an iterator of byte chunks (for Arrow's CSV reader)."""

    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not len(self._buffer):
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer = memoryview(chunk)
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def utf8_reader(src: Source, encoding: str):
    """A binary file object giving the text as UTF-8 (a plain file or buffer when it already is UTF-8)."""
    if encoding == "utf-8":
        return src.open()
    return io.BufferedReader(_ChunkStream(utf8_chunks(src, encoding)), buffer_size=1 << 20)


def text_from_line(src: Source, facts: TextFacts, line: int) -> str:
    """The UTF-8 text from the start of physical ``line`` (1-based) to the end of the file."""
    k = min((line - 1) // LINE_STRIDE, len(facts.line_starts) - 1)
    start, skip = int(facts.line_starts[k]), (line - 1) - k * LINE_STRIDE
    if facts.encoding in ("utf-8", "utf-8-sig"):
        with src.open() as f:
            f.seek(start + (3 if facts.encoding == "utf-8-sig" else 0))
            data = f.read()
    else:
        out, offset = bytearray(), 0
        for chunk in utf8_chunks(src, facts.encoding):
            if offset + len(chunk) > start:
                out += chunk[max(0, start - offset):]
            offset += len(chunk)
        data = bytes(out)
    text = data.decode("utf-8", errors="replace")
    for _ in range(skip):
        cut = text.find("\n")
        text = text[cut + 1:] if cut >= 0 else ""
    return text
