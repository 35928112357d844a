"""Password login with lockout, done here rather than by streamlit-authenticator.

Why not the authenticator's own check: it counts failed logins only after a
correct password, skips bcrypt for unknown users (so timing tells who
exists) and enforces no lockout. Here every attempt costs one bcrypt check,
failures are counted in the ``users`` row, and after
:data:`MAX_FAILED_LOGINS` consecutive failures the account is locked for
:data:`LOCKOUT` (the lock is an audit event).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from crm_core.auth.passwords import dummy_hash, verify_password
from crm_core.auth.roles import Actor, Role
from crm_core.auth.users import as_utc, normalise_username
from crm_core.errors import NextBestError
from crm_core.store.audit_log import record_event
from crm_core.store.locks import locked_user
from crm_core.store.models import User

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)


class LoginFailed(NextBestError):
    """Base of the reasons a login is refused."""


class InvalidCredentials(LoginFailed):
    """The username or the password is wrong (deliberately not saying which)."""


class AccountLocked(LoginFailed):
    """Too many failed logins: the account is locked for a while."""

    def __init__(self, message: str, locked_until: dt.datetime):
        super().__init__(message)
        self.locked_until = locked_until


class AccountDisabled(LoginFailed):
    """The account was deactivated by an admin."""


def check_login(db, username: str, password: str, now: dt.datetime) -> Actor:
    """Check a username and password; return the Actor or raise why not.

    Args:
        db: the Database.
        username: as typed (trimmed and lower-cased here).
        password: as typed.
        now: the current time (timezone-aware; naive is taken as UTC).
    Returns:
        The Actor with the user's current role.
    Raises:
        InvalidCredentials: unknown user or wrong password (one message for both).
        AccountLocked: locked after repeated failures; says until when.
        AccountDisabled: correct password, but the account is deactivated.
    """
    now = as_utc(now)
    name = normalise_username(username)
    failure: LoginFailed | None = None
    actor: Actor | None = None
    # bcrypt (a quarter of a second) runs before the write lock is taken, so logins do not queue behind it.
    with db.read() as s:
        seen_hash = s.scalar(select(User.password_hash).where(User.username == name)) if name else None
    matches = verify_password(password, seen_hash or dummy_hash())  # unknown users cost the same bcrypt check
    with db.unit_of_work() as s:
        user = locked_user(s, name) if name else None  # held: concurrent failures are all counted
        if user is None:
            failure = _invalid()
        else:
            if user.password_hash != seen_hash:  # reset meanwhile: check against the new hash
                matches = verify_password(password, user.password_hash)
            locked_until = as_utc(user.locked_until)
            if locked_until is not None and locked_until > now:
                failure = _locked(locked_until, now)
            elif not matches:
                failure = _record_failure(s, user, now)
            elif not user.is_active:
                failure = AccountDisabled(f"The account {name!r} is deactivated; ask an admin to reactivate it.")
            else:
                user.failed_logins = 0
                user.locked_until = None
                actor = Actor(user.username, Role.parse(user.role))
    # Raised after the unit of work so that the failure count is committed.
    if failure is not None:
        raise failure
    return actor


def _invalid() -> InvalidCredentials:
    return InvalidCredentials("Wrong username or password. After "
                              f"{MAX_FAILED_LOGINS} failed attempts the account is locked for "
                              f"{int(LOCKOUT.total_seconds() // 60)} minutes.")


def _locked(until: dt.datetime, now: dt.datetime) -> AccountLocked:
    minutes = max(1, int((until - now).total_seconds() + 59) // 60)
    return AccountLocked(f"This account is locked after {MAX_FAILED_LOGINS} failed logins. Try again in "
                         f"{minutes} minute(s) (at {until:%H:%M} UTC), or ask an admin to reset the password.",
                         until)


def _record_failure(session, user: User, now: dt.datetime) -> LoginFailed:
    user.failed_logins = int(user.failed_logins or 0) + 1
    if user.failed_logins < MAX_FAILED_LOGINS:
        return _invalid()
    until = now + LOCKOUT
    user.failed_logins = 0
    user.locked_until = until
    record_event(session, actor="system", role="system", action="user.locked", entity="user", entity_id=user.username,
                 after={"locked_until": until.isoformat()},
                 reason=f"{MAX_FAILED_LOGINS} consecutive failed logins")
    return _locked(until, now)
