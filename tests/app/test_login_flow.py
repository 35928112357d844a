"""AppTest: the login form, wrong passwords, lockout, logout, and the admin's password reset."""

from __future__ import annotations

import datetime as dt

import pytest

from crm_core.auth.login import AccountLocked, InvalidCredentials, check_login
from crm_core.auth.users import get_user


def _submit(at, username: str, password: str):
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    at.button(key="login_submit").click()
    return at.run()


def _errors(at) -> list[str]:
    return [e.value for e in at.error]


@pytest.fixture
def logged_out(app_test):
    at = app_test("app/main.py", None).run()
    assert [f.key for f in at.text_input] == ["login_username", "login_password"]
    return at


def test_logged_out_session_sees_only_the_login_form(logged_out):
    assert "Overview" not in [t.value for t in logged_out.title]
    assert not logged_out.metric
    assert "workspace" not in [s.key for s in logged_out.selectbox]


def test_wrong_password_shows_an_error_and_stays_logged_out(logged_out):
    at = _submit(logged_out, "analyst", "not-the-password")
    assert any("Wrong username or password" in e for e in _errors(at))
    assert not at.session_state["authentication_status"]
    assert "Overview" not in [t.value for t in at.title]


def test_unknown_user_gets_the_same_message_as_a_wrong_password(logged_out):
    at = _submit(logged_out, "nobody", "whatever-password")
    assert any("Wrong username or password" in e for e in _errors(at))


def test_correct_password_opens_the_overview(logged_out, app_db):
    at = _submit(logged_out, "Analyst ", app_db.passwords["analyst"])  # trimmed, case-insensitive username
    assert not at.exception
    assert not _errors(at)
    assert "Overview" in [t.value for t in at.title]
    assert at.session_state["username"] == "analyst"


def test_lockout_after_five_failures_even_with_the_right_password(logged_out, app_db):
    at = logged_out
    for _ in range(4):
        at = _submit(at, "manager", "wrong-password-x")
        assert any("Wrong username or password" in e for e in _errors(at))
    at = _submit(at, "manager", "wrong-password-x")
    assert any("locked" in e for e in _errors(at))
    at = _submit(at, "manager", app_db.passwords["manager"])
    assert any("locked" in e for e in _errors(at)), "the right password does not lift a lockout"
    assert not at.session_state["authentication_status"]
    assert get_user(app_db.db, "manager").locked_until is not None


def test_logout_returns_to_the_login_form(app_test):
    at = app_test("app/main.py", "analyst").run()
    assert "Overview" in [t.value for t in at.title]
    at.button(key="logout_button").click().run()
    assert not at.session_state["authentication_status"]
    assert "login_username" in [f.key for f in at.text_input]
    assert "Overview" not in [t.value for t in at.title]


def test_admin_resets_a_password_and_it_is_shown_once(app_test, app_db):
    at = app_test("pages/admin.py", "admin").run()
    assert not at.exception
    at.selectbox(key="admin_user").select("viewer").run()
    at.button(key="admin_reset_password").click().run()
    assert not at.exception
    shown = [c.value for c in at.code]
    assert len(shown) == 1
    new_password = shown[0].strip()
    now = dt.datetime.now(dt.timezone.utc)
    assert check_login(app_db.db, "viewer", new_password, now).username == "viewer"
    with pytest.raises(InvalidCredentials):
        check_login(app_db.db, "viewer", app_db.passwords["viewer"], now)
    at.run()  # any later rerun no longer shows it
    assert not at.code


def test_admin_reset_unlocks_a_locked_user(app_test, app_db):
    now = dt.datetime.now(dt.timezone.utc)
    for _ in range(5):
        with pytest.raises((InvalidCredentials, AccountLocked)):
            check_login(app_db.db, "analyst", "wrong-password-x", now)
    at = app_test("pages/admin.py", "admin").run()
    at.selectbox(key="admin_user").select("analyst").run()
    at.button(key="admin_reset_password").click().run()
    new_password = at.code[0].value.strip()
    assert check_login(app_db.db, "analyst", new_password, now).username == "analyst"


def test_admin_creates_a_user_who_can_log_in(app_test, app_db):
    at = app_test("pages/admin.py", "admin").run()
    at.text_input(key="admin_new_username").input("newbie")
    at.selectbox(key="admin_new_role").select("analyst")
    at.button(key="admin_create_submit").click().run()
    assert not at.exception and not _errors(at)
    password = at.code[0].value.strip()
    actor = check_login(app_db.db, "newbie", password, dt.datetime.now(dt.timezone.utc))
    assert actor.role.label == "analyst"


def test_admin_cannot_demote_the_last_admin(app_test):
    at = app_test("pages/admin.py", "admin").run()
    at.selectbox(key="admin_user").select("admin").run()
    at.selectbox(key="admin_role").select("viewer").run()
    at.button(key="admin_set_role").click().run()
    assert any("last active admin" in e for e in _errors(at))


def test_session_of_a_user_deactivated_meanwhile_returns_to_the_login_form(app_test, app_db, admin):
    from crm_core.auth.users import deactivate_user

    at = app_test("app/main.py", "analyst").run()
    assert "Overview" in [t.value for t in at.title]
    deactivate_user(app_db.db, admin, "analyst")
    at.run()
    assert "login_username" in [f.key for f in at.text_input]
    assert not at.session_state["authentication_status"]
