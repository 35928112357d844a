"""The user store over the ``users`` table: create, list, change role, reset, deactivate.

Every change needs :attr:`Action.MANAGE_USERS` (admin) and writes an audit
event in the same unit of work. Pages get :class:`UserInfo` snapshots back,
never ORM rows, and never a password hash.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_core.auth.passwords import check_password_strength, generate_password, hash_password
from crm_core.auth.roles import Action, Actor, Role, require
from crm_core.errors import NextBestError, NotFound
from crm_core.store.audit_log import record_event
from crm_core.store.locks import lock_active_admins
from crm_core.store.models import User

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")


class InvalidUsername(NextBestError):
    """A username is empty or uses characters other than a-z, 0-9, '.', '_' and '-'."""


class UserExists(NextBestError):
    """A user with that username exists already."""


class LastAdminError(NextBestError):
    """The change would leave no active admin to manage users."""


@dataclass(frozen=True)
class UserInfo:
    """A user as pages see it (no password hash)."""

    id: int
    username: str
    display_name: str
    email: str | None
    role: Role
    is_active: bool
    failed_logins: int
    locked_until: dt.datetime | None
    created_at: dt.datetime | None
    token_version: int = 0

    @property
    def actor(self) -> Actor:
        """The Actor on whose behalf this user's service calls run."""
        return Actor(self.username, self.role)

    def is_locked(self, now: dt.datetime) -> bool:
        """Whether a lockout is in force at ``now`` (timezone-aware)."""
        return self.locked_until is not None and self.locked_until > as_utc(now)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` as an aware UTC datetime; naive values (SQLite reads them so) are taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def normalise_username(username: str) -> str:
    """Trimmed, lower-cased username (the authenticator lower-cases them too)."""
    return str(username or "").strip().lower()


def _info(user: User) -> UserInfo:
    return UserInfo(user.id, user.username, user.display_name, user.email, Role.parse(user.role),
                    bool(user.is_active), int(user.failed_logins or 0), as_utc(user.locked_until),
                    as_utc(user.created_at), int(user.token_version or 0))


def _load(session: Session, username: str, *, for_update: bool = False) -> User:
    name = normalise_username(username)
    stmt = select(User).where(User.username == name)
    user = session.scalar(stmt.with_for_update() if for_update else stmt)
    if user is None:
        raise NotFound(f"No user {name!r}; check the spelling or create the user on the Admin page.")
    return user


def _active_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)
                          .where(User.role == Role.ADMIN.label, User.is_active.is_(True))) or 0


def add_user(session: Session, actor: Actor, username: str, role: Role | str, *, password: str,
             display_name: str | None = None, email: str | None = None) -> User:
    """Insert one user inside an open unit of work (used by :func:`create_user` and the bootstrap)."""
    require(actor, Action.MANAGE_USERS)
    name = normalise_username(username)
    if not _USERNAME.match(name):
        raise InvalidUsername(f"Username {username!r} is not valid: use 2-64 characters a-z, 0-9, "
                              "'.', '_' or '-', starting with a letter or digit.")
    role = Role.parse(role) if not isinstance(role, Role) else role
    check_password_strength(password)
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise UserExists(f"User {name!r} exists already; pick another username or reset that user's password.")
    user = User(username=name, display_name=(display_name or name).strip() or name, email=email or None,
                role=role.label, password_hash=hash_password(password), is_active=True, failed_logins=0)
    session.add(user)
    session.flush()
    record_event(session, actor=actor, action="user.created", entity="user", entity_id=name,
                 after={"role": role.label, "display_name": user.display_name, "email": user.email})
    return user


def create_user(db, actor: Actor, username: str, role: Role | str, *, password: str | None = None,
                display_name: str | None = None, email: str | None = None) -> tuple[UserInfo, str]:
    """Create a user; returns it and its password (a random one when ``password`` is None).

    Raises:
        PermissionDenied: ``actor`` is not an admin.
        InvalidUsername, UserExists, WeakPassword: the input cannot be accepted.
    """
    password = password or generate_password()
    with db.unit_of_work() as s:
        user = add_user(s, actor, username, role, password=password, display_name=display_name, email=email)
        return _info(user), password


def list_users(db, actor: Actor) -> list[UserInfo]:
    """Every user, by username (admin only: the list shows roles and lockouts)."""
    require(actor, Action.MANAGE_USERS)
    with db.read() as s:
        return [_info(u) for u in s.scalars(select(User).order_by(User.username))]


def get_user(db, username: str) -> UserInfo:
    """The user called ``username`` (NotFound when there is none).

    Takes no actor: the app shell uses it to resolve the logged-in user's
    current role and status on every page.
    """
    with db.read() as s:
        return _info(_load(s, username))


def count_users(db) -> int:
    """How many users exist (0 on a fresh database)."""
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(User)) or 0


def set_role(db, actor: Actor, username: str, role: Role | str, *, reason: str | None = None) -> UserInfo:
    """Give ``username`` a new role; refuses to demote the last active admin."""
    require(actor, Action.MANAGE_USERS)
    role = Role.parse(role) if not isinstance(role, Role) else role
    with db.unit_of_work() as s:
        lock_active_admins(s)
        user = _load(s, username)
        before = user.role
        if before == role.label:
            return _info(user)
        if before == Role.ADMIN.label and user.is_active and _active_admins(s) <= 1:
            raise LastAdminError(f"{user.username} is the last active admin; make another user admin first.")
        user.role = role.label
        user.token_version = int(user.token_version or 0) + 1  # cookies issued for the old role are refused
        record_event(s, actor=actor, action="user.role_changed", entity="user",
                     entity_id=user.username, before={"role": before}, after={"role": role.label}, reason=reason)
        return _info(user)


def reset_password(db, actor: Actor, username: str, *, new_password: str | None = None) -> str:
    """Set a new password (random when None), clear failed logins and any lockout; returns it.

    The password itself is never logged: the audit event only says it was reset.
    """
    require(actor, Action.MANAGE_USERS)
    password = new_password or generate_password()
    check_password_strength(password)
    with db.unit_of_work() as s:
        user = _load(s, username, for_update=True)
        user.password_hash = hash_password(password)
        user.token_version = int(user.token_version or 0) + 1  # every cookie issued before the reset is refused
        was_locked = user.locked_until is not None
        user.failed_logins = 0
        user.locked_until = None
        record_event(s, actor=actor, action="user.password_reset", entity="user",
                     entity_id=user.username, before={"locked": was_locked}, after={"locked": False})
    return password


def unlock_user(db, actor: Actor, username: str) -> UserInfo:
    """Lift a lockout and clear the failed-login count without changing the password."""
    require(actor, Action.MANAGE_USERS)
    with db.unit_of_work() as s:
        user = _load(s, username, for_update=True)
        before = {"failed_logins": user.failed_logins, "locked_until": user.locked_until}
        user.failed_logins = 0
        user.locked_until = None
        record_event(s, actor=actor, action="user.unlocked", entity="user", entity_id=user.username,
                     before=before, after={"failed_logins": 0, "locked_until": None})
        return _info(user)


def set_active(db, actor: Actor, username: str, active: bool, *, reason: str | None = None) -> UserInfo:
    """Deactivate (``active=False``) or reactivate a user; the last active admin cannot be deactivated.

    A deactivated user cannot log in, and a session already open is refused
    on its next page load.
    """
    require(actor, Action.MANAGE_USERS)
    with db.unit_of_work() as s:
        lock_active_admins(s)
        user = _load(s, username)
        if bool(user.is_active) == bool(active):
            return _info(user)
        if not active and user.role == Role.ADMIN.label and _active_admins(s) <= 1:
            raise LastAdminError(f"{user.username} is the last active admin; make another user admin first.")
        user.is_active = bool(active)
        user.token_version = int(user.token_version or 0) + 1  # a deactivated user's cookies stop working
        record_event(s, actor=actor, action="user.activated" if active else "user.deactivated",
                     entity="user", entity_id=user.username, before={"is_active": not active},
                     after={"is_active": bool(active)}, reason=reason)
        return _info(user)


def deactivate_user(db, actor: Actor, username: str, *, reason: str | None = None) -> UserInfo:
    """Deactivate ``username`` (see :func:`set_active`)."""
    return set_active(db, actor, username, False, reason=reason)


def authenticator_credentials(db) -> dict:
    """The ``credentials`` dict streamlit-authenticator expects, built fresh from active users.

    Passwords are the stored bcrypt hashes (pass ``auto_hash=False``); a new
    dict on every call, so the authenticator's in-place edits never leak back.
    """
    with db.read() as s:
        rows = s.execute(select(User.username, User.display_name, User.email, User.role, User.password_hash)
                         .where(User.is_active.is_(True)).order_by(User.username)).all()
    return {"usernames": {r.username: {"name": r.display_name, "email": r.email or "",
                                       "password": r.password_hash, "roles": [r.role]} for r in rows}}
