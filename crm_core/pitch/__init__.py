"""Pitches: a short email, SMS or call script for one offer, drafted safely.

The offer's data passes an allowlist (:func:`pitch_fields` builds
:class:`PitchFields`, the only thing a request is made from); the AI service
(Anthropic's Messages API, :mod:`crm_core.pitch.client`) drafts under a hard
deadline, and a deterministic template stands in whenever it is off, has no
key, or fails, with the reason on the draft. Every draft is plain text and
runs through :func:`check_pitch` (stable codes ``PITCH_*``). These modules
never touch the database; the use cases that save drafts as versions of an
offer's pitch, audit them and re-gate the offer are in
:mod:`crm_core.pitch.service` (imported from there, not re-exported here, so
that the settings and the drafting stay free of the store).
"""

from crm_core.pitch.checks import MESSAGES as CHECK_MESSAGES
from crm_core.pitch.checks import CheckFailure, check_pitch
from crm_core.pitch.client import REASONS, LlmDrafter, LlmReply, LlmUnavailable
from crm_core.pitch.drafting import (BatchResult, Draft, Estimate, PitchCancelled, draft_batch, draft_pitch,
                                     estimate_batch, llm_switched_off)
from crm_core.pitch.fields import PitchFields, PitchInputError, pitch_fields
from crm_core.pitch.prompt import as_plain_text, request_hash
from crm_core.pitch.settings import CHANNELS, SMS_MAX_CHARS, TONES, PitchConfig
from crm_core.pitch.templates import render_template

__all__ = [
    "CHANNELS", "CHECK_MESSAGES", "REASONS", "SMS_MAX_CHARS", "TONES", "BatchResult", "CheckFailure", "Draft",
    "Estimate", "LlmDrafter", "LlmReply", "LlmUnavailable", "PitchCancelled", "PitchConfig", "PitchFields",
    "PitchInputError", "as_plain_text", "check_pitch", "draft_batch", "draft_pitch", "estimate_batch",
    "llm_switched_off", "pitch_fields", "render_template", "request_hash",
]
