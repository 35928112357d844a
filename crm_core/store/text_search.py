"""Searching text the same way on every database: literal patterns, case folded for every alphabet.

SQLite's own ``lower()`` and ``LIKE`` fold ASCII letters only, so ``ünïcødé``
would not find ``Ünïcødé``; every SQLite connection therefore gets a
``nb_lower`` function (Python's ``str.lower``, registered in
:mod:`crm_core.store.db`). PostgreSQL's ``lower()`` folds every alphabet in
a UTF-8 database. User text goes into a LIKE pattern through
:func:`escape_like`, so ``john_doe`` is searched as written.
"""

from __future__ import annotations

from sqlalchemy import and_, case, func, or_

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


_NOT_PRINTABLE_ASCII = "*[^ -~]*"  # GLOB: some character outside space..tilde


def case_blind(text: str) -> bool:
    """Whether lower-casing can never matter to finding ``text``: it is ASCII with no letter (an id of digits,
    a phone number, ``@example.com``).

    Lower-casing changes ASCII letters only among ASCII characters, and no other character lower-cases to
    anything holding an ASCII character that is not a letter; so a value contains such a text exactly when
    its lower case does.
    """
    return text.isascii() and not any(ch.isalpha() for ch in text)


def folded_contains(db, column, pattern: str, *, case_blind_pattern: bool = False):
    """``unicode_lower(db)(column) LIKE pattern`` (``pattern``: lower case, escaped with :data:`LIKE_ESCAPE`).

    On SQLite the Python ``nb_lower`` costs a call per row (seconds on a million customers), so a value of
    printable ASCII only is matched by SQLite's own LIKE, which ignores ASCII case: for such a value that is
    the same test, as lower-casing changes nothing but ASCII letters. Only a value with some other character
    (``Ü``, the Kelvin sign, a tab) goes through ``nb_lower``: the rows found are the same. With
    ``case_blind_pattern`` (the searched text is :func:`case_blind`) every value is matched by LIKE alone.
    """
    if case_blind_pattern:
        return column.like(pattern, escape=LIKE_ESCAPE)
    if not db.is_sqlite:
        return func.lower(column).like(pattern, escape=LIKE_ESCAPE)
    return or_(column.like(pattern, escape=LIKE_ESCAPE),
               and_(column.op("GLOB")(_NOT_PRINTABLE_ASCII), func.nb_lower(column).like(pattern, escape=LIKE_ESCAPE)))


def folded(db, column):
    """``unicode_lower(db)(column)``, with SQLite's own ``lower()`` for printable ASCII values (the same result)."""
    if not db.is_sqlite:
        return func.lower(column)
    return case((column.op("GLOB")(_NOT_PRINTABLE_ASCII), func.nb_lower(column)), else_=func.lower(column))
