"""Writing a whole file or nothing: the one place the project replaces a file atomically."""

from __future__ import annotations

import os
from pathlib import Path

from crm_core.errors import ValidationError


def write_atomically(path: str | Path, data: bytes, *, error: type[Exception] = ValidationError,
                     hint: str = "Choose another --out path.") -> Path:
    """Write ``data`` to ``path`` through a temporary file next to it, so a failure leaves no half-written file.

    Raises:
        ``error`` (ValidationError unless told) naming the path, the system's reason and ``hint``.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise error(f"Cannot write {path}: {exc.strerror or exc}. {hint}".rstrip()) from None
    return path
