"""Password hashing and generation (bcrypt), shared by the user store and login.

Hashes are bcrypt ``$2b$`` strings, the format streamlit-authenticator also
reads, so the same stored hash serves both.
"""

from __future__ import annotations

import functools
import secrets

import bcrypt

from crm_core.errors import NextBestError

BCRYPT_ROUNDS = 12
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_BYTES = 72  # bcrypt ignores (or, in bcrypt>=5, refuses) anything longer


class WeakPassword(NextBestError):
    """A new password is too short or too long to be accepted."""


def generate_password() -> str:
    """A fresh random password (16 URL-safe characters, ~96 bits)."""
    return secrets.token_urlsafe(12)


def check_password_strength(password: str) -> None:
    """Raise WeakPassword unless ``password`` is long enough for bcrypt and not too long."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"A password needs at least {MIN_PASSWORD_LENGTH} characters; "
                           "leave it empty to have a random one generated.")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise WeakPassword(f"A password may have at most {MAX_PASSWORD_BYTES} bytes; use a shorter one.")


def hash_password(password: str, *, rounds: int | None = None) -> str:
    """The bcrypt hash of ``password`` as text (cost ``rounds``, default :data:`BCRYPT_ROUNDS`)."""
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds or BCRYPT_ROUNDS)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (False for a malformed hash or oversized input)."""
    raw = (password or "").encode("utf-8")
    if len(raw) > MAX_PASSWORD_BYTES:
        raw = raw[:MAX_PASSWORD_BYTES]  # still spend the bcrypt time; a stored hash never matches this
        password_hash = dummy_hash()
    try:
        return bcrypt.checkpw(raw, password_hash.encode("ascii"))
    except ValueError:
        return False


@functools.cache
def dummy_hash() -> str:
    """A hash of a random secret, checked for unknown users so timing does not tell who exists."""
    return hash_password(secrets.token_urlsafe(16))
