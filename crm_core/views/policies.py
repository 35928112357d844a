"""The read side of gating policies: every version of every policy, and which workspace gates with which.

Built-in policies (strict, standard, permissive) are version 1 and live in the
code; custom ones are the ``config_versions`` rows of kind ``policy``, one row
per saved version, never edited. Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select

from crm_core.gate import BUILTIN_POLICIES, FLAG_CODES, FLAGS, Policy, Severity, flag_title, policy_from_dict
from crm_core.store.models import ConfigVersion, Workspace

POLICY_KIND = "policy"
POLICY_TABLE_COLUMNS = ["policy", "version", "kind", "review_below", "block_below", "review_on", "escalate",
                        "description", "saved_by", "saved_at", "active_in"]


@dataclass(frozen=True)
class PolicyVersion:
    """One version of a policy as the Admin page lists it.

    Attributes:
        policy: the Policy itself (name, version, thresholds, codes, description).
        builtin: True for strict, standard and permissive.
        saved_by, saved_at: who saved this version and when (UTC); None for built-ins.
    """

    policy: Policy
    builtin: bool
    saved_by: str | None = None
    saved_at: dt.datetime | None = None


@dataclass(frozen=True)
class WorkspacePolicy:
    """A workspace and the name of the policy it gates with now."""

    workspace_id: int
    workspace: str
    policy_name: str


def policy_versions(db) -> list[PolicyVersion]:
    """Every policy version: the built-ins, then each saved policy's versions (by name, then version)."""
    with db.read() as s:
        rows = s.execute(select(ConfigVersion.name, ConfigVersion.version, ConfigVersion.body_json,
                                ConfigVersion.created_by, ConfigVersion.created_at)
                         .where(ConfigVersion.kind == POLICY_KIND)
                         .order_by(ConfigVersion.name, ConfigVersion.version)).all()
    out = [PolicyVersion(p, True) for _, p in sorted(BUILTIN_POLICIES.items())]
    for name, version, body, by, at in rows:
        out.append(PolicyVersion(policy_from_dict({**dict(body), "version": version}, name=name), False, by, at))
    return out


def latest_policies(db) -> dict[str, Policy]:
    """Policy name -> its newest version (built-ins and saved ones), names sorted."""
    newest = {v.policy.name: v.policy for v in policy_versions(db)}  # versions come in ascending order
    return dict(sorted(newest.items()))


def workspace_policies(db) -> list[WorkspacePolicy]:
    """Every workspace (by name) with the name of its active policy."""
    with db.read() as s:
        rows = s.execute(select(Workspace.id, Workspace.name, Workspace.policy_name).order_by(Workspace.name)).all()
    return [WorkspacePolicy(int(i), name, policy or "standard") for i, name, policy in rows]


def policy_table(db) -> pd.DataFrame:
    """Every policy version as a table for the Admin page (:data:`POLICY_TABLE_COLUMNS`).

    ``active_in`` names the workspaces gating with the policy, on its newest version only.
    """
    versions = policy_versions(db)
    newest = {v.policy.name: v.policy.version for v in versions}
    users: dict[str, list[str]] = {}
    for w in workspace_policies(db):
        users.setdefault(w.policy_name, []).append(w.workspace)
    rows = [{"policy": v.policy.name, "version": v.policy.version, "kind": "built-in" if v.builtin else "custom",
             "review_below": float(v.policy.review_below), "block_below": float(v.policy.block_below),
             "review_on": ", ".join(v.policy.review_on), "escalate": ", ".join(v.policy.escalate),
             "description": v.policy.description, "saved_by": v.saved_by, "saved_at": v.saved_at,
             "active_in": ", ".join(users.get(v.policy.name, [])) if newest[v.policy.name] == v.policy.version
             else ""} for v in versions]
    return pd.DataFrame(rows, columns=POLICY_TABLE_COLUMNS)


def flag_choices() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What a policy form offers: ``(review_on choices, escalate choices)``.

    A policy reviews on flag codes or severities (WARN, INFO) and escalates flag codes to ERROR
    (the codes that are not ERRORs already).
    """
    return tuple(FLAG_CODES) + ("WARN", "INFO"), tuple(c for c in FLAG_CODES if FLAGS[c].severity != Severity.ERROR)


def flag_label(code: str) -> str:
    """``CODE: title`` for a flag code (a severity as itself), for select boxes."""
    return code if code in ("ERROR", "WARN", "INFO") else f"{code}: {flag_title(code)}"
