"""Secrets kept outside the database: the login cookie key and the audit log key.

Each is at least 32 random bytes (hex) in a file readable only by its owner,
created on first use and git-ignored (``data/secrets/``). Someone who can
write the database but cannot read these files can neither forge a login
cookie nor rebuild the audit chain after editing it. A team that points
several app processes at one PostgreSQL server gives them the same files
(``NEXTBEST_COOKIE_KEY_FILE``, ``NEXTBEST_AUDIT_KEY_FILE``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from crm_core.errors import ConfigError

SECRETS_DIR = Path(__file__).resolve().parents[1] / "data" / "secrets"
ENV_COOKIE_KEY_FILE = "NEXTBEST_COOKIE_KEY_FILE"
ENV_AUDIT_KEY_FILE = "NEXTBEST_AUDIT_KEY_FILE"
KEY_BYTES = 32


def cookie_key_path() -> Path:
    """Where the login cookie key lives (``NEXTBEST_COOKIE_KEY_FILE`` or data/secrets/cookie_key)."""
    return Path(os.environ.get(ENV_COOKIE_KEY_FILE) or SECRETS_DIR / "cookie_key")


def audit_key_path() -> Path:
    """Where the audit log key lives (``NEXTBEST_AUDIT_KEY_FILE`` or data/secrets/audit_key)."""
    return Path(os.environ.get(ENV_AUDIT_KEY_FILE) or SECRETS_DIR / "audit_key")


def secret_key(path: str | Path) -> str:
    """The key in ``path``, created on first use (32 random bytes as hex, mode 0600, folder 0700).

    Two processes starting at once agree on one key: the file is created
    exclusively, and the loser reads the winner's.

    Raises:
        ConfigError: the file exists but holds fewer than 32 bytes of key.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first: read theirs
        else:
            try:
                os.write(fd, secrets.token_hex(KEY_BYTES).encode("ascii"))
            finally:
                os.close(fd)
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 2 * KEY_BYTES:
        raise ConfigError(f"The key in {path} is too short ({len(key)} characters); delete the file and restart "
                          "to have a new one generated.")
    return key
