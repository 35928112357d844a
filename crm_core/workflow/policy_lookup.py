"""Finding a gating policy by name inside a session (a unit of work or a read).

The order, everywhere a policy is named: a custom policy saved in the store
(its newest version), else one of the gate settings' ``[gate.policies]``,
else a built-in (strict, standard, permissive). Kept apart from
:mod:`crm_core.workflow.policies` so that re-gating (which that module calls)
can look policies up without importing it back.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.gate import GateConfig, Policy, policy_from_dict
from crm_core.store.models import ConfigVersion, Workspace

POLICY_KIND = "policy"


def saved_policy(session: Session, name: str) -> Policy | None:
    """The newest saved version of the custom policy ``name``, or None when none is saved."""
    row = session.execute(select(ConfigVersion.body_json, ConfigVersion.version)
                          .where(ConfigVersion.kind == POLICY_KIND, ConfigVersion.name == name)
                          .order_by(ConfigVersion.version.desc()).limit(1)).first()
    if row is None:
        return None
    return policy_from_dict({**dict(row[0]), "version": row[1]}, name=name)


def policy_named(session: Session, name: str, gate: GateConfig) -> Policy:
    """The policy called ``name``: saved (newest version), from ``gate.policies``, or built in.

    Raises:
        ConfigError: no policy has that name.
    """
    name = str(name).strip().lower()
    return saved_policy(session, name) or gate.policy(name)


def workspace_policy(session: Session, workspace_id: int, gate: GateConfig) -> Policy:
    """The workspace's active policy (``Workspace.policy_name``, else ``gate.default_policy``), newest version."""
    name = session.scalar(select(Workspace.policy_name).where(Workspace.id == workspace_id))
    return policy_named(session, name or gate.default_policy, gate)
