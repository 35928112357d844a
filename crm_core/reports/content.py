"""What a report says about one pipeline run, gathered from aggregates.

Every figure is a SQL aggregate (segments, offers per scenario and state, campaign results
per group, audit events per action) or comes from the run's stored metadata, so building
the content of a report for a million customers reads a few hundred rows, never one per
customer. The same content feeds the workbook (:mod:`crm_core.reports.workbook`) and the
PDF (:mod:`crm_core.reports.pdf`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, or_, select

from crm_core.outcomes.attribution import AttributionRule
from crm_core.outcomes.results import SOURCE_LABELS, campaigns_uplift, run_funnel_frame
from crm_core.store.models import AuditEvent
from crm_core.views.offers import offer_run
from crm_core.views.outcomes import INFERRED, offer_states
from crm_core.views.overview import customers_by_segment
from crm_core.views.runs import RunInfo, get_run
from crm_core.views.workspaces import WorkspaceInfo, list_workspaces


@dataclass(frozen=True)
class ReportContent:
    """Everything a report of one run shows (frames are small aggregates).

    Attributes:
        workspace, run: where the figures come from.
        kpis: ``(label, value)`` pairs, numbers as numbers.
        parameters: ``(name, value)`` pairs: how the run and the outcome figures were made.
        segments: ``segment, label, customers, share, net_value``.
        offers: ``scenario, gate, state, offers``.
        campaigns: the run's exported campaigns, one row each with their overall results
            (:func:`crm_core.outcomes.results.campaigns_uplift`).
        funnel: ``stage, customers``.
        quality: ``metric, value`` (the audit gate's run quality).
        audit: ``action, events, first_utc, last_utc``: the workspace's audit events (and the
            workspace-less ones: users, settings) per action.
    """

    workspace: WorkspaceInfo
    run: RunInfo
    kpis: tuple[tuple[str, object], ...]
    parameters: tuple[tuple[str, object], ...]
    segments: pd.DataFrame
    offers: pd.DataFrame
    campaigns: pd.DataFrame
    funnel: pd.DataFrame
    quality: pd.DataFrame
    audit: pd.DataFrame

    @property
    def title(self) -> str:
        """``NextBest report · shop · run #12 as of 2024-03-28``."""
        return f"NextBest report \u00b7 {self.workspace.name} \u00b7 run #{self.run.id} as of {self.run.as_of:%Y-%m-%d}"

    @property
    def quality_level(self) -> str:
        """The run's quality level (``not measured`` for a run before the audit gate)."""
        return self.run.quality_level or "not measured"


def report_content(db, run_id: int, *, rule: AttributionRule = AttributionRule(),
                   source: str = INFERRED) -> ReportContent:
    """Gather the content of a report on run ``run_id``.

    Raises:
        RunNotFound: no such run.
    """
    run = get_run(db, run_id)
    workspace = next(w for w in list_workspaces(db) if w.id == run.workspace_id)
    segments = customers_by_segment(db, workspace.id, run_id=run.id)
    total = int(segments["customers"].sum())
    segments = segments.assign(share=segments["customers"] / total if total else 0.0).rename(
        columns={"monetary": "net_value"})[["segment", "label", "customers", "share", "net_value"]]
    offers = offer_states(db, run.id)
    campaigns = campaigns_uplift(db, workspace.id, run_id=run.id, source=source, rule=rule)
    funnel = run_funnel_frame(db, run.id, source=source, rule=rule)
    steps = dict(zip(funnel["stage"], funnel["customers"]))
    kpis = (("Customers", int(run.counts.get("customers", total))),
            ("Offers", int(run.counts.get("offers", int(offers["offers"].sum())))),
            (f"Net value of the customers ({workspace.currency})", round(float(segments["net_value"].sum()), 2)),
            ("Offers passing the audit gate", int(offers.loc[offers["gate"] == "PASS", "offers"].sum())),
            ("Customers with an approved offer", int(steps.get("Approved", 0))),
            ("Customers contacted", int(steps.get("Exported", 0))),
            ("Customers converted", int(steps.get("Converted", 0))),
            ("Campaigns exported", len(campaigns)),
            ("Quality level", run.quality_level or "not measured"))
    engine = offer_run(db, run.id)
    return ReportContent(workspace=workspace, run=run, kpis=kpis,
                         parameters=_parameters(run, engine.top_n, engine.weights, rule, source),
                         segments=segments.reset_index(drop=True), offers=offers, campaigns=campaigns, funnel=funnel,
                         quality=_quality(run.quality), audit=audit_summary(db, workspace.id))


def audit_summary(db, workspace_id: int) -> pd.DataFrame:
    """Audit events per action: the workspace's and those of no workspace (users, settings)."""
    with db.read() as s:
        rows = s.execute(select(AuditEvent.action, func.count(), func.min(AuditEvent.occurred_at),
                                func.max(AuditEvent.occurred_at))
                         .where(or_(AuditEvent.workspace_id == workspace_id, AuditEvent.workspace_id.is_(None)))
                         .group_by(AuditEvent.action).order_by(AuditEvent.action)).all()
    frame = pd.DataFrame(rows, columns=["action", "events", "first_utc", "last_utc"])
    for col in ("first_utc", "last_utc"):
        frame[col] = pd.to_datetime(frame[col], utc=True).dt.tz_localize(None).astype("datetime64[us]")
    return frame.astype({"action": "string", "events": "int64"})


def _parameters(run: RunInfo, top_n: int, weights: dict[str, float], rule: AttributionRule,
                source: str) -> tuple[tuple[str, object], ...]:
    """How the run and the report's outcome figures were made."""
    return (("Run", f"#{run.id}"), ("As of", run.as_of.isoformat()),
            ("Contact date", run.contact_date.isoformat() if run.contact_date else "not recorded"),
            ("Run by", run.created_by), ("Finished (UTC)", _stamp(run.finished_at)),
            ("Gating policy", run.policy_label or "none (before the audit gate)"),
            ("Settings version", "defaults" if run.settings_version is None else f"v{run.settings_version}"),
            ("Settings hash", run.config_hash[:16]), ("Data hash", run.data_hash[:16]),
            ("Offers per customer", top_n),
            ("Score weights", ", ".join(f"{name.replace('_', ' ')} {weight:g}" for name, weight in weights.items())),
            ("Outcome source", SOURCE_LABELS.get(source, source)),
            ("Attribution", f"a customer converted when they {rule.label}"),
            ("Intervals", "95 %: Newcombe hybrid score for conversion rates, Welch t for revenue per customer"))


def _quality(quality: dict) -> pd.DataFrame:
    """The run quality's scalar metrics as ``metric, value`` rows (numbers as numbers)."""
    rows = [(key, value) for key, value in quality.items() if not isinstance(value, (dict, list))]
    for key, value in (quality.get("audit_score_bins") or {}).items():
        rows.append((f"offers with audit score {key}", value))
    return pd.DataFrame(rows, columns=["metric", "value"]).astype({"metric": "string", "value": "object"})


def _stamp(value: dt.datetime | None) -> str:
    if value is None:
        return "not finished"
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return f"{value:%Y-%m-%d %H:%M}"
