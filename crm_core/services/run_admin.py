"""Deleting a pipeline run: its customers, clusters, offers and their drafts go; the record of decisions stays.

A run is refused (:func:`crm_core.views.workspace_admin.run_delete_blockers`,
the same rule the Admin page shows) while it is running, and when any of its
offers was decided, exported, put in a campaign or linked to an outcome: those
rows are the record of what was sent to whom and why. Everything else of the
run goes in one unit of work (:func:`crm_core.services.workspace_admin.delete_rows`),
with one audit event that keeps what the run was.

Two admins, or an admin and a manager deciding an offer of the run, at once:
on SQLite writers queue; on PostgreSQL the run's row and its offers are
locked ``FOR UPDATE`` before the check, so a decision either lands first (and
the delete is refused) or waits and finds the offer gone.
"""

from __future__ import annotations

from sqlalchemy import select, text

from crm_core.auth import Action, Actor, require
from crm_core.errors import NotFound, ValidationError
from crm_core.free_text import MAX_REASON_CHARS, checked_text
from crm_core.services.workspace_admin import delete_rows
from crm_core.store.audit_log import record_event
from crm_core.store.models import PipelineRun
from crm_core.views.workspace_admin import run_delete_blockers



def delete_run(db, actor: Actor, run_id: int, *, reason: str | None = None) -> dict[str, int]:
    """Delete run ``run_id`` and what it computed, unless its offers were acted on (see the module docstring).

    Returns:
        Rows deleted per table (``{"pipeline_runs": 1, "offers": 120, ...}``).
    Raises:
        PermissionDenied (admins only); NotFound; ValidationError naming why the run must stay.
    """
    require(actor, Action.MANAGE_WORKSPACES)
    why = checked_text(reason, label="A reason", max_chars=MAX_REASON_CHARS)
    with db.unit_of_work(check_foreign_keys=False) as s:
        run = s.scalar(select(PipelineRun).where(PipelineRun.id == int(run_id)).with_for_update())
        if run is None:
            raise NotFound(f"There is no pipeline run #{run_id}; it may have been deleted meanwhile.")
        if s.get_bind().dialect.name == "postgresql":  # hold the offers: a decision cannot slip in after the check
            s.execute(text("SELECT count(*) FROM (SELECT 1 FROM offers WHERE run_id = :r FOR UPDATE) AS held"),
                      {"r": run.id})
        blockers = run_delete_blockers(s, [run.id]).get(run.id)
        if blockers:
            raise ValidationError(f"Run #{run.id} cannot be deleted: {blockers}. It is the record of what was "
                                  "decided and sent; it stays.")
        before = {"as_of": run.as_of.isoformat(), "status": run.status, "created_by": run.created_by,
                  "settings_version": run.settings_version, "counts": dict(run.counts_json or {})}
        workspace_id = run.workspace_id
        counts = delete_rows(s, PipelineRun.__table__, PipelineRun.id == run.id)
        record_event(s, actor=actor, action="run.deleted", entity="pipeline_run", entity_id=run_id,
                     before=before, after={"rows": counts}, reason=why, workspace_id=workspace_id)
        return counts
