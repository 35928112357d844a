"""Give freed memory back to the system between the stages of a big run.

A run at a million customers frees gigabytes between stages (the prepared
offer engine, the candidates of each block). The allocators keep much of it:
Arrow's pool holds freed buffers, and glibc's malloc keeps freed pages in its
heaps, one per thread that allocated (the offers are scored on several
threads). The process then looks, and to the system is, gigabytes bigger than
what it uses, and the next stage's peak lands on top. :func:`release_freed`
hands those pages back; where glibc is not the C library (macOS, Windows) only
Arrow's pool is released.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc

import pyarrow as pa


def release_freed(*, collect: bool = True) -> None:
    """Return the allocators' freed memory to the system, after collecting garbage unless ``collect`` is False."""
    if collect:
        gc.collect()
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None
