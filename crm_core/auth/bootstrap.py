"""First start: the admin and demo users, and the login cookie key.

Nothing here is ever committed or logged: the demo passwords go to a file
only its owner can read (``data/demo_credentials.txt``, mode 0600), and to
the terminal only when a person is watching it (``interactive``); the cookie
key is ≥ 32 random bytes in ``data/secrets/cookie_key`` (mode 0600). Both
paths are git-ignored and can be moved with ``NEXTBEST_CREDENTIALS_FILE``
and ``NEXTBEST_COOKIE_KEY_FILE``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from crm_core.auth.passwords import generate_password
from crm_core.auth.roles import Actor, Role
from crm_core.auth.users import add_user
from crm_core.errors import ConfigError
from crm_core.keys import cookie_key_path, secret_key
from crm_core.store.db import DEFAULT_DB_PATH
from crm_core.store.models import User

DATA_DIR = DEFAULT_DB_PATH.parent
ENV_CREDENTIALS_FILE = "NEXTBEST_CREDENTIALS_FILE"
BOOTSTRAP_ACTOR = Actor("bootstrap", Role.ADMIN)
"""The principal recorded in the audit log for users created at first start."""

DEMO_USERS = (("admin", Role.ADMIN, "Administrator"), ("manager", Role.MANAGER, "Demo manager"),
              ("analyst", Role.ANALYST, "Demo analyst"), ("viewer", Role.VIEWER, "Demo viewer"))
"""(username, role, display name) of the users created on first start."""


@dataclass(frozen=True)
class DemoLogin:
    """One login created at first start; ``password`` is shown once, never stored in clear elsewhere."""

    username: str
    role: Role
    password: str


def default_credentials_path() -> Path:
    """Where first start writes the demo logins (``NEXTBEST_CREDENTIALS_FILE`` or data/demo_credentials.txt)."""
    return Path(os.environ.get(ENV_CREDENTIALS_FILE) or DATA_DIR / "demo_credentials.txt")


def default_cookie_key_path() -> Path:
    """Where the cookie key lives (``NEXTBEST_COOKIE_KEY_FILE`` or data/secrets/cookie_key)."""
    return cookie_key_path()


def bootstrap_users(db, credentials_path: str | Path, *, interactive: bool) -> list[DemoLogin]:
    """On a database without users, create ``admin`` and one demo user per role.

    Args:
        db: the Database (already upgraded).
        credentials_path: file to write the logins to (created with mode 0600).
        interactive: also print the logins (only when a person is at a terminal).
    Returns:
        The logins created; empty when users existed already (then nothing is written).
    """
    logins = [DemoLogin(name, role, generate_password()) for name, role, _ in DEMO_USERS]
    with db.unit_of_work() as s:  # BEGIN IMMEDIATE: two first starts cannot both create users
        if (s.scalar(select(func.count()).select_from(User)) or 0) > 0:
            return []
        for (name, role, display), login in zip(DEMO_USERS, logins):
            add_user(s, BOOTSTRAP_ACTOR, name, role, password=login.password, display_name=display)
    text = _credentials_text(logins)
    write_private_file(Path(credentials_path), text)
    if interactive:
        print(f"NextBest first start: demo logins (also saved in {credentials_path}, readable only by you):")
        print(text, end="")
    return logins


def _credentials_text(logins: list[DemoLogin]) -> str:
    lines = ["# NextBest demo logins, created at first start. Change them on the Admin page.",
             "# role      username    password"]
    lines += [f"{login.role.label:<10}  {login.username:<10}  {login.password}" for login in logins]
    return "\n".join(lines) + "\n"


def write_private_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable and writable by the owner only (0600), parents 0700."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # O_CREAT's mode does not apply to a file that existed
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


def cookie_key(path: str | Path | None = None) -> str:
    """The secret that signs login cookies: read it, or create it on first start (see :mod:`crm_core.keys`).

    Raises:
        ConfigError: the file exists but holds fewer than 32 bytes of key.
    """
    try:
        return secret_key(path if path is not None else cookie_key_path())
    except ConfigError as exc:
        raise ConfigError(f"{exc} (everyone will have to log in again).") from None
