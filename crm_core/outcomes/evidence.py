"""The evidence learning works from, summed in SQL over a workspace's exported campaigns.

Reads only. Per campaign, the counts per group and scenario, segment and product, and the
score components of the exported offers split by conversion
(:mod:`crm_core.views.outcomes`); sums add up across campaigns, so the evidence is the
sum of a few rows per campaign, whatever their size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_core.outcomes.attribution import AttributionRule
from crm_core.outcomes.learning import COMPONENT_COLUMNS, LearningEvidence
from crm_core.outcomes.results import (campaign_window, counts_by_family, exported_campaigns,
                                       label_segments)
from crm_core.outcomes.uplift import uplift_from_counts
from crm_core.views.campaigns import campaign_info
from crm_core.views.outcomes import INFERRED, group_counts, offer_component_sums
from crm_core.views.runs import get_run

ALL_VERSIONS = object()  # learning_evidence(settings_version=...): count every campaign
SUMS = ["customers", "conversions", "revenue_sum", "revenue_sumsq", "matched"]


def learning_evidence(db, workspace_id: int, *, rule: AttributionRule = AttributionRule(),
                      settings_version=ALL_VERSIONS) -> LearningEvidence:
    """Evidence from the workspace's exported campaigns (inferred conversions).

    Args:
        db: the Database.
        workspace_id: the workspace.
        rule: the attribution rule.
        settings_version: count only campaigns whose run used this settings version (None: the
            defaults); :data:`ALL_VERSIONS` counts every campaign. Proposals use the active version,
            so that a change once applied is not proposed again from the evidence that led to it.
    """
    kept, parts = [], {"scenario": [], "segment": [], "family": []}
    components = []
    for campaign_id in exported_campaigns(db, workspace_id)["campaign_id"].tolist():
        campaign = campaign_info(db, int(campaign_id))
        if settings_version is not ALL_VERSIONS and _version_of(db, campaign.run_id) != settings_version:
            continue
        window = campaign_window(db, campaign, rule)
        kept.append(campaign.id)
        parts["scenario"].append(group_counts(db, campaign.id, source=INFERRED, window=window, by="scenario"))
        parts["segment"].append(label_segments(group_counts(db, campaign.id, source=INFERRED, window=window,
                                                            by="segment")))
        parts["family"].append(counts_by_family(db, campaign, group_counts(db, campaign.id, source=INFERRED,
                                                                           window=window, by="product")))
        components.append(offer_component_sums(db, campaign.id, window=window))
    results = {by: uplift_from_counts(_summed(frames), by=by) for by, frames in parts.items()}
    return LearningEvidence(campaigns=tuple(kept), settings_version=None if settings_version is ALL_VERSIONS
                            else settings_version, by_scenario=results["scenario"], by_segment=results["segment"],
                            by_family=results["family"], components=_component_stats(components))


def _version_of(db, run_id: int | None) -> int | None:
    return None if run_id is None else get_run(db, run_id).settings_version


def _summed(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Count rows of several campaigns added up per value and group."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({"value": pd.Series(dtype="object"), "group": pd.Series(dtype="string"),
                             **{c: pd.Series(dtype="float64") for c in SUMS}})
    joined = pd.concat(frames, ignore_index=True)
    return joined.groupby(["value", "group"], dropna=False, sort=True)[SUMS].sum().reset_index()


def _component_stats(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Count, mean and sample variance per component, for converted offers and the others."""
    if not frames or not any(len(f) for f in frames):
        return pd.DataFrame(columns=COMPONENT_COLUMNS)
    sums = pd.concat(frames, ignore_index=True).groupby(["component", "converted"])[["n", "total", "total_sq"]].sum()
    rows = []
    for component in sorted({c for c, _ in sums.index}):
        stats = []
        for converted in (True, False):
            n, total, total_sq = (sums.loc[(component, converted)] if (component, converted) in sums.index
                                  else (0, 0.0, 0.0))
            mean = total / n if n else np.nan
            var = max(0.0, (total_sq - n * mean * mean) / (n - 1)) if n > 1 else np.nan
            stats += [int(n), float(mean), float(var)]
        rows.append([component, *stats])
    return pd.DataFrame(rows, columns=COMPONENT_COLUMNS)
