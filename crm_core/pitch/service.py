"""The pitch use cases: draft an offer's pitch and save it, save a hand edit, draft and save a batch.

Every save is one unit of work that (1) holds the offer's row (``FOR UPDATE``
on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers) and
writes the next version of its pitch, so two saves never take the same
number; (2) records the audit event ``pitch.saved`` with ids, version,
source, model, tone, channel, language, request hash and the failed check
codes, never the text and never a key; (3) re-gates the offer with the facts
``has_pitch`` and ``pitch_failures`` (:func:`crm_core.workflow.regate.regate_offers`):
a pending offer whose pitch fails a check gets the PITCH_CHECK_FAILED flag,
a decided one keeps its gate. The newest version is the offer's pitch.

The AI service is called before the unit of work, never inside it: a draft may
take ``deadline_seconds`` and the database's write lock is held only while
saving. A batch saves each draft as it completes, so stopping it keeps what
was drafted.

What a draft is made from comes from the read side (:func:`crm_core.views.pitches.pitch_inputs`)
through the allowlist (:func:`crm_core.pitch.fields.pitch_fields`); the first
names of the workspace's customers are used locally for the PITCH_OTHER_NAME
check and never sent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import threading
import time
from collections.abc import Mapping, Sequence

from sqlalchemy import func, select

from crm_core.auth.roles import Action, Actor, require
from crm_core.errors import NextBestError, NotFound, ValidationError
from crm_core.pitch.checks import check_pitch
from crm_core.pitch.client import REASONS
from crm_core.pitch.drafting import Draft, draft_batch, draft_pitch, llm_switched_off
from crm_core.pitch.fields import PitchFields, PitchInputError, pitch_fields
from crm_core.pitch.prompt import as_plain_text, language_code, request_hash
from crm_core.pitch.saved import BatchSummary, ReasonCount, SavedPitch
from crm_core.pitch.settings import CHANNELS, TONES, PitchConfig
from crm_core.progress import Progress
from crm_core.store.audit_log import record_event
from crm_core.store.models import Offer, Pitch
from crm_core.views.pitches import customer_first_names, pitch_context, pitch_inputs
from crm_core.workflow.regate import regate_offers

MAX_TEXT_CHARS = 10_000  # an edited pitch longer than this is refused (an email body is 60-150 words)
_MODEL_CHARS = 100  # the width of pitches.model


def template_reason(config: PitchConfig, api_key: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """Why drafts would come from templates without even calling the AI service, or None when it would be called.

    Off by ``NEXTBEST_LLM=off``, by ``[pitch] enabled = false``, or for want of a key
    (``api_key``, else the environment's ``ANTHROPIC_API_KEY``).
    """
    environ = os.environ if environ is None else environ
    if llm_switched_off(environ):
        return REASONS["LLM_OFF"]
    if not config.enabled:
        return REASONS["LLM_DISABLED"]
    if not str(api_key if api_key is not None else environ.get("ANTHROPIC_API_KEY", "")).strip():
        return REASONS["NO_API_KEY"]
    return None


def draft_offer_pitch(db, actor: Actor, offer_id: int, *, tone: str, channel: str, config: PitchConfig,
                      api_key: str | None = None, language: str | None = None) -> SavedPitch:
    """Draft the offer's pitch (the AI service, else the template) and save it as the offer's next version.

    Args:
        db: the Database.
        actor: who drafts (analyst or higher).
        offer_id: the offer.
        tone: one of TONES; channel: one of CHANNELS.
        config: the ``[pitch]`` settings.
        api_key: the Anthropic key (None: the environment's ``ANTHROPIC_API_KEY``).
        language: the pitch's language (default: the workspace's).
    Raises:
        PermissionDenied: the actor is below analyst.
        NotFound: there is no such offer.
        PitchInputError: an unknown tone, channel or language, or an offer without a product name.
    """
    require(actor, Action.DRAFT_PITCH)
    context = pitch_context(db, [offer_id])
    row = _input_row(db, offer_id)
    fields = _fields(row, context.currency, config)
    draft = draft_pitch(fields, tone=tone, channel=channel, language=language or context.language, config=config,
                        api_key=api_key, other_names=_other_names(db, context.workspace_id, row))
    return _save(db, actor, int(offer_id), draft)


def save_edited_pitch(db, actor: Actor, offer_id: int, *, text: str, subject: str | None = None, tone: str,
                      channel: str, config: PitchConfig | None = None) -> SavedPitch:
    """Save a person's text as the offer's next pitch version (source ``edited``), after the same checks.

    The text is kept as plain text (:func:`as_plain_text`: no HTML, no markdown
    links); the subject is kept for email only. The checks know the customer's
    first name as stored, whatever ``include_first_name`` says (the person
    writing may use it; nothing is sent); ``request_hash`` is the hash of the request a draft of
    this offer, tone and channel makes under ``config`` (default settings when None).

    Raises:
        PermissionDenied: the actor is below analyst.
        NotFound: there is no such offer.
        PitchInputError: an unknown tone or channel.
        ValidationError: the text is empty or longer than MAX_TEXT_CHARS.
    """
    require(actor, Action.DRAFT_PITCH)
    tone, channel = _checked(tone, channel)
    plain = as_plain_text(text)
    if not plain:
        raise ValidationError("The pitch text is empty: write the message, or draft one.")
    if len(plain) > MAX_TEXT_CHARS:
        raise ValidationError(f"The pitch is {len(plain):,} characters long; at most {MAX_TEXT_CHARS:,} are kept.")
    subject = (as_plain_text(subject) or None) if channel == "email" and subject else None
    context = pitch_context(db, [offer_id])
    row = _input_row(db, offer_id)
    fields = _fields(row, context.currency, config or PitchConfig())
    language = language_code(context.language)
    named = dataclasses.replace(fields, first_name=str(row.get("first_name") or "").strip() or None)
    failures = check_pitch(plain, fields=named, channel=channel, subject=subject,
                           other_names=_other_names(db, context.workspace_id, row))
    draft = Draft(text=plain, subject=subject, source="edited", model=None, tone=tone, channel=channel,  # to save
                  language=language, request_hash=request_hash(fields, tone, channel, language),
                  reason_code="EDITED", reason="", failures=tuple(failures))
    return _save(db, actor, int(offer_id), draft)


def draft_offers_batch(db, actor: Actor, offer_ids: Sequence[int], *, tone: str, channel: str, config: PitchConfig,
                       api_key: str | None = None, progress: Progress | None = None,
                       stop_event: threading.Event | None = None) -> BatchSummary:
    """Draft and save a pitch for each offer, ``config.concurrency`` at a time, each saved as it completes.

    Setting ``stop_event`` starts no further draft; what was saved stays saved.
    An error raised by ``progress`` (a page interrupted by its user) stops the
    batch the same way, then propagates. An offer that cannot be drafted (no
    product name) or saved (deleted meanwhile) is skipped and listed.

    Args:
        offer_ids: the offers, all of one workspace (the order is kept for drafting).
        progress: called as ``progress(fraction, message)`` after each save.
    Raises:
        PermissionDenied: the actor is below analyst.
        NotFound: an offer id does not exist.
        ValidationError: no offers, or offers of several workspaces.
        PitchInputError: an unknown tone or channel (before anything is drafted).
    """
    require(actor, Action.DRAFT_PITCH)
    started = time.monotonic()
    tone, channel = _checked(tone, channel)
    context = pitch_context(db, offer_ids)
    items, offer_of, skipped = [], [], []
    for row in pitch_inputs(db, offer_ids).to_dict("records"):  # one allowlist per offer (a batch is API calls)
        try:
            items.append(_fields(row, context.currency, config))
            offer_of.append(int(row["offer_id"]))
        except PitchInputError as exc:
            skipped.append((int(row["offer_id"]), str(exc)))
    stop = stop_event if stop_event is not None else threading.Event()
    saved: list[SavedPitch] = []
    done = [0]

    def on_draft(index: int, draft: Draft) -> None:
        try:
            done[0] += 1
            try:
                saved.append(_save(db, actor, offer_of[index], draft))
            except NextBestError as exc:  # e.g. the offer was deleted meanwhile: skip it, keep going
                skipped.append((offer_of[index], str(exc)))
            if progress is not None:
                progress(done[0] / len(items), f"{len(saved):,} of {len(items):,} pitches drafted and saved")
        except BaseException:
            stop.set()  # abandon the drafts in flight instead of waiting for them
            raise

    result = draft_batch(items, tone=tone, channel=channel, language=context.language, config=config, api_key=api_key,
                         on_draft=on_draft, stop_event=stop,
                         other_names=tuple(customer_first_names(db, context.workspace_id)))
    return BatchSummary(requested=len(list(dict.fromkeys(offer_ids))), saved=tuple(saved), stopped=result.stopped,
                        not_drafted=tuple(offer_of[i] for i in result.not_drafted), skipped=tuple(skipped),
                        estimate=result.estimate, seconds=time.monotonic() - started)


# --------------------------------------------------------------------------- internals


def _save(db, actor: Actor, offer_id: int, draft: Draft) -> SavedPitch:
    """Write ``draft`` as the offer's next version, its audit event and the offer's new gate, in one transaction."""
    codes = ";".join(f.code for f in draft.failures)
    model = draft.model[:_MODEL_CHARS] if draft.model else None
    with db.unit_of_work() as s:
        workspace_id = s.scalar(select(Offer.workspace_id).where(Offer.id == offer_id).with_for_update())
        if workspace_id is None:
            raise NotFound(f"There is no offer #{offer_id} any more: it was deleted meanwhile.")
        version = (s.scalar(select(func.max(Pitch.version)).where(Pitch.offer_id == offer_id)) or 0) + 1
        row = Pitch(workspace_id=workspace_id, offer_id=offer_id, text=draft.text, subject=draft.subject,
                    source=draft.source, model=model, tone=draft.tone, channel=draft.channel, language=draft.language,
                    request_hash=draft.request_hash, reason=draft.reason or None,
                    failures_json=[{"code": f.code, "message": f.message} for f in draft.failures], version=version,
                    created_by=actor.username, created_at=dt.datetime.now(dt.timezone.utc))
        s.add(row)
        s.flush()
        record_event(s, actor=actor, action="pitch.saved", entity="pitch", entity_id=row.id, workspace_id=workspace_id,
                     after={"offer_id": offer_id, "pitch_id": row.id, "version": version, "source": draft.source,
                            "model": model, "tone": draft.tone, "channel": draft.channel, "language": draft.language,
                            "request_hash": draft.request_hash, "reason_code": draft.reason_code,
                            "failures": [f.code for f in draft.failures]})
        regate_offers(s, [offer_id], fact_updates={offer_id: {"has_pitch": True, "pitch_failures": codes}})
        gate, flags = s.execute(select(Offer.gate, Offer.flags).where(Offer.id == offer_id)).one()
        return SavedPitch(pitch_id=row.id, offer_id=offer_id, version=version, text=row.text, subject=row.subject,
                          source=row.source, model=model, tone=row.tone, channel=row.channel, language=row.language,
                          request_hash=row.request_hash, reason=row.reason, failures=tuple(draft.failures),
                          created_by=row.created_by, created_at=row.created_at, reason_code=draft.reason_code,
                          gate=gate, flags=flags)


def _input_row(db, offer_id: int) -> dict:
    """The read side's inputs of one offer (NotFound when there is none)."""
    rows = pitch_inputs(db, [offer_id]).to_dict("records")
    if not rows:
        raise NotFound(f"There is no offer #{offer_id}: pick one from the Offers page.")
    return rows[0]


def _fields(row: Mapping, currency: str, config: PitchConfig) -> PitchFields:
    """The allowlisted fields of one input row under ``config``'s caps."""
    return pitch_fields(row, include_first_name=config.include_first_name, currency=currency,
                        name_max_chars=config.name_max_chars, reason_max_chars=config.reason_max_chars,
                        max_reasons=config.max_reasons)


def _other_names(db, workspace_id: int, row: Mapping) -> tuple[str, ...]:
    """The workspace's customers' first names other than this customer's (checked for, never sent)."""
    own = str(row.get("first_name") or "").strip().casefold()
    return tuple(sorted(n for n in customer_first_names(db, workspace_id) if n.casefold() != own))


def _checked(tone: str, channel: str) -> tuple[str, str]:
    """Tone and channel in lower case, or PitchInputError naming the accepted values."""
    tone_, channel_ = str(tone).strip().lower(), str(channel).strip().lower()
    if tone_ not in TONES:
        raise PitchInputError(f"tone must be one of {list(TONES)}, not {tone!r}.")
    if channel_ not in CHANNELS:
        raise PitchInputError(f"channel must be one of {list(CHANNELS)}, not {channel!r}.")
    return tone_, channel_




__all__ = ["BatchSummary", "ReasonCount", "SavedPitch", "draft_offer_pitch", "draft_offers_batch", "save_edited_pitch",
           "template_reason"]
