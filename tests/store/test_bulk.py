"""Bulk inserts on a real SQLite file: index rebuild for big loads, all or nothing, foreign keys."""

from __future__ import annotations

import sqlite3

import pytest

from crm_core.store.bulk import REBUILD_MIN_ROWS, sqlite_bulk_insert

SCHEMA = """
CREATE TABLE parent (id INTEGER PRIMARY KEY);
CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id), code TEXT, n INTEGER,
                    UNIQUE (parent_id, n));
CREATE INDEX ix_child_code ON child (code);
CREATE INDEX ix_child_parent_code ON child (parent_id, code);
INSERT INTO parent VALUES (1);
"""


@pytest.fixture
def conn(tmp_path):
    c = sqlite3.connect(tmp_path / "bulk.db", isolation_level=None)
    c.executescript(SCHEMA)
    yield c
    c.close()


def _indexes(c) -> list[tuple]:
    return c.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'child' "
                     "ORDER BY name").fetchall()


def _traced(c) -> list[str]:
    seen: list[str] = []
    c.set_trace_callback(seen.append)
    return seen


def _rows(count: int, start: int = 0):
    return ((f"C{i % 977}", i) for i in range(start, start + count))


def test_a_big_load_into_a_small_table_rebuilds_the_same_indexes(conn):
    before = _indexes(conn)
    seen = _traced(conn)
    conn.execute("BEGIN IMMEDIATE")
    sqlite_bulk_insert(conn, "child", ["code", "n"], _rows(REBUILD_MIN_ROWS), row_count=REBUILD_MIN_ROWS,
                       constants={"parent_id": 1})
    conn.execute("COMMIT")
    assert sum(s.startswith("DROP INDEX") for s in seen) == 2  # the two named ones; the UNIQUE one stays
    assert _indexes(conn) == before
    assert conn.execute("SELECT count(*), min(n), max(n) FROM child").fetchone() == (REBUILD_MIN_ROWS, 0,
                                                                                      REBUILD_MIN_ROWS - 1)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # the rebuilt index answers queries: the plan uses it and the count is right
    plan = " ".join(r[-1] for r in conn.execute("EXPLAIN QUERY PLAN SELECT count(*) FROM child WHERE code = 'C5'"))
    assert "ix_child_code" in plan
    assert conn.execute("SELECT count(*) FROM child WHERE code = 'C5'").fetchone()[0] == len(
        [i for i in range(REBUILD_MIN_ROWS) if i % 977 == 5])


def test_small_loads_and_loads_into_bigger_tables_grow_the_indexes_in_place(conn):
    seen = _traced(conn)
    sqlite_bulk_insert(conn, "child", ["code", "n"], _rows(10), row_count=10, constants={"parent_id": 1})
    assert not any(s.startswith("DROP INDEX") for s in seen)
    conn.execute("BEGIN")
    sqlite_bulk_insert(conn, "child", ["code", "n"], _rows(REBUILD_MIN_ROWS * 2, 10),
                       row_count=REBUILD_MIN_ROWS * 2, constants={"parent_id": 1})
    conn.execute("COMMIT")
    seen.clear()
    conn.execute("BEGIN")
    sqlite_bulk_insert(conn, "child", ["code", "n"], _rows(REBUILD_MIN_ROWS, 10**7), row_count=REBUILD_MIN_ROWS,
                       constants={"parent_id": 1})
    conn.execute("COMMIT")
    assert not any(s.startswith("DROP INDEX") for s in seen)  # 100k rows already there: cheaper to grow


def test_a_failed_load_leaves_rows_and_indexes_as_they_were(conn):
    before = _indexes(conn)
    conn.execute("BEGIN IMMEDIATE")
    duplicate_at_end = [*_rows(REBUILD_MIN_ROWS), ("C0", 0)]  # breaks UNIQUE (parent_id, n) on the last row
    with pytest.raises(sqlite3.IntegrityError):
        sqlite_bulk_insert(conn, "child", ["code", "n"], iter(duplicate_at_end), row_count=len(duplicate_at_end),
                           constants={"parent_id": 1})
    conn.execute("ROLLBACK")
    assert _indexes(conn) == before
    assert conn.execute("SELECT count(*) FROM child").fetchone()[0] == 0
    assert conn.execute("PRAGMA cache_size").fetchone()[0] == -2000  # the default page cache is back


def test_unit_of_work_without_foreign_key_checks_is_scoped_to_that_unit(db):
    from sqlalchemy import text

    with db.unit_of_work(check_foreign_keys=False) as s:
        assert s.execute(text("PRAGMA foreign_keys")).scalar() == 0
    with db.unit_of_work() as s:  # the pooled connection comes back checking them
        assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1
    with db.read() as s:
        assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1
