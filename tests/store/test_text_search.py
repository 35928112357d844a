"""Customer search matches what was typed, literally and without regard to case, on SQLite and PostgreSQL."""

import pytest

from crm_core.store.models import Customer
from crm_core.views.customer import search_customers

PEOPLE = [("c_001", "John", "Doe", "john_doe@example.com"), ("c0001", "Jane", "Roe", "jane@example.com"),
          ("C-100%", "Ünïcødé", "Ωmega", None), ("X9", "Percy", "100% Cotton", "p@example.com")]


def _customers(db):
    from crm_core.auth import Actor, Role
    from crm_core.services.workspaces import ensure_workspace

    ws = ensure_workspace(db, "shop", Actor("ann", Role.ANALYST))
    with db.unit_of_work() as s:
        for code, first, last, email in PEOPLE:
            s.add(Customer(workspace_id=ws.id, customer_code=code, first_name=first, last_name=last, email=email))
    return ws.id


def _found(db, ws, text):
    return search_customers(db, ws, text)["customer_id"].tolist()


def _check(db):
    ws = _customers(db)
    assert _found(db, ws, "john_doe") == ["c_001"]  # the email, with its underscore
    assert _found(db, ws, "c_001") == ["c_001"]  # not c0001: "_" is not a wildcard
    assert _found(db, ws, "100%") == ["C-100%", "X9"]  # "%" is a character
    assert _found(db, ws, "%") == ["C-100%", "X9"]
    assert _found(db, ws, "ünïcødé") == ["C-100%"]  # lower case finds the capital Ü
    assert _found(db, ws, "ΩMEGA") == ["C-100%"]
    assert _found(db, ws, "\\") == []
    assert _found(db, ws, "C_001")[0] == "c_001"  # the exact id first


def test_search_is_literal_and_unicode_case_insensitive_on_sqlite(db):
    _check(db)


@pytest.mark.postgres
def test_search_is_literal_and_unicode_case_insensitive_on_postgres(pg_db):
    _check(pg_db)
