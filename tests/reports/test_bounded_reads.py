"""A report aggregates in the database: no query it runs returns a row per customer, however many there are."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event

from crm_core.outcomes.attribution import AttributionRule
from crm_core.reports.content import report_content
from crm_core.reports.workbook import workbook_bytes
from tests.reports.report_world import big_world

CUSTOMERS = 6_000
MOST_ROWS = 60  # segments, scenarios, states, days of the window, actions: a few dozen at most


@contextlib.contextmanager
def _queries(engine):
    """Every SELECT the block runs, with its parameters (as the driver got them)."""
    seen: list[tuple[str, object]] = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", remember)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", remember)


def _rows(engine, statement: str, parameters) -> int:
    """How many rows a captured query returns when run again."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(statement, parameters)
        return len(cursor.fetchall())
    finally:
        connection.close()


@pytest.mark.parametrize("match", ["product", "family"])
def test_no_query_of_a_report_returns_a_row_per_customer(db, match):
    world = big_world(db, CUSTOMERS)
    with _queries(db.engine) as seen:
        content = report_content(db, world.run_id, rule=AttributionRule(match=match))
        workbook_bytes(content)
    assert int(content.campaigns.iloc[0]["treatment_customers"]) == CUSTOMERS // 2  # every customer was counted
    assert int(content.funnel.set_index("stage").loc["Exported", "customers"]) == CUSTOMERS // 2
    counts = [_rows(db.engine, statement, parameters) for statement, parameters in seen]
    assert seen and max(counts) <= MOST_ROWS, max(zip(counts, [s for s, _ in seen]))
