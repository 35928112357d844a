"""Outcome use cases: applying a learning proposal as a new settings version.

A proposal (:mod:`crm_core.outcomes.learning`) changes nothing by itself. An admin applies
it; it becomes the next version of the pipeline settings, with its title and evidence as
the version's note and in the audit event, and the next run uses it (and records so).
"""

from __future__ import annotations

from crm_core.auth import Action, Actor, require
from crm_core.errors import ConflictError
from crm_core.outcomes.learning import Proposal
from crm_core.services.settings_store import active_settings, save_settings

PROPOSAL_APPLIED = "settings.proposal_applied"


def apply_proposal(db, actor: Actor, proposal: Proposal) -> int:
    """Save the active settings with ``proposal``'s changes as a new version; returns that version.

    Raises:
        PermissionDenied: the actor is not an admin (Action.MANAGE_POLICIES).
        ConflictError: the settings changed since the proposal was made (another version, or a
            setting whose value is no longer the proposal's "before"): nothing is saved.
        ConfigError: the changed settings would not be valid.
    """
    require(actor, Action.MANAGE_POLICIES)
    config, version = active_settings(db)
    if version != proposal.base_version:
        raise ConflictError(f"The settings are at version {version} now, not {proposal.base_version} as when this "
                            "proposal was made; reload the proposals.")
    data = config.to_dict()
    for change in proposal.changes:
        section = data.get(change.section) or {}
        if change.key not in section or section[change.key] != change.before:
            raise ConflictError(f"{change.section}.{change.key} is {section.get(change.key)!r} now, not "
                                f"{change.before!r} as the proposal assumed; reload the proposals.")
        section[change.key] = change.after
    return save_settings(db, actor, data, note=proposal.note, based_on=proposal.base_version,
                         action=PROPOSAL_APPLIED,
                         details={"proposal": proposal.code, "evidence": list(proposal.evidence)})
