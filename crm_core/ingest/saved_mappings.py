"""Mappings a user confirmed, remembered per workspace for files with the same headers."""

from __future__ import annotations

from sqlalchemy import select

from crm_core.ingest.mapping import header_signature
from crm_core.store.models import SavedMapping


def recall_mapping(db, workspace_id: int, kind: str, headers: list[str]) -> dict[str, str] | None:
    """The mapping confirmed earlier for files with these headers, if any (and still valid)."""
    signature = header_signature(headers, kind)
    with db.read() as s:
        saved = s.scalar(select(SavedMapping.mapping_json).where(
            SavedMapping.workspace_id == workspace_id, SavedMapping.kind == kind,
            SavedMapping.header_signature == signature))
    if not saved or not set(saved.values()) <= set(headers):
        return None
    return dict(saved)


def remember_mapping(session, workspace_id: int, kind: str, headers: list[str], mapping: dict[str, str],
                     username: str) -> None:
    """Store (or replace) the confirmed mapping for these headers, in the caller's transaction."""
    signature = header_signature(headers, kind)
    row = session.scalar(select(SavedMapping).where(
        SavedMapping.workspace_id == workspace_id, SavedMapping.kind == kind,
        SavedMapping.header_signature == signature))
    if row is None:
        session.add(SavedMapping(workspace_id=workspace_id, kind=kind, header_signature=signature,
                                 mapping_json=dict(mapping), created_by=username))
    else:
        row.mapping_json = dict(mapping)
        row.created_by = username
