"""What the pitch use cases return: a saved version with the offer's new gate, and a batch's summary."""

from __future__ import annotations

from dataclasses import dataclass

from crm_core.pitch.drafting import Estimate
from crm_core.views.pitches import PitchVersion


@dataclass(frozen=True)
class SavedPitch(PitchVersion):
    """A version just saved: the stored pitch, why it has its source, and the offer's gate after re-gating.

    Attributes:
        reason_code: ``LLM_DRAFTED``, a template reason code (see
            :data:`crm_core.pitch.client.REASONS`) or ``EDITED``.
        gate, flags: the offer's gate (PASS, REVIEW, BLOCK...) and flag codes after the save.
    """

    reason_code: str = ""
    gate: str | None = None
    flags: str | None = None


@dataclass(frozen=True)
class ReasonCount:
    """How many drafts of a batch came from templates for one reason (``code``, an example ``reason``)."""

    code: str
    reason: str
    drafts: int


@dataclass(frozen=True)
class BatchSummary:
    """What a batch drafted and saved.

    Attributes:
        requested: offers asked for.
        saved: the versions saved, in the order they completed.
        stopped: the batch was stopped before every offer had a draft.
        not_drafted: offer ids left without a draft (stopped first).
        skipped: ``(offer id, why)`` of offers that could not be drafted or saved.
        estimate: the tokens and cost estimated before it started.
        seconds: wall time.
    """

    requested: int
    saved: tuple[SavedPitch, ...]
    stopped: bool
    not_drafted: tuple[int, ...]
    skipped: tuple[tuple[int, str], ...]
    estimate: Estimate | None
    seconds: float

    @property
    def llm(self) -> int:
        """Drafts written by the AI service."""
        return sum(1 for p in self.saved if p.source == "llm")

    @property
    def template(self) -> int:
        """Drafts filled from templates."""
        return sum(1 for p in self.saved if p.source == "template")

    @property
    def models(self) -> tuple[str, ...]:
        """The models that wrote drafts, sorted."""
        return tuple(sorted({p.model for p in self.saved if p.source == "llm" and p.model}))

    @property
    def failed_checks(self) -> int:
        """Drafts that fail at least one check (their offers are flagged PITCH_CHECK_FAILED)."""
        return sum(1 for p in self.saved if p.failures)

    def lines(self) -> list[str]:
        """The summary in plain English, one line each (the CLI prints them, the pages show them)."""
        by_model = f" ({', '.join(self.models)})" if self.models else ""
        out = [(f"{len(self.saved):,} of {self.requested:,} pitches drafted and saved: {self.llm:,} by the model"
                f"{by_model}, {self.template:,} from templates.")]
        out += [f"templates, {r.reason}: {r.drafts:,}" for r in self.template_reasons]
        if self.failed_checks:
            out.append(f"{self.failed_checks:,} fail a check: their offers are flagged PITCH_CHECK_FAILED "
                       "(pending offers go to review).")
        if self.stopped:
            out.append(f"Stopped: {len(self.not_drafted):,} offers have no new draft.")
        out += [f"offer #{offer_id} skipped: {why}" for offer_id, why in self.skipped]
        return out

    @property
    def template_reasons(self) -> tuple[ReasonCount, ...]:
        """Why templates were used, most frequent first (then by code)."""
        counts: dict[str, list] = {}
        for p in self.saved:
            if p.source == "template":
                counts.setdefault(p.reason_code, [p.reason or p.reason_code, 0])[1] += 1
        return tuple(ReasonCount(code, reason, n) for code, (reason, n)
                     in sorted(counts.items(), key=lambda item: (-item[1][1], item[0])))
