"""One step ahead: the next item of an iterator is made in a worker thread while the caller uses this one.

A batched import reads and checks a batch (pandas and Arrow, much of it without the GIL) while
the previous batch goes into the database, and a run's results turn their next chunk into
Python values while the previous one is inserted (SQLite's own work runs without the GIL), so
the two cores share the work instead of taking turns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
_END = object()


def one_ahead(items: Iterable[T]) -> Iterator[T]:
    """Yield ``items`` in order, each made in a worker thread while the caller works on the one before.

    The iterator is only ever advanced by one thread at a time, one item ahead of the caller (so at
    most two items are alive at once); an exception it raises reaches the caller in its place in
    the sequence. When the caller stops early, the item being made is finished and dropped.
    """
    source = iter(items)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="one-ahead") as worker:
        pending = worker.submit(next, source, _END)
        while True:
            item = pending.result()
            if item is _END:
                return
            pending = worker.submit(next, source, _END)
            yield item
