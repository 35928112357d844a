"""Gating policies: the built-ins, custom ones saved by an admin (versioned, never edited in place), the active one.

A policy is looked up by name: a custom policy saved in the store (its newest
version), else one of the config's ``[gate.policies]``, else a built-in
(strict, standard, permissive). A workspace's active policy is
``Workspace.policy_name``; runs and re-gating use it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from sqlalchemy import select

from crm_core.config import Config
from crm_core.errors import ConfigError
from crm_core.gate import Policy, policy_from_dict
from crm_core.store.models import ConfigVersion, Workspace

POLICY_KIND = "policy"


def policy_from_file(path: str | Path) -> Policy:
    """The policy in a TOML file (its ``name``, else the file's name); ConfigError naming what is wrong."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Policy file {path} does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Policy file {path} is not valid TOML: {exc}") from None
    return policy_from_dict(data, name=data.get("name") or path.stem.lower())


def find_policy(db, name: str, config: Config) -> Policy:
    """The policy called ``name``: saved (newest version), from the config, or built in.

    Raises:
        ConfigError: no policy has that name (the message lists the known ones).
    """
    name = str(name).strip().lower()
    with db.read() as s:
        saved = s.scalar(select(ConfigVersion).where(ConfigVersion.kind == POLICY_KIND, ConfigVersion.name == name)
                         .order_by(ConfigVersion.version.desc()).limit(1))
        body = None if saved is None else (dict(saved.body_json), saved.version)
    if body is not None:
        return policy_from_dict({**body[0], "version": body[1]}, name=name)
    try:
        return config.gate.policy(name)
    except ConfigError:
        raise ConfigError(f"Unknown gating policy {name!r}; known: {', '.join(known_policy_names(db, config))}.") \
            from None


def known_policy_names(db, config: Config) -> list[str]:
    """Every policy name a run can use: built-ins, the config's and the saved ones."""
    from crm_core.gate import BUILTIN_POLICIES

    with db.read() as s:
        saved = set(s.scalars(select(ConfigVersion.name).where(ConfigVersion.kind == POLICY_KIND)))
    return sorted(set(BUILTIN_POLICIES) | set(config.gate.policies) | saved)


def active_policy(db, workspace_id: int, config: Config) -> Policy:
    """The policy the workspace gates with now (its chosen name, newest version)."""
    with db.read() as s:
        name = s.scalar(select(Workspace.policy_name).where(Workspace.id == workspace_id))
    return find_policy(db, name or config.gate.default_policy, config)


def resolve_policy(db, workspace_id: int, choice: str | None, config: Config) -> Policy:
    """What ``--policy`` (or a page's choice) means: None -> the active one; a ``.toml`` path; a name."""
    if choice is None:
        return active_policy(db, workspace_id, config)
    if str(choice).lower().endswith(".toml"):
        return policy_from_file(choice)
    return find_policy(db, choice, config)
