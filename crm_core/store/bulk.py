"""Bulk inserts inside the caller's transaction: one door for imports and run results.

:func:`bulk_insert` takes rows as tuples. On SQLite they go to the driver's
``executemany`` on the session's own connection; on any other database
(PostgreSQL) through SQLAlchemy Core ``insert`` in batches. On SQLite, two
measured tricks (1M transaction lines, 2 cores):

- a bigger page cache while the rows go in keeps the indexes in memory (when
  the indexes are dropped, only while they are built again: appending rows
  needs few pages, and a big cache would grow with the load, 140 MB of a
  1M-line import);
- when the rows to insert outnumber those already in the table, the table's
  indexes are dropped first and built again afterwards. Building an index
  from a sort is about twice as fast as growing it row by row (insert with
  five indexes: 10.4 s; insert then build them: 5.1 s). The DDL runs in the
  same transaction, so a failure or a kill leaves the table and its indexes
  as they were; readers in WAL mode keep seeing the old snapshot.

A file imported in batches is one load: :func:`bulk_load` decides once, from
the rows the whole file will add, whether to drop the indexes, and builds
them once at the end (rebuilding per batch would sort the growing table
again and again).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence

import sqlalchemy as sa

# A cap on the page cache, not an allocation. 64 MB builds the indexes of ten million lines as fast as
# 256 MB did (importing them: 149 s against 163 s; storing 2.9M offers: 80-89 s both), and a bigger
# cap filled up on a small run's offers (250 MB more at 100k customers).
SQLITE_CACHE_KIB = 64 * 1024
APPEND_CACHE_KIB = 16 * 1024  # while rows are appended to a table whose indexes were dropped
REBUILD_MIN_ROWS = 50_000  # below this, growing the indexes is cheap enough
CORE_BATCH = 10_000  # rows per Core executemany on databases other than SQLite


def bulk_insert(connection, table: str, columns: Sequence[str], rows: Iterable[tuple], *, row_count: int,
                constants: dict[str, int] | None = None) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) on a session's connection, in its transaction.

    Args:
        connection: ``session.connection()`` of the unit of work.
        table: the table's name.
        columns: the columns the tuples fill (names as the table has them).
        rows: the tuples; values as the driver takes them (see :func:`stored_time`).
        row_count: how many tuples ``rows`` yields.
        constants: integer columns with the same value in every row.
    """
    constants = dict(constants or {})
    if connection.dialect.name == "sqlite":
        quote = connection.dialect.identifier_preparer.quote
        sqlite_bulk_insert(connection.connection.driver_connection, table, [quote(c) for c in columns], rows,
                           row_count=row_count, constants={quote(k): v for k, v in constants.items()})
        return
    target = sa.table(table, *[sa.column(c) for c in [*constants, *columns]])  # untyped: JSON arrives as text
    batch: list[dict] = []
    for row in rows:
        batch.append({**constants, **dict(zip(columns, row))})
        if len(batch) == CORE_BATCH:
            connection.execute(sa.insert(target), batch)
            batch = []
    if batch:
        connection.execute(sa.insert(target), batch)


def stored_time(connection, value: dt.datetime):
    """A timezone-aware time as :func:`bulk_insert` must pass it to a DateTime column on this database."""
    if connection.dialect.name == "sqlite":  # what SQLAlchemy's SQLite DateTime writes: naive UTC text
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def sqlite_bulk_insert(dbapi_connection, table: str, columns: Sequence[str], rows: Iterable[tuple],
                       *, row_count: int, constants: dict[str, int] | None = None) -> None:
    """``INSERT INTO table (columns) VALUES (...)`` for every tuple in ``rows``.

    ``row_count`` is how many rows ``rows`` yields (it decides whether to rebuild the
    indexes); ``constants`` are integer columns with the same value in every row, written
    into the statement instead of bound per row.
    """
    with _sqlite_load(dbapi_connection, table, row_count) as cursor:
        _executemany(cursor, table, columns, rows, constants)


def _executemany(cursor, table: str, columns: Sequence[str], rows: Iterable[tuple], constants: dict | None) -> None:
    constants = constants or {}
    names = [*constants, *columns]
    values = [str(int(v)) for v in constants.values()] + ["?"] * len(columns)
    cursor.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(values)})", rows)


@contextlib.contextmanager
def _sqlite_load(dbapi_connection, table: str, row_count: int) -> Iterator:
    """A cursor with a big page cache and, when rebuilding pays, the table's indexes dropped; the
    indexes are built again when the block ends without an error (on an error the caller rolls back,
    which brings them back)."""
    cursor = dbapi_connection.cursor()
    previous = int(cursor.execute("PRAGMA cache_size").fetchone()[0])
    try:
        indexes = _indexes_to_rebuild(cursor, table, row_count)
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        # Without indexes the rows only append pages: a small cache will do (a big one would grow with
        # the load); the sorts that build the indexes again get the big one.
        cursor.execute(f"PRAGMA cache_size = -{APPEND_CACHE_KIB if indexes else SQLITE_CACHE_KIB}")
        yield cursor
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        for _, create in indexes:
            cursor.execute(create)
    finally:
        cursor.execute(f"PRAGMA cache_size = {previous}")
        cursor.close()


@contextlib.contextmanager
def bulk_load(connection, table: str, *, row_count: int) -> Iterator:
    """Several inserts into ``table`` as one load of about ``row_count`` rows, in the caller's transaction.

    Yields ``insert(columns, rows, constants=None)``, to call once per batch (rows as tuples in
    ``columns`` order, as for :func:`bulk_insert`). On SQLite the indexes are dropped once when the
    load outnumbers the rows already there, and built again once at the end.
    """
    if connection.dialect.name != "sqlite":
        yield lambda columns, rows, constants=None: bulk_insert(connection, table, columns, rows, row_count=0,
                                                                constants=constants)
        return
    quote = connection.dialect.identifier_preparer.quote
    with _sqlite_load(connection.connection.driver_connection, table, row_count) as cursor:
        yield lambda columns, rows, constants=None: _executemany(
            cursor, table, [quote(c) for c in columns], rows,
            {quote(k): v for k, v in (constants or {}).items()})


def _indexes_to_rebuild(cursor, table: str, row_count: int) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the table's own indexes when rebuilding them is the faster way."""
    if row_count < REBUILD_MIN_ROWS:
        return []
    existing = cursor.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] or 0  # an upper bound, O(log n)
    if existing > row_count:
        return []
    # sql IS NULL marks the automatic indexes of UNIQUE/PRIMARY KEY constraints: they cannot be dropped.
    return list(cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                               "AND sql IS NOT NULL ORDER BY name", (table,)).fetchall())
