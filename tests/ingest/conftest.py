"""Fixtures of the import tests: the corpus folders and a row counter for 'nothing left behind'."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from crm_core.store.models import (AuditEvent, Customer, CustomerAttribute, Holding, ImportBatch, ImportIssue, Outcome,
                                   Product, ProductAlias, SavedMapping, Transaction, Workspace)

DATA = Path(__file__).resolve().parents[1] / "data"
GOOD = DATA / "ingest"
BAD = DATA / "bad"
_TABLES = (Workspace, Customer, CustomerAttribute, Product, ProductAlias, Transaction, Holding, Outcome,
           ImportBatch, ImportIssue, SavedMapping, AuditEvent)


def table_counts(db) -> dict[str, int]:
    """Rows per table of everything an import may write."""
    with db.read() as s:
        return {m.__tablename__: int(s.scalar(select(func.count()).select_from(m))) for m in _TABLES}


@pytest.fixture
def counts():
    """The table_counts function (fixtures cannot be imported from a conftest)."""
    return table_counts


def stored_transactions(db):
    """Stored transaction lines with their customer and product codes, money in minor units."""
    import pandas as pd

    sql = ("SELECT t.line_no, c.customer_code AS customer_id, t.invoice_code AS invoice_id, t.invoice_date, "
           "p.product_code AS product_id, p.name AS product_name, p.is_merchandise, t.quantity, "
           "t.unit_price_minor, t.amount_minor, t.is_return, t.category, t.channel "
           "FROM transactions t LEFT JOIN customers c ON c.id = t.customer_id "
           "LEFT JOIN products p ON p.id = t.product_id ORDER BY t.line_no, t.id")
    with db.engine.connect() as conn:
        frame = pd.read_sql_query(sql, conn)
    frame["invoice_date"] = pd.to_datetime(frame["invoice_date"], format="ISO8601")
    return frame


@pytest.fixture
def stored():
    """The stored_transactions function."""
    return stored_transactions
