"""Customer search matches what was typed, literally and without regard to case, on SQLite and PostgreSQL."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


TRICKY = [("AB12", "Kelvin", "\u212aing", None),  # the Kelvin sign lower-cases to an ASCII k
          ("ab12x", "Tab\tbed", "Doe", "TAB@EXAMPLE.COM"), ("\u0130D7", "Dotted", "\u0130", "i@example.com"),
          ("ÄB12", "Äbc", None, "abc@example.com"), ("Zed", None, None, None)]


def _reference(text: str, limit: int = 25) -> list[str]:
    """The search as plain Python: contains, case folded by str.lower, exact ids first, then by id."""
    needle = text.strip().lower()
    rows = []
    for code, first, last, email in PEOPLE + TRICKY:
        full = f"{first or ''} {last or ''}".lower()
        if not needle or any(needle in v for v in (code.lower(), full, (email or "").lower())):
            rows.append(code)
    return sorted(rows, key=lambda code: (code.lower() != needle, code))[:limit]


def test_ascii_values_are_matched_without_the_python_function_and_every_result_is_as_before(db, monkeypatch):
    import crm_core.store.db as store_db

    ws = _customers(db)
    with db.unit_of_work() as s:
        for code, first, last, email in TRICKY:
            s.add(Customer(workspace_id=ws, customer_code=code, first_name=first, last_name=last, email=email))
    calls = []

    def counted(value):
        calls.append(value)
        return None if value is None else str(value).lower()

    monkeypatch.setattr(store_db, "python_lower", counted)
    db.engine.dispose()  # new connections register the counting nb_lower
    for text in ("ab12", "AB12", "k", "KING", "tab", "\tb", "i̇", "i", "ä", "Ä", "c_001", "100%", "zed", "", "e",
                 "12", "0", "@", "n d", "N DOE", "rcy 100", "y 1", "vin \u212a", "d \u0130", "%", "_"):
        assert _found(db, ws, text) == _reference(text), text
    calls.clear()
    assert _found(db, ws, "c0001") == ["c0001"]
    non_ascii = {v for v in calls if v is not None and not all(" " <= ch <= "~" for ch in v)}
    assert non_ascii == set(calls) and calls, calls  # only values outside printable ASCII were lower-cased in Python
    db.engine.dispose()
    calls.clear()
    assert _found(db, ws, "12") == _reference("12")
    assert set(calls) <= {"ÄB12"}, calls  # digits only: no value is lower-cased to match (the order may fold an id)
    db.engine.dispose()


_LETTERS = "".join(sorted({ch for row in PEOPLE + TRICKY for v in row if v for ch in v} | set("0123456789 @._%")))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=_LETTERS, min_size=1, max_size=6))
def test_any_text_finds_what_plain_python_finds(db, text):
    ws = _tricky_workspace(db)
    assert _found(db, ws, text) == _reference(text), repr(text)


def _tricky_workspace(db) -> int:
    """The workspace of PEOPLE and TRICKY, made once per database."""
    from crm_core.errors import NotFound
    from crm_core.views.workspaces import get_workspace

    try:
        return get_workspace(db, "shop").id
    except NotFound:
        pass
    ws_id = _customers(db)
    with db.unit_of_work() as s:
        for code, first, last, email in TRICKY:
            s.add(Customer(workspace_id=ws_id, customer_code=code, first_name=first, last_name=last, email=email))
    return ws_id


@pytest.mark.postgres
def test_tricky_texts_find_what_plain_python_finds_on_postgres(pg_db):
    ws = _tricky_workspace(pg_db)
    for text in ("12", "0", "@", "n d", "N DOE", "k", "i", "ä", "%", "_", "rcy 100", "vin \u212a"):
        assert _found(pg_db, ws, text) == _reference(text), repr(text)
