"""Gating policies: the built-ins, custom ones saved by an admin (versioned, never edited in place), the active one.

A policy is looked up by name: a custom policy saved in the store (its newest
version), else one of the config's ``[gate.policies]``, else a built-in
(strict, standard, permissive). A workspace's active policy is
``Workspace.policy_name``; runs and re-gating use it.

Changing what a workspace gates with re-gates its undecided offers at once, in
the same unit of work as the change: choosing another active policy
(:func:`set_active_policy`) and saving a new version of the active one
(:func:`save_policy`). Decided offers keep the verdict they were decided on.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm_core.auth import Action, Actor, require
from crm_core.config import Config
from crm_core.config_toml import read_toml_file
from crm_core.errors import ConfigError, ConflictError, NotFound, ValidationError
from crm_core.gate import BUILTIN_POLICIES, GateConfig, Policy, policy_from_dict
from crm_core.store.audit_log import record_event
from crm_core.store.locks import lock_workspace
from crm_core.store.models import ConfigVersion, Workspace
from crm_core.workflow.policy_lookup import POLICY_KIND, policy_named, saved_policy
from crm_core.workflow.regate import RegateResult, regate_workspace_result


def policy_from_file(path: str | Path) -> Policy:
    """The policy in a TOML file (its ``name``, else the file's name); ConfigError naming what is wrong."""
    path = Path(path)
    data = read_toml_file(path, kind="Policy file")
    return policy_from_dict(data, name=data.get("name") or path.stem.lower())


def find_policy(db, name: str, config: Config) -> Policy:
    """The policy called ``name``: saved (newest version), from the config, or built in.

    Raises:
        ConfigError: no policy has that name (the message lists the known ones).
    """
    name = str(name).strip().lower()
    with db.read() as s:
        saved = saved_policy(s, name)
    if saved is not None:
        return saved
    try:
        return config.gate.policy(name)
    except ConfigError:
        raise ConfigError(f"Unknown gating policy {name!r}; known: {', '.join(known_policy_names(db, config))}.") \
            from None


def known_policy_names(db, config: Config) -> list[str]:
    """Every policy name a run can use: built-ins, the config's and the saved ones."""
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


def save_policy(db, actor: Actor, body: dict) -> Policy:
    """Save a custom policy as a new version (1 for a new name), never editing an earlier one.

    Workspaces whose active policy it is have their undecided offers re-gated under the new
    version in the same unit of work.

    Args:
        db: the Database.
        actor: who saves it (needs Action.MANAGE_POLICIES: admins).
        body: the policy table: ``name``, ``review_below``, ``block_below``, optional
            ``review_on``, ``escalate``, ``description`` (see :func:`crm_core.gate.policy_from_dict`);
            a ``version`` in it is ignored: the store numbers versions.
    Returns:
        The saved Policy, with its version.
    Raises:
        PermissionDenied: the actor is not an admin.
        ConfigError: the table is not a valid policy, or its name is a built-in's.
        ConflictError: another admin saved the same policy at the same moment (save again).
    """
    require(actor, Action.MANAGE_POLICIES)
    if not isinstance(body, dict):
        raise ConfigError(f"A gating policy must be a table of settings, not {type(body).__name__}.")
    table = {k: v for k, v in body.items() if k != "version"}
    if isinstance(table.get("name"), str):
        table["name"] = table["name"].strip().lower()
    checked = policy_from_dict(table, section=f"policy {table.get('name')!r}")
    try:
        with db.unit_of_work() as s:
            before = saved_policy(s, checked.name)
            version = int(s.scalar(select(func.max(ConfigVersion.version)).where(
                ConfigVersion.kind == POLICY_KIND, ConfigVersion.name == checked.name)) or 0) + 1
            policy = policy_from_dict({**checked.to_dict(), "version": version}, name=checked.name)
            stored = policy.to_dict()
            stored.pop("version")
            s.add(ConfigVersion(kind=POLICY_KIND, name=policy.name, version=version, body_json=stored,
                                created_by=actor.username))
            s.flush()
            regated = [regate_workspace_result(s, ws, policy) for ws in _workspaces_using(s, policy.name)]
            record_event(s, actor=actor, action="policy.save", entity="policy", entity_id=policy.name,
                         before=None if before is None else before.to_dict(), after=policy.to_dict(),
                         reason=None if not regated else _regated_note(regated))
    except IntegrityError:
        raise ConflictError(f"Someone saved policy {checked.name!r} at the same moment; look at its versions "
                            "and save again.") from None
    return policy


def set_active_policy(db, actor: Actor, workspace_id: int, name: str) -> RegateResult:
    """Make ``name`` the workspace's active policy and re-gate its undecided offers under it.

    Args:
        db: the Database.
        actor: who changes it (needs Action.MANAGE_POLICIES: admins).
        workspace_id: the workspace.
        name: a built-in or saved policy's name (its newest version is used).
    Returns:
        The re-gate's counts (offers considered and changed, gates before and after).
    Raises:
        PermissionDenied: the actor is not an admin.
        NotFound: no such workspace.
        ValidationError: no policy has that name (the message lists the known ones).
    """
    require(actor, Action.MANAGE_POLICIES)
    wanted = str(name).strip().lower()
    with db.unit_of_work() as s:
        lock_workspace(s, workspace_id)
        ws = s.get(Workspace, int(workspace_id))
        if ws is None:
            raise NotFound(f"There is no workspace #{workspace_id}.")
        try:
            policy = policy_named(s, wanted, GateConfig())
        except ConfigError:
            known = sorted(set(BUILTIN_POLICIES) | set(s.scalars(
                select(ConfigVersion.name).where(ConfigVersion.kind == POLICY_KIND))))
            raise ValidationError(f"Unknown gating policy {name!r}; known: {', '.join(known)}.") from None
        before = ws.policy_name
        ws.policy_name = policy.name
        s.flush()
        result = regate_workspace_result(s, ws.id, policy)
        record_event(s, actor=actor, action="policy.activate", entity="workspace", entity_id=ws.id,
                     before={"policy_name": before}, after={**result.as_event(), "policy_name": policy.name},
                     workspace_id=ws.id)
    return result


def _workspaces_using(session, name: str) -> list[int]:
    """Ids of the workspaces whose active policy is ``name``, locked (their offers are about to be re-gated)."""
    ids = list(session.scalars(select(Workspace.id).where(Workspace.policy_name == name).order_by(Workspace.id)))
    for ws in ids:
        lock_workspace(session, ws)
    return ids


def _regated_note(results: list[RegateResult]) -> str:
    """One line for the audit event: how many offers each workspace's re-gate changed."""
    return "; ".join(f"workspace {r.workspace_id}: {r.changed} of {r.considered} undecided offers re-gated"
                     for r in results)
