"""Login tokens for the re-login cookie, and ending sessions everywhere.

A token is ``v1.<payload>.<signature>``: the payload (base64url JSON) names
the user, the user's *token version* and an expiry; the signature is
HMAC-SHA256 under the cookie key (:mod:`crm_core.keys`). A token is accepted
only when its signature matches, it has not expired, the user is active and
not locked, and the token version is the user's current one. Logging out,
resetting the password, changing the role and deactivating the account
advance the version (:func:`advance_token_version`), so every cookie issued
before is refused everywhere, whichever browser holds it. Anything else in
the cookie (a JWT with ``alg: none``, garbage, a token signed with another
key) is refused the same way: the login form shows, nothing breaks.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm_core.auth.roles import Actor, Role
from crm_core.auth.users import as_utc, normalise_username
from crm_core.errors import NextBestError
from crm_core.keys import cookie_key_path, secret_key
from crm_core.store.audit_log import record_event
from crm_core.store.models import User

TOKEN_PREFIX = "v1"
TOKEN_LIFETIME = dt.timedelta(days=7)
MAX_TOKEN_CHARS = 2_000


class TokenRefused(NextBestError):
    """A re-login cookie cannot be used (malformed, forged, expired, revoked, or the account cannot log in)."""


@dataclass(frozen=True)
class SessionUser:
    """Who a valid token belongs to, with the token version it carries."""

    actor: Actor
    token_version: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: str, payload: str) -> str:
    return _b64(hmac.new(key.encode("ascii"), f"{TOKEN_PREFIX}.{payload}".encode("ascii"), hashlib.sha256).digest())


def _key(key: str | None) -> str:
    return key if key is not None else secret_key(cookie_key_path())


def issue_token(db, username: str, now: dt.datetime, *, key: str | None = None) -> str:
    """A signed re-login token for ``username`` at its current token version, valid for :data:`TOKEN_LIFETIME`."""
    name = normalise_username(username)
    with db.read() as s:
        version = s.scalar(select(User.token_version).where(User.username == name))
    if version is None:
        raise TokenRefused(f"No user {name!r}.")
    payload = _b64(json.dumps({"u": name, "v": int(version), "exp": int((as_utc(now) + TOKEN_LIFETIME).timestamp())},
                              separators=(",", ":"), sort_keys=True).encode("utf-8"))
    return f"{TOKEN_PREFIX}.{payload}.{_sign(_key(key), payload)}"


def check_token(db, token: str | None, now: dt.datetime, *, key: str | None = None) -> SessionUser:
    """The user a re-login token logs in, or TokenRefused saying why not.

    Args:
        db: the Database.
        token: the cookie's value as the browser sent it (anything at all).
        now: the current time (timezone-aware; naive is taken as UTC).
    """
    payload = _payload(token, _key(key))
    now = as_utc(now)
    if int(payload.get("exp", 0)) <= now.timestamp():
        raise TokenRefused("The login has expired; log in again.")
    with db.read() as s:
        user = s.scalar(select(User).where(User.username == str(payload.get("u", ""))))
        if user is None or not user.is_active:
            raise TokenRefused("That account no longer exists or is deactivated.")
        if int(payload.get("v", -1)) != int(user.token_version or 0):
            raise TokenRefused("That login was ended (logged out, password reset or role changed); log in again.")
        locked_until = as_utc(user.locked_until)
        if locked_until is not None and locked_until > now:
            raise TokenRefused("The account is locked after failed logins; try again later.")
        return SessionUser(Actor(user.username, Role.parse(user.role)), int(user.token_version or 0))


def _payload(token, key: str) -> dict:
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise TokenRefused("No usable login cookie.")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise TokenRefused("The login cookie is not one NextBest issued.")
    if not hmac.compare_digest(parts[2], _sign(key, parts[1])):
        raise TokenRefused("The login cookie's signature does not match.")
    try:
        payload = json.loads(_unb64(parts[1]))
    except (ValueError, UnicodeDecodeError):
        raise TokenRefused("The login cookie cannot be read.") from None
    if not isinstance(payload, dict):
        raise TokenRefused("The login cookie cannot be read.")
    return payload


def current_token_version(db, username: str) -> int | None:
    """The user's token version now (None for an unknown user)."""
    with db.read() as s:
        return s.scalar(select(User.token_version).where(User.username == normalise_username(username)))


def advance_token_version(session: Session, username: str) -> None:
    """Make every token and session of ``username`` issued so far invalid (inside the caller's unit of work)."""
    session.execute(update(User).where(User.username == normalise_username(username))
                    .values(token_version=User.token_version + 1))


def end_sessions(db, actor: Actor) -> None:
    """Log ``actor`` out everywhere: every cookie and open session of theirs is refused from now on."""
    with db.unit_of_work() as s:
        advance_token_version(s, actor.username)
        record_event(s, actor=actor, action="user.logged_out", entity="user", entity_id=actor.username)
