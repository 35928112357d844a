"""Read-then-write use cases hold when two writers race, on SQLite and on a real PostgreSQL server.

SQLite serialises writers (BEGIN IMMEDIATE); PostgreSQL does not, so each of
these holds there only through its explicit lock (crm_core/store/locks.py,
the audit chain's advisory lock) or a unique constraint.
"""

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from crm_core.auth import SYSTEM_CLI, Actor, Role
from crm_core.auth.login import AccountLocked, InvalidCredentials, check_login
from crm_core.auth.users import LastAdminError, create_user, get_user, set_active, set_role
from crm_core.store.audit_log import check_chain, record_event
from crm_core.store.models import ImportBatch, Transaction
from tests.apptest_support import cheap_bcrypt

NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, db):
    return db if request.param == "sqlite" else request.getfixturevalue("pg_db")


def _race(n_threads, work):
    """Start ``n_threads`` threads on ``work(i)`` at the same moment; return their exceptions."""
    barrier, errors = threading.Barrier(n_threads), []

    def run(i):
        barrier.wait()
        try:
            work(i)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_concurrent_audit_appends_never_fork_the_chain(store):
    def append(i):
        for j in range(20):
            with store.unit_of_work() as s:
                record_event(s, actor=f"w{i}", action="test", entity="offer", entity_id=j)

    assert _race(4, append) == []
    with store.read() as s:
        check = check_chain(s)
    assert check.intact and check.events == 80


def test_concurrent_wrong_passwords_are_all_counted_and_lock_at_five(store):
    with cheap_bcrypt():
        create_user(store, SYSTEM_CLI, "ann", "analyst", password="analyst-password-1")
        outcomes = []

        def wrong(i):
            try:
                check_login(store, "ann", f"wrong-password-{i}", NOW)
            except (InvalidCredentials, AccountLocked) as exc:
                outcomes.append(type(exc).__name__)

        assert _race(4, wrong) == []
        assert get_user(store, "ann").failed_logins == 4  # no lost update
        assert _race(1, wrong) == []
    user = get_user(store, "ann")
    assert user.locked_until is not None and outcomes.count("AccountLocked") == 1


def test_two_admins_demoting_each_other_leave_one_admin(store):
    with cheap_bcrypt():
        create_user(store, SYSTEM_CLI, "ada", "admin", password="admin-password-1")
        create_user(store, SYSTEM_CLI, "bob", "admin", password="admin-password-2")
    pairs = [("ada", "bob"), ("bob", "ada")]

    def demote(i):
        me, other = pairs[i]
        try:
            set_role(store, Actor(me, Role.ADMIN), other, "manager")
        except LastAdminError:
            pass

    assert _race(2, demote) == []
    roles = {u: get_user(store, u).role.label for u in ("ada", "bob")}
    assert sorted(roles.values()) == ["admin", "manager"]


def test_two_admins_deactivating_each_other_leave_one_active_admin(store):
    with cheap_bcrypt():
        create_user(store, SYSTEM_CLI, "ada", "admin", password="admin-password-1")
        create_user(store, SYSTEM_CLI, "bob", "admin", password="admin-password-2")
    pairs = [("ada", "bob"), ("bob", "ada")]

    def deactivate(i):
        me, other = pairs[i]
        try:
            set_active(store, Actor(me, Role.ADMIN), other, False)
        except LastAdminError:
            pass

    assert _race(2, deactivate) == []
    assert sum(get_user(store, u).is_active for u in ("ada", "bob")) == 1


def test_the_same_file_imported_twice_at_once_is_stored_once(store, tmp_path):
    from crm_core.ingest import import_file
    from crm_core.services.workspaces import ensure_workspace

    ensure_workspace(store, "shop", Actor("ann", Role.ANALYST))
    path = tmp_path / "sales.csv"
    path.write_text("customer_id,invoice_id,invoice_date,product_id,quantity,unit_price\n"
                    + "".join(f"C{i},I{i},2024-01-{1 + i % 28:02d},P{i % 5},1,{10 + i}.50\n" for i in range(200)))
    statuses = []

    def load(i):
        statuses.append(import_file(store, "shop", path, kind="transactions", actor=Actor("ann", Role.ANALYST)).status)

    assert _race(2, load) == []
    assert sorted(statuses) == ["duplicate", "loaded"]
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(Transaction)) == 200
        assert sorted(s.scalars(select(ImportBatch.status))) == ["duplicate", "loaded"]
