"""Searching text the same way on every database: literal patterns, case folded for every alphabet.

SQLite's own ``lower()`` and ``LIKE`` fold ASCII letters only, so ``ünïcødé``
would not find ``Ünïcødé``; every SQLite connection therefore gets a
``nb_lower`` function (Python's ``str.lower``, registered in
:mod:`crm_core.store.db`). PostgreSQL's ``lower()`` folds every alphabet in
a UTF-8 database. User text goes into a LIKE pattern through
:func:`escape_like`, so ``john_doe`` is searched as written.
"""

from __future__ import annotations

from sqlalchemy import func

LIKE_ESCAPE = "\\"


def escape_like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern with ``ESCAPE '\\'``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def unicode_lower(db):
    """The SQL function that lower-cases every alphabet on ``db``'s engine (``nb_lower`` or ``lower``)."""
    return func.nb_lower if db.is_sqlite else func.lower


def python_lower(value: str | None) -> str | None:
    """What ``nb_lower`` computes in SQLite."""
    return None if value is None else str(value).lower()
