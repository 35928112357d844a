"""Four-eyes decisions on offers: approve, reject or flag; resubmit what was flagged; reopen (undo).

States::

    pending -> approved | rejected | flagged      decide_offers (manager and up)
    flagged -> pending                            resubmit_offers (analyst and up; the resubmitter submits it)
    approved | rejected | flagged -> pending      reopen_offers (manager and up; undo, never an edit)
    approved -> exported                          the campaign export (elsewhere)

The rules live here, whatever a page shows: only a pending offer can be decided;
nobody decides their own submission; a BLOCK offer cannot be approved; reject and
flag need a reason; a decision on an offer that changed since the screen showed it
(``versions``) changes nothing. Every change is a new ``decisions`` row and an
audit event in the same transaction; two managers deciding one offer at once:
exactly one decision is recorded, the other is told who decided and when (see
:mod:`crm_core.workflow.offer_transitions` for how that holds on every database).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from crm_core.auth.roles import Action, Actor, require
from crm_core.errors import ValidationError
from crm_core.free_text import MAX_REASON_CHARS, checked_text
from crm_core.workflow.offer_transitions import Transition, apply_transition, unique_ids

DECISIONS = ("approved", "rejected", "flagged")
DECIDED_STATES = ("approved", "rejected", "flagged")
_VERB = {"approved": "approve", "rejected": "reject", "flagged": "flag", "resubmitted": "resubmit",
         "reopened": "reopen"}
OWN_SUBMISSION = "your own submission: another manager decides it"
BLOCKED = "blocked by the audit gate: it cannot be approved"
EXPORTED = "already exported to a campaign"
SUPERSEDED = "replaced by an edited offer: decide the edited one"


@dataclass(frozen=True)
class DecisionOutcome:
    """What a bulk decision did.

    Attributes:
        decided: the offers changed, in the order asked.
        skipped: offer id -> why it was left as it was (English), in the order asked.
        decision: what was done: ``approved``, ``rejected``, ``flagged``, ``resubmitted`` or ``reopened``.
    """

    decided: tuple[int, ...]
    skipped: dict[int, str] = field(default_factory=dict)
    decision: str = ""

    def skipped_by_reason(self) -> dict[str, tuple[int, ...]]:
        """Reason -> the offers skipped for it; the commonest reason first (ties: alphabetical)."""
        groups: dict[str, list[int]] = {}
        for offer_id, reason in self.skipped.items():
            groups.setdefault(reason, []).append(offer_id)
        ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
        return {reason: tuple(ids) for reason, ids in ordered}

    def summary(self, max_reasons: int = 5) -> str:
        """One line for a person: ``Approved 48; skipped 2: already approved by max at … (1); …``."""
        verb = _VERB.get(self.decision, self.decision or "decide")
        done = {"flag": "Flagged", "resubmit": "Resubmitted", "reopen": "Reopened"}.get(verb, f"{verb.title()}d")
        text = f"{done} {len(self.decided):,}"
        if not self.skipped:
            return text
        groups = self.skipped_by_reason()
        listed = [f"{reason} ({len(ids):,})" for reason, ids in list(groups.items())[:max_reasons]]
        if len(groups) > max_reasons:
            listed.append(f"{len(groups) - max_reasons:,} more reasons")
        return f"{text}; skipped {len(self.skipped):,}: " + "; ".join(listed)


def decide_offers(db, actor: Actor, offer_ids: Iterable[int], decision: str, *, reason: str | None = None,
                  versions: Mapping[int, int] | None = None) -> DecisionOutcome:
    """Approve, reject or flag many offers at once (four-eyes, race-safe, all-or-nothing per call).

    An offer is decided when it is pending, was not submitted by ``actor``, is not
    blocked (approval only) and, when ``versions`` names it, still has the version
    the screen showed. Everything else is skipped with the reason, e.g.
    ``"already approved by max at 02 Dec 2026 09:14 UTC"``, ``"your own submission:
    another manager decides it"``, ``"blocked by the audit gate: it cannot be approved"``,
    ``"changed since you loaded it (version 3, you saw 2)"``, ``"no such offer"`` (an
    unknown id). A reject or flag without a reason decides nothing: every offer is
    skipped with ``"a reason is needed to reject an offer: nothing was decided"``.

    Args:
        db: the Database.
        actor: the deciding user (manager or admin).
        offer_ids: the offers (any workspaces; duplicates count once).
        decision: ``"approved"``, ``"rejected"`` or ``"flagged"`` (flag: sent back to the
            analyst with the reason as a note).
        reason: why; required for reject and flag, optional for approve (blank counts as none).
        versions: offer id -> the version the screen showed; an offer whose version moved on
            since is skipped as stale. Offers not in it are not checked for staleness.
    Returns:
        DecisionOutcome: ``decided`` ids and ``skipped`` {id: reason}.
    Raises:
        PermissionDenied: ``actor`` may not decide offers (below manager).
        ValidationError: ``decision`` is not one of the three words (a programming error,
            never a business outcome), or the reason is longer than 2,000 characters.
    """
    require(actor, Action.DECIDE_OFFERS)
    if decision not in DECISIONS:
        raise ValidationError(f"Unknown decision {decision!r}; use one of {', '.join(DECISIONS)}.")
    ids = unique_ids(offer_ids)
    reason = _clean(reason)
    if reason is None and decision != "approved":
        return _nothing(ids, decision, f"a reason is needed to {_VERB[decision]} an offer: nothing was decided")
    seen = {int(k): int(v) for k, v in (versions or {}).items()}

    def classify(current: pd.DataFrame) -> pd.Series:
        why = _not_pending(current)
        why = _unless(why, _stale(current, seen))
        why = _unless(why, pd.Series(OWN_SUBMISSION, index=current.index)
                      .where(current["submitted_by"].eq(actor.username).fillna(False).to_numpy()))
        if decision == "approved":
            why = _unless(why, pd.Series(BLOCKED, index=current.index)
                          .where(current["gate"].eq("BLOCK").fillna(False).to_numpy()))
        return why

    transition = Transition(decision, decision, sets_decider=True)
    decided, skipped = apply_transition(db, actor, ids, transition, classify, reason=reason)
    return DecisionOutcome(decided, skipped, decision)


def resubmit_offers(db, actor: Actor, offer_ids: Iterable[int], *, note: str | None = None) -> DecisionOutcome:
    """Send flagged offers back to the queue (flagged -> pending); the resubmitter becomes their submitter.

    So the four-eyes rule then keeps the resubmitter from deciding them. Offers that
    are not flagged are skipped with why (``"not flagged: it is pending"``, ``"no such offer"``).

    Args:
        db: the Database.
        actor: analyst or higher.
        offer_ids: the offers (duplicates count once).
        note: what was done about the flag (recorded with the decision and the audit event).
    Returns:
        DecisionOutcome with ``decision="resubmitted"``.
    Raises:
        PermissionDenied: ``actor`` may not submit offers (a viewer).
    """
    require(actor, Action.SUBMIT_OFFERS)
    ids = unique_ids(offer_ids)

    def classify(current: pd.DataFrame) -> pd.Series:
        state = current["state"].astype(str)
        return ("not flagged: it is " + state).where(state.ne("flagged").to_numpy())

    transition = Transition("resubmitted", "pending", sets_decider=False, sets_submitter=True)
    decided, skipped = apply_transition(db, actor, ids, transition, classify, reason=_clean(note))
    return DecisionOutcome(decided, skipped, "resubmitted")


def reopen_offers(db, actor: Actor, offer_ids: Iterable[int], *, reason: str) -> DecisionOutcome:
    """Undo decisions: approved, rejected or flagged offers go back to pending, as a new decision ("reopened").

    The earlier decision stays in the history. Exported offers cannot be reopened
    (the campaign already left); pending ones are skipped as ``"not decided: it is pending"``.
    A blank reason reopens nothing (every offer skipped, saying so). Any manager may
    reopen, the submitter too: reopening decides nothing, the offer waits again for
    someone else's decision.

    Args:
        db: the Database.
        actor: manager or higher.
        offer_ids: the offers (duplicates count once).
        reason: why the decision is undone.
    Returns:
        DecisionOutcome with ``decision="reopened"``.
    Raises:
        PermissionDenied: ``actor`` may not decide offers.
    """
    require(actor, Action.DECIDE_OFFERS)
    ids = unique_ids(offer_ids)
    reason = _clean(reason)
    if reason is None:
        return _nothing(ids, "reopened", "a reason is needed to reopen an offer: nothing was reopened")

    def classify(current: pd.DataFrame) -> pd.Series:
        state = current["state"].astype(str)
        why = pd.Series(EXPORTED, index=current.index).where(state.eq("exported").to_numpy())
        return _unless(why, ("not decided: it is " + state).where((~state.isin(DECIDED_STATES)).to_numpy()))

    transition = Transition("reopened", "pending", sets_decider=False)
    decided, skipped = apply_transition(db, actor, ids, transition, classify, reason=reason)
    return DecisionOutcome(decided, skipped, "reopened")


# --------------------------------------------------------------------------- classification helpers


def _clean(text: str | None) -> str | None:
    """The reason stripped (its lines kept); None when blank; ValidationError when over 2,000 characters."""
    return checked_text(text, label="A reason", max_chars=MAX_REASON_CHARS, one_line=False)


def _nothing(ids: list[int], decision: str, why: str) -> DecisionOutcome:
    return DecisionOutcome((), {i: why for i in ids}, decision)


def _unless(why: pd.Series, other: pd.Series) -> pd.Series:
    """``why``, with ``other``'s reasons where ``why`` has none yet (earlier reasons win)."""
    return why.where(why.notna(), other)


def _not_pending(current: pd.DataFrame) -> pd.Series:
    """Why an offer that is not pending cannot be decided: who decided it and when, exported, replaced."""
    state = current["state"].astype(str)
    when = pd.to_datetime(current["decided_at"], utc=True).dt.strftime("%d %b %Y %H:%M UTC")
    by = current["decided_by"].astype("string")
    decided = ("already " + state + (" by " + by).fillna("") + (" at " + when).fillna("")).astype(object)
    why = pd.Series(None, index=current.index, dtype=object)
    why = why.mask(state.isin(DECIDED_STATES).to_numpy(), decided)
    why = why.mask(state.eq("exported").to_numpy(), EXPORTED)
    why = why.mask(state.eq("superseded").to_numpy(), SUPERSEDED)
    other = ~state.isin([*DECIDED_STATES, "exported", "superseded", "pending"])
    return why.mask(other.to_numpy(), "not pending: it is " + state)


def _stale(current: pd.DataFrame, seen: dict[int, int]) -> pd.Series:
    """Why an offer the screen showed at an older version is skipped."""
    shown = pd.Series(seen, dtype="Int64").reindex(current.index)
    version = current["version"].astype("Int64")
    moved = (shown.notna() & shown.ne(version)).fillna(False).to_numpy(dtype=bool)
    text = ("changed since you loaded it (version " + version.astype(str) + ", you saw " + shown.astype(str) + ")")
    return text.astype(object).where(moved)
