"""Learning from outcomes: what converts best, and proposed settings with the evidence behind each.

Pure: evidence in (:class:`LearningEvidence`, summed over exported campaigns by
:mod:`crm_core.outcomes.evidence`), proposals out. Nothing changes until an admin applies
a proposal (:func:`crm_core.outcomes.service.apply_proposal`), which saves it as a new
settings version.

Two kinds of proposal, each only when the data show a difference whose 95 % interval
leaves zero (an interval that spans zero proposes nothing: too few customers to tell):

* **scoring weights**: among the treatment group's exported offers, the mean of each score
  component for offers that converted against those that did not (Welch's interval). A
  component clearly higher among converted offers gains ``WEIGHT_STEP``; one clearly lower
  loses it (never below 0); the weights are then scaled back to their previous total;
* **scenario thresholds**: a scenario whose treated customers converted clearly more than
  its holdout (a real uplift) is given to more customers by one step of its threshold; one
  with a real drop to fewer (:data:`THRESHOLD_STEPS`). CROSS_SELL, the scenario of everyone
  else, has no threshold of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from crm_core.outcomes.uplift import uplift_table
from crm_core.recommend.settings import COMPONENTS, SCENARIOS, RecommendConfig
from crm_core.stats import UpliftResult, welch_interval_from_summary

WEIGHT_STEP = 0.05
# scenario -> (setting, the step that gives the scenario to more customers, lowest value, highest value)
THRESHOLD_STEPS = {
    "WINBACK": ("winback_inactive_days", -30, 30, 730),
    "UPSELL": ("upsell_value_quantile", -0.05, 0.5, 0.95),
    "REBUY": ("due_factor", -0.1, 0.5, 3.0),
    "NURTURE": ("new_customer_days", 15, 0, 365),
}
COMPONENT_COLUMNS = ["component", "converted_n", "converted_mean", "converted_var", "other_n", "other_mean",
                     "other_var"]


@dataclass(frozen=True)
class LearningEvidence:
    """What the exported campaigns showed, summed over them.

    Attributes:
        campaigns: the campaigns counted.
        settings_version: the settings version their runs used (None: the defaults).
        by_scenario, by_segment, by_family: treatment against holdout per value (segment labels).
        components: :data:`COMPONENT_COLUMNS`: per score component, the offers that converted and
            the others (count, mean, sample variance).
    """

    campaigns: tuple[int, ...]
    settings_version: int | None
    by_scenario: UpliftResult
    by_segment: UpliftResult
    by_family: UpliftResult
    components: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COMPONENT_COLUMNS))


@dataclass(frozen=True)
class SettingChange:
    """One setting a proposal changes."""

    section: str
    key: str
    before: float | int
    after: float | int

    @property
    def text(self) -> str:
        """``recommend.weight_affinity 0.4 → 0.45``."""
        return f"{self.section}.{self.key} {self.before:g} \u2192 {self.after:g}"


@dataclass(frozen=True)
class Proposal:
    """A proposed change of the settings, with the evidence behind it.

    ``base_version`` is the settings version it was computed from: applying it after
    another version was saved is refused (its evidence may no longer hold).
    """

    code: str
    title: str
    changes: tuple[SettingChange, ...]
    evidence: tuple[str, ...]
    base_version: int | None

    @property
    def note(self) -> str:
        """The note of the settings version it becomes: the title and the evidence."""
        return f"{self.title}. " + " ".join(self.evidence)


def conversion_leaders(evidence: LearningEvidence) -> pd.DataFrame:
    """Which scenarios, families and segments convert best, treated against held out.

    Returns:
        Columns ``dimension`` (scenario, family, segment), then the :func:`uplift_table` columns;
        within a dimension the highest treatment conversion rate first.
    """
    parts = []
    for dimension, result in (("scenario", evidence.by_scenario), ("family", evidence.by_family),
                              ("segment", evidence.by_segment)):
        table = uplift_table(result)
        if len(table):
            table = table.sort_values(["treatment_rate", "treatment_customers"], ascending=False, kind="mergesort")
            parts.append(table.assign(dimension=dimension))
    if not parts:
        return pd.DataFrame(columns=["dimension", *uplift_table(evidence.by_scenario).columns])
    out = pd.concat(parts, ignore_index=True)
    return out[["dimension", *[c for c in out.columns if c != "dimension"]]]


def propose(evidence: LearningEvidence, current: RecommendConfig, base_version: int | None,
            *, confidence: float = 0.95) -> tuple[Proposal, ...]:
    """Every proposal the evidence supports (see the module docstring), weights first."""
    proposals = []
    weights = weight_proposal(evidence.components, current, base_version, confidence=confidence)
    if weights is not None:
        proposals.append(weights)
    proposals += threshold_proposals(evidence.by_scenario, current, base_version, len(evidence.campaigns))
    return tuple(proposals)


def weight_proposal(components: pd.DataFrame, current: RecommendConfig, base_version: int | None,
                    *, confidence: float = 0.95) -> Proposal | None:
    """New scoring weights when some component clearly separates converted offers from the others."""
    weights = current.weights
    total = sum(weights.values())
    moved, evidence = dict(weights), []
    for row in components.itertuples(index=False):
        if row.component not in weights:
            continue
        low, high = welch_interval_from_summary(row.converted_mean, row.converted_var, int(row.converted_n),
                                                row.other_mean, row.other_var, int(row.other_n), confidence)
        label = row.component.replace("_", " ").capitalize()
        figures = (f"{label}: converted offers {row.converted_mean:.2f} on average, the others "
                   f"{row.other_mean:.2f} ({int(row.converted_n):,} and {int(row.other_n):,} offers")
        if math.isnan(low):
            evidence.append(figures + "): too few offers to tell.")
        elif low > 0:
            moved[row.component] = weights[row.component] + WEIGHT_STEP
            evidence.append(figures + f"; difference {_interval(low, high, confidence)}): weigh it more.")
        elif high < 0:
            moved[row.component] = max(0.0, weights[row.component] - WEIGHT_STEP)
            evidence.append(figures + f"; difference {_interval(low, high, confidence)}): weigh it less.")
        else:
            evidence.append(figures + f"; difference {_interval(low, high, confidence)} spans zero): no change.")
    new = _rescaled(moved, total)
    changes = tuple(SettingChange("recommend", f"weight_{name}", weights[name], new[name])
                    for name in COMPONENTS if new[name] != round(weights[name], 3))
    if not changes:
        return None
    return Proposal(code="weights", title="Adjust the scoring weights: " + "; ".join(c.text for c in changes),
                    changes=changes, evidence=tuple(evidence), base_version=base_version)


def threshold_proposals(by_scenario: UpliftResult, current: RecommendConfig, base_version: int | None,
                        campaigns: int = 1) -> list[Proposal]:
    """One proposal per scenario with a real uplift (give it to more customers) or a real drop (to fewer)."""
    out = []
    for g in sorted(by_scenario.groups, key=lambda g: (SCENARIOS.index(g.by) if g.by in SCENARIOS else 99, str(g.by))):
        if g.by not in THRESHOLD_STEPS or any(math.isnan(v) for v in g.diff_ci):
            continue
        low, high = g.diff_ci
        if low <= 0 <= high:
            continue
        setting, step, lowest, highest = THRESHOLD_STEPS[g.by]
        more = low > 0
        before = getattr(current, setting)
        after = min(highest, max(lowest, before + (step if more else -step)))
        after = round(after, 3) if isinstance(step, float) else int(after)
        if after == before:
            continue
        control = next((c for c in by_scenario.controls if c.by == g.by), by_scenario.control)
        change = SettingChange("recommend", setting, before, after)
        title = f"Give {g.by} to {'more' if more else 'fewer'} customers: {change.text}"
        evidence = (f"{g.by}: treated customers converted at {g.rate:.1%} against {control.rate:.1%} in the holdout "
                    f"({g.n:,} and {control.n:,} customers, {campaigns} campaign{'s' if campaigns != 1 else ''}). "
                    f"{g.verdict}",)
        out.append(Proposal(code=f"threshold:{g.by}", title=title, changes=(change,), evidence=evidence,
                            base_version=base_version))
    return out


def _rescaled(weights: dict[str, float], total: float) -> dict[str, float]:
    """Weights scaled to ``total`` and rounded to 3 decimals (the rounding remainder on the largest)."""
    now = sum(weights.values())
    if now <= 0:
        return {k: round(v, 3) for k, v in weights.items()}
    scaled = {k: round(v * total / now, 3) for k, v in weights.items()}
    largest = max(scaled, key=lambda k: (scaled[k], k))
    scaled[largest] = round(scaled[largest] + round(total, 3) - round(sum(scaled.values()), 3), 3)
    return scaled


def _interval(low: float, high: float, confidence: float) -> str:
    return f"{confidence * 100:g} % interval {low:+.2f} to {high:+.2f}"
