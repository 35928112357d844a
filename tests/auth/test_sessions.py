"""Re-login tokens: signed, bound to the user's token version, refused when revoked, expired, locked or forged."""

import base64
import datetime as dt
import json

import pytest

from crm_core.auth import SYSTEM_CLI
from crm_core.auth.login import AccountLocked, InvalidCredentials, check_login
from crm_core.auth.sessions import TOKEN_LIFETIME, TokenRefused, check_token, end_sessions, issue_token
from crm_core.auth.users import create_user, deactivate_user, reset_password, set_active, set_role
from crm_core.store.audit_log import verify_chain

NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.timezone.utc)
KEY = "k" * 64


@pytest.fixture
def users(db):
    from tests.apptest_support import cheap_bcrypt

    with cheap_bcrypt():
        create_user(db, SYSTEM_CLI, "admin2", "admin", password="admin-password-1")
        create_user(db, SYSTEM_CLI, "ann", "analyst", password="analyst-password-1")
    return db


def test_a_fresh_token_logs_its_user_in(users):
    token = issue_token(users, "ann", NOW, key=KEY)
    who = check_token(users, token, NOW + dt.timedelta(hours=1), key=KEY)
    assert who.actor.username == "ann" and who.actor.role.label == "analyst" and who.token_version == 0


def test_logging_out_makes_every_earlier_token_useless(users):
    token = issue_token(users, "ann", NOW, key=KEY)
    end_sessions(users, check_token(users, token, NOW, key=KEY).actor)
    with pytest.raises(TokenRefused, match="ended"):
        check_token(users, token, NOW, key=KEY)
    fresh = issue_token(users, "ann", NOW, key=KEY)  # logging in again works
    assert check_token(users, fresh, NOW, key=KEY).token_version == 1
    with users.read() as s:
        assert verify_chain(s) == []


@pytest.mark.parametrize("change", ["reset", "role", "deactivate"])
def test_a_password_reset_role_change_or_deactivation_revokes_tokens(users, change):
    from crm_core.auth import Actor, Role

    admin = Actor("admin2", Role.ADMIN)
    token = issue_token(users, "ann", NOW, key=KEY)
    if change == "reset":
        reset_password(users, admin, "ann")
    elif change == "role":
        set_role(users, admin, "ann", "manager")
    else:
        deactivate_user(users, admin, "ann")
        set_active(users, admin, "ann", True)  # even back in service, the old cookie stays dead
    with pytest.raises(TokenRefused):
        check_token(users, token, NOW, key=KEY)


def test_a_locked_account_cannot_log_in_with_a_cookie(users):
    token = issue_token(users, "ann", NOW, key=KEY)
    for _ in range(5):
        with pytest.raises((InvalidCredentials, AccountLocked)):
            check_login(users, "ann", "wrong-password-x", NOW)
    with pytest.raises(TokenRefused, match="locked"):
        check_token(users, token, NOW, key=KEY)
    assert check_token(users, token, NOW + dt.timedelta(minutes=16), key=KEY).actor.username == "ann"


def test_an_expired_token_is_refused(users):
    token = issue_token(users, "ann", NOW, key=KEY)
    with pytest.raises(TokenRefused, match="expired"):
        check_token(users, token, NOW + TOKEN_LIFETIME + dt.timedelta(seconds=1), key=KEY)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("token", [
    None, "", "garbage", "a.b", "x" * 5000,
    # a JWT signed with "none": what broke every page before
    _b64({"alg": "none", "typ": "JWT"}) + "." + _b64({"username": "ann", "exp_date": 4102444800}) + ".",
    "v1." + _b64({"u": "ann", "v": 0, "exp": 4102444800}) + ".",  # no signature
    "v1." + _b64({"u": "admin2", "v": 0, "exp": 4102444800}) + ".AAAA",  # a made-up signature
])
def test_anything_else_in_the_cookie_is_refused_cleanly(users, token):
    with pytest.raises(TokenRefused):
        check_token(users, token, NOW, key=KEY)


def test_a_token_signed_with_another_key_is_refused(users):
    token = issue_token(users, "ann", NOW, key="other" * 13)
    with pytest.raises(TokenRefused, match="signature"):
        check_token(users, token, NOW, key=KEY)


def test_a_changed_payload_breaks_the_signature(users):
    prefix, payload, sig = issue_token(users, "ann", NOW, key=KEY).split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = f"{prefix}.{_b64({**data, 'u': 'admin2'})}.{sig}"
    with pytest.raises(TokenRefused, match="signature"):
        check_token(users, forged, NOW, key=KEY)
