"""crm_core.auth: user store, login with lockout, first-start bootstrap and cookie key."""

from __future__ import annotations

import datetime as dt
import os
import stat

import pytest
from sqlalchemy import select

from crm_core.auth import Role
from crm_core.auth.bootstrap import DEMO_USERS, bootstrap_users, cookie_key
from crm_core.auth.login import (LOCKOUT, MAX_FAILED_LOGINS, AccountDisabled, AccountLocked, InvalidCredentials,
                                 check_login)
from crm_core.auth.passwords import WeakPassword
from crm_core.auth.users import (InvalidUsername, LastAdminError, UserExists, authenticator_credentials, create_user,
                                 deactivate_user, get_user, list_users, reset_password, set_active, set_role,
                                 unlock_user)
from crm_core.errors import ConfigError, NotFound, PermissionDenied
from crm_core.store.audit_log import verify_chain
from crm_core.store.models import AuditEvent, User

pytestmark = pytest.mark.usefixtures("fast_bcrypt")

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
PW = "correct-horse-battery"


@pytest.fixture
def ann(db, admin):
    create_user(db, admin, "ann", Role.ANALYST, password=PW, display_name="Ann Analyst")
    return "ann"


def _events(db) -> list[tuple[str, str, str]]:
    with db.read() as s:
        return [(e.actor, e.action, e.entity_id) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_create_user_stores_a_bcrypt_hash_and_audits(db, admin, ann):
    with db.read() as s:
        stored = s.scalar(select(User.password_hash).where(User.username == "ann"))
    assert stored.startswith("$2b$") and PW not in stored
    assert get_user(db, "ANN").role is Role.ANALYST
    assert ("ada", "user.created", "ann") in _events(db)
    assert verify_chain_ok(db)


def verify_chain_ok(db) -> bool:
    with db.read() as s:
        return verify_chain(s) == []


def test_every_change_needs_an_admin(db, analyst, manager, ann):
    for actor in (analyst, manager):
        with pytest.raises(PermissionDenied, match="admin"):
            create_user(db, actor, "eve", Role.ADMIN, password=PW)
        with pytest.raises(PermissionDenied):
            set_role(db, actor, "ann", Role.ADMIN)
        with pytest.raises(PermissionDenied):
            reset_password(db, actor, "ann")
        with pytest.raises(PermissionDenied):
            deactivate_user(db, actor, "ann")
        with pytest.raises(PermissionDenied):
            list_users(db, actor)
    assert get_user(db, "ann").role is Role.ANALYST


def test_bad_input_is_refused_with_a_reason(db, admin, ann):
    with pytest.raises(UserExists):
        create_user(db, admin, " Ann ", Role.VIEWER, password=PW)
    with pytest.raises(InvalidUsername):
        create_user(db, admin, "bad name!", Role.VIEWER, password=PW)
    with pytest.raises(WeakPassword, match="at least"):
        create_user(db, admin, "bob", Role.VIEWER, password="short")
    with pytest.raises(NotFound):
        set_role(db, admin, "nobody", Role.VIEWER)


def test_generated_password_is_returned_and_works(db, admin):
    _, password = create_user(db, admin, "gen", Role.VIEWER)
    assert len(password) >= 16
    assert check_login(db, "gen", password, NOW).role is Role.VIEWER


def test_set_role_changes_the_role_and_audits(db, admin, ann):
    assert set_role(db, admin, "ann", "manager").role is Role.MANAGER
    assert get_user(db, "ann").role is Role.MANAGER
    assert ("ada", "user.role_changed", "ann") in _events(db)


def test_last_active_admin_cannot_be_demoted_or_deactivated(db, admin):
    create_user(db, admin, "root", Role.ADMIN, password=PW)
    with pytest.raises(LastAdminError):
        set_role(db, admin, "root", Role.VIEWER)
    with pytest.raises(LastAdminError):
        deactivate_user(db, admin, "root")
    create_user(db, admin, "root2", Role.ADMIN, password=PW)
    assert set_role(db, admin, "root", Role.VIEWER).role is Role.VIEWER


def test_reset_password_replaces_the_old_one_and_lifts_a_lock(db, admin, ann):
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises((InvalidCredentials, AccountLocked)):
            check_login(db, "ann", "wrong-password", NOW)
    assert get_user(db, "ann").is_locked(NOW)
    new = reset_password(db, admin, "ann")
    assert not get_user(db, "ann").is_locked(NOW)
    assert check_login(db, "ann", new, NOW).username == "ann"
    with pytest.raises(InvalidCredentials):
        check_login(db, "ann", PW, NOW)
    with db.read() as s:
        blob = str([(e.before_json, e.after_json, e.reason) for e in s.scalars(select(AuditEvent))])
    assert new not in blob, "a password never reaches the audit log"


def test_login_counts_failures_and_locks_for_fifteen_minutes(db, ann):
    for attempt in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(InvalidCredentials):
            check_login(db, "ann", "wrong-password", NOW)
        assert get_user(db, "ann").failed_logins == attempt + 1
    with pytest.raises(AccountLocked) as locked:
        check_login(db, "ann", "wrong-password", NOW)
    assert locked.value.locked_until == NOW + LOCKOUT
    assert ("system", "user.locked", "ann") in _events(db)
    with pytest.raises(AccountLocked, match="15 minute"):
        check_login(db, "ann", PW, NOW + dt.timedelta(seconds=1))
    with pytest.raises(AccountLocked):
        check_login(db, "ann", PW, NOW + LOCKOUT - dt.timedelta(seconds=1))
    assert check_login(db, "ann", PW, NOW + LOCKOUT + dt.timedelta(seconds=1)).username == "ann"


def test_a_success_resets_the_failure_count(db, ann):
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(InvalidCredentials):
            check_login(db, "ann", "wrong-password", NOW)
    check_login(db, "ann", PW, NOW)
    assert get_user(db, "ann").failed_logins == 0
    with pytest.raises(InvalidCredentials):  # four more failures do not lock: the count restarted
        check_login(db, "ann", "wrong-password", NOW)


def test_unknown_user_runs_bcrypt_and_gets_the_same_error(db, ann, monkeypatch):
    import crm_core.auth.login as login_module

    calls = []
    real = login_module.verify_password
    monkeypatch.setattr(login_module, "verify_password", lambda p, h: calls.append(h) or real(p, h))
    with pytest.raises(InvalidCredentials) as unknown:
        check_login(db, "ghost", "whatever-password", NOW)
    with pytest.raises(InvalidCredentials) as wrong:
        check_login(db, "ann", "whatever-password", NOW)
    assert str(unknown.value) == str(wrong.value)
    assert len(calls) == 2 and calls[0][:7] == calls[1][:7], "same bcrypt cost either way"


def test_deactivated_user_cannot_log_in_and_unlock_works(db, admin, ann):
    deactivate_user(db, admin, "ann")
    with pytest.raises(AccountDisabled):
        check_login(db, "ann", PW, NOW)
    with pytest.raises(InvalidCredentials):  # a wrong password says nothing about the account
        check_login(db, "ann", "wrong-password", NOW)
    assert "ann" not in authenticator_credentials(db)["usernames"]
    set_active(db, admin, "ann", True)
    creds = authenticator_credentials(db)["usernames"]["ann"]
    assert creds["password"].startswith("$2b$") and creds["roles"] == ["analyst"]
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises((InvalidCredentials, AccountLocked)):
            check_login(db, "ann", "wrong-password", NOW)
    unlock_user(db, admin, "ann")
    assert check_login(db, "ann", PW, NOW).username == "ann"


def test_bootstrap_creates_one_user_per_role_once(db, tmp_path, capsys):
    path = tmp_path / "creds" / "demo_credentials.txt"
    logins = bootstrap_users(db, path, interactive=False)
    assert sorted(login.role for login in logins) == sorted(role for _, role, _ in DEMO_USERS)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    for login in logins:
        assert login.password in text
        assert check_login(db, login.username, login.password, NOW).role is login.role
    assert capsys.readouterr().out == "", "nothing is printed when not interactive"
    assert len({login.password for login in logins}) == len(logins)
    assert bootstrap_users(db, path, interactive=True) == [], "a second start changes nothing"
    assert path.read_text() == text


def test_bootstrap_prints_when_interactive(db, tmp_path, capsys):
    logins = bootstrap_users(db, tmp_path / "c.txt", interactive=True)
    out = capsys.readouterr().out
    assert all(login.password in out for login in logins)


def test_cookie_key_is_random_private_and_stable(tmp_path):
    path = tmp_path / "secrets" / "cookie_key"
    key = cookie_key(path)
    assert len(bytes.fromhex(key)) >= 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert cookie_key(path) == key
    assert cookie_key(tmp_path / "other" / "cookie_key") != key
    path.write_text("short")
    with pytest.raises(ConfigError, match="too short"):
        cookie_key(path)
