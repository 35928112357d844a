"""A campaign's results: treatment against holdout, overall and per segment, scenario and family.

Reads only (nothing is written, so no role is needed beyond seeing the workspace): the
counts come from :mod:`crm_core.views.outcomes` (summed in SQL), the window from
:mod:`crm_core.outcomes.attribution`, the statistics from :mod:`crm_core.outcomes.uplift`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crm_core.errors import ValidationError
from crm_core.outcomes.attribution import FAMILY, AttributionRule, attribution_window, export_day, family_keys
from crm_core.outcomes.uplift import HOLDOUT, TREATMENT, UPLIFT_TABLE_COLUMNS, uplift_from_counts, uplift_table
from crm_core.segment.rfm import segment_label
from crm_core.stats import UpliftResult
from crm_core.views.campaigns import CampaignInfo, campaign_info, list_campaigns
from crm_core.views.offers import product_families
from crm_core.views.outcomes import (INFERRED, OUTCOME_FILE, SalesWindow, conversions_by_day, group_counts,
                                     offered_product_keys, product_keys, run_funnel, source_comparison,
                                     workspace_timezone)
from crm_core.views.runs import get_run

FAMILY_CHUNK = 10_000  # products per family lookup (one bound parameter each)
SOURCE_LABELS = {INFERRED: "Inferred from later sales", OUTCOME_FILE: "Outcome file"}
FUNNEL_STAGES = ("Proposed", "Approved", "Exported", "Converted")


@dataclass(frozen=True)
class CampaignOutcome:
    """What an exported campaign achieved, from one source.

    Attributes:
        campaign: the campaign.
        source: ``inferred`` or ``file``.
        rule: the attribution rule (used by the inferred source; the timeline's days too).
        export_day: the export's calendar day in the workspace's time zone.
        overall: treatment against holdout; ``by_segment``, ``by_scenario``, ``by_family`` the same
            per value (segment codes as labels).
        revenue_known: False when the outcome file had no revenue at all (revenue figures are None).
        counts: the overall counts per group (``group, customers, conversions, revenue_sum,
            revenue_sumsq, matched``).
        timeline: conversions per day of the window and group: ``day`` (0 = export day),
            ``date``, ``group``, ``conversions``, ``cumulative``, ``rate`` (cumulative / customers).
        notes: what a reader should know about the figures (plain sentences).
    """

    campaign: CampaignInfo
    source: str
    rule: AttributionRule
    export_day: dt.date
    overall: UpliftResult
    by_segment: UpliftResult
    by_scenario: UpliftResult
    by_family: UpliftResult
    revenue_known: bool
    counts: pd.DataFrame
    timeline: pd.DataFrame
    notes: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        """The overall verdict sentence (or why there is none)."""
        if not self.overall.groups:
            return "Cannot tell: the campaign has no treatment customers."
        return self.overall.groups[0].verdict

    def table(self, split: str | None = None) -> pd.DataFrame:
        """:func:`crm_core.outcomes.uplift.uplift_table` of the overall result or of a split
        (``segment``, ``scenario``, ``family``)."""
        return uplift_table(self.overall if split is None else getattr(self, f"by_{split}"))


def campaign_window(db, campaign: CampaignInfo, rule: AttributionRule) -> SalesWindow:
    """The sales window of an exported campaign under ``rule`` (with the families for a family match).

    Raises:
        ValidationError: the campaign has not been exported (it has no groups and no export day).
    """
    day = _export_day(db, campaign)
    start, end = attribution_window(day, rule)
    families = None
    if rule.match == FAMILY:
        families = family_keys(_families(db, campaign), offered_product_keys(db, campaign.id))
    return SalesWindow(start, end, families)


def campaign_outcome(db, campaign_id: int, *, source: str = INFERRED,
                     rule: AttributionRule = AttributionRule()) -> CampaignOutcome:
    """Treatment against holdout for one exported campaign (see :class:`CampaignOutcome`).

    Raises:
        NotFound: no such campaign. ValidationError: it has not been exported, or a bad source.
    """
    campaign = campaign_info(db, campaign_id)
    window = campaign_window(db, campaign, rule)
    counts = {by: group_counts(db, campaign.id, source=source, window=window, by=by)
              for by in (None, "segment", "scenario", "product")}
    known = bool(counts[None].attrs.get("revenue_known", True))
    segments = label_segments(counts["segment"])
    families = counts_by_family(db, campaign, counts["product"])
    day = _export_day(db, campaign)
    return CampaignOutcome(
        campaign=campaign, source=source, rule=rule, export_day=day,
        overall=uplift_from_counts(counts[None], with_revenue=known),
        by_segment=uplift_from_counts(segments, by="segment", with_revenue=known),
        by_scenario=uplift_from_counts(counts["scenario"], by="scenario", with_revenue=known),
        by_family=uplift_from_counts(families, by="family", with_revenue=known),
        revenue_known=known, counts=counts[None],
        timeline=_timeline(conversions_by_day(db, campaign.id, source=source, window=window), counts[None], day,
                           rule),
        notes=_notes(source, counts[None], known, rule))


def compare_sources(db, campaign_id: int, *, rule: AttributionRule = AttributionRule()) -> pd.DataFrame:
    """The outcome file against the inferred conversions, per group
    (:func:`crm_core.views.outcomes.source_comparison`)."""
    campaign = campaign_info(db, campaign_id)
    return source_comparison(db, campaign.id, window=campaign_window(db, campaign, rule))


def exported_campaigns(db, workspace_id: int, *, run_id: int | None = None) -> pd.DataFrame:
    """The workspace's exported campaigns (of one run, when given), newest first (rows of ``list_campaigns``)."""
    frame = list_campaigns(db, workspace_id)
    keep = frame["state"].eq("exported").to_numpy(bool)
    if run_id is not None:
        keep = keep & frame["run_id"].eq(run_id).fillna(False).to_numpy(bool)
    return frame[keep].reset_index(drop=True)


def campaigns_uplift(db, workspace_id: int, *, run_id: int | None = None, source: str = INFERRED,
                     rule: AttributionRule = AttributionRule()) -> pd.DataFrame:
    """One row per exported campaign: its id and name, then the overall :func:`uplift_table` columns.

    Every campaign is summed in SQL; nothing here grows with its customers.
    """
    rows = []
    for campaign_id, name in exported_campaigns(db, workspace_id, run_id=run_id)[["campaign_id", "name"]] \
            .itertuples(index=False):
        campaign = campaign_info(db, int(campaign_id))
        counts = group_counts(db, campaign.id, source=source, window=campaign_window(db, campaign, rule))
        table = uplift_table(uplift_from_counts(counts, with_revenue=bool(counts.attrs.get("revenue_known", True))))
        rows.append(table.drop(columns=["value", "group"]).assign(campaign_id=int(campaign_id), name=str(name)))
    columns = ["campaign_id", "name", *UPLIFT_TABLE_COLUMNS[2:]]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    return pd.concat(rows, ignore_index=True)[columns]


def run_funnel_frame(db, run_id: int, *, source: str = INFERRED,
                     rule: AttributionRule = AttributionRule()) -> pd.DataFrame:
    """Customers at each step of a run's funnel: proposed, approved, exported, converted.

    ``converted`` counts the treatment customers of the run's exported campaigns who converted.

    Returns:
        Columns ``stage`` (:data:`FUNNEL_STAGES`) and ``customers`` (int64).
    """
    steps = run_funnel(db, run_id)
    converted = 0
    with_run = list_campaigns_of_run(db, run_id)
    for campaign_id in with_run:
        campaign = campaign_info(db, campaign_id)
        counts = group_counts(db, campaign_id, source=source, window=campaign_window(db, campaign, rule))
        converted += int(counts.loc[counts["group"] == TREATMENT, "conversions"].sum())
    return pd.DataFrame({"stage": pd.Series(FUNNEL_STAGES, dtype="string"),
                         "customers": pd.Series([steps["proposed"], steps["approved"], steps["exported"],
                                                 converted], dtype="int64")})


def list_campaigns_of_run(db, run_id: int) -> list[int]:
    """Ids of the run's exported campaigns, in order."""
    run = get_run(db, run_id)
    return sorted(int(i) for i in exported_campaigns(db, run.workspace_id, run_id=run.id)["campaign_id"])


def label_segments(by_segment: pd.DataFrame) -> pd.DataFrame:
    """Counts per segment code with the segments' English labels as values."""
    return by_segment.assign(value=by_segment["value"].map(lambda v: None if pd.isna(v) else segment_label(v)))


def counts_by_family(db, campaign: CampaignInfo, by_product: pd.DataFrame) -> pd.DataFrame:
    """Counts per product (``group_counts(by="product")``) summed into counts per family, as the
    engine of the campaign's run saw the families (sums add up; the statistics come after)."""
    if by_product.empty:
        return by_product
    pks = [int(v) for v in by_product["value"].dropna().unique()]
    names = product_families(db, campaign.run_id or 0, pks) if pks else pd.Series(dtype="string")
    frame = by_product.assign(value=by_product["value"].map(lambda v: None if pd.isna(v) else names.get(int(v))))
    sums = ["customers", "conversions", "revenue_sum", "revenue_sumsq", "matched"]
    return frame.groupby(["value", "group"], dropna=False, sort=True)[sums].sum().reset_index()


# --------------------------------------------------------------------------- internals


def _export_day(db, campaign: CampaignInfo) -> dt.date:
    if not campaign.exported or campaign.exported_at is None:
        raise ValidationError(f"Campaign #{campaign.id} has not been exported yet: its treatment and holdout "
                              "groups are drawn at export, so there is nothing to measure.")
    return export_day(campaign.exported_at, workspace_timezone(db, campaign.workspace_id))


def _families(db, campaign: CampaignInfo) -> pd.Series:
    """Family per product of the workspace, as the engine of the campaign's run saw it."""
    keys = product_keys(db, campaign.workspace_id)
    parts = [product_families(db, campaign.run_id or 0, keys[i:i + FAMILY_CHUNK])
             for i in range(0, len(keys), FAMILY_CHUNK)]
    return pd.concat(parts) if parts else pd.Series(dtype="string")


def _timeline(daily: pd.DataFrame, counts: pd.DataFrame, day: dt.date, rule: AttributionRule) -> pd.DataFrame:
    """Every day of the window for both groups, with cumulative conversions and the cumulative rate."""
    days = np.arange(rule.window_days + 1)
    frames = []
    for group in (TREATMENT, HOLDOUT):
        customers = int(counts.loc[counts["group"] == group, "customers"].sum())
        mine = daily[daily["group"] == group]
        per_day = pd.Series(0, index=days, dtype="int64")
        offsets = (mine["day"].dt.normalize() - pd.Timestamp(day)).dt.days
        inside = offsets.between(0, rule.window_days).to_numpy(bool)
        per_day = per_day.add(mine.loc[inside, "conversions"].groupby(offsets[inside].to_numpy()).sum(),
                              fill_value=0).astype("int64")
        cumulative = per_day.cumsum()
        frames.append(pd.DataFrame({"day": days, "date": pd.Timestamp(day) + pd.to_timedelta(days, unit="D"),
                                    "group": group, "conversions": per_day.to_numpy(),
                                    "cumulative": cumulative.to_numpy(),
                                    "rate": cumulative.to_numpy() / customers if customers else np.nan}))
    out = pd.concat(frames, ignore_index=True)
    return out.astype({"group": "string", "conversions": "int64", "cumulative": "int64", "rate": "float64"})


def _notes(source: str, counts: pd.DataFrame, revenue_known: bool, rule: AttributionRule) -> tuple[str, ...]:
    notes = []
    if source == INFERRED:
        notes.append(f"A customer converted when they {rule.label}; the holdout is measured from the same day.")
    else:
        held = counts[counts["group"] == HOLDOUT]
        if int(held["customers"].sum()) and not int(held["matched"].sum()):
            notes.append("The outcome file has no row for any holdout customer, so they all count as not "
                         "converted: a mailing tool only knows the customers it contacted. Compare with the "
                         "conversions inferred from later sales, which measure both groups the same way.")
        if not revenue_known:
            notes.append("The outcome file gives no revenue: only conversions are compared.")
    return tuple(notes)
