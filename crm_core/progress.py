"""How long work reports how far it got: one callback type for imports, runs, drafts and reports.

A ``Progress`` is called as ``progress(fraction, message)`` with ``fraction``
between 0 and 1 and a short English message saying what is happening
("2/6 features: computing recency ..."). Pages draw it as a progress bar, the
CLI prints the message.
"""

from __future__ import annotations

from typing import Callable

Progress = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    """The Progress used when the caller gives none."""
    return None


def within(progress: Progress, start: float, end: float) -> Progress:
    """A Progress that maps 0..1 onto ``start``..``end`` of ``progress`` (one step of a longer job)."""
    return lambda fraction, message: progress(start + (end - start) * min(max(fraction, 0.0), 1.0), message)
