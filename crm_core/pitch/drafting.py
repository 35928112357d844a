"""Drafting pitches: the AI service when it can, the template when it cannot, checks on every draft.

:func:`draft_pitch` drafts one offer; :func:`draft_batch` drafts many with
a bounded number in flight, a progress callback, a stop event and a callback
per finished draft; :func:`estimate_batch` says what a batch would cost
before it starts.

When no connection is opened: ``NEXTBEST_LLM=off`` in the environment,
``[pitch] enabled = false``, or no API key (argument, else the environment's
``ANTHROPIC_API_KEY``). Then no SDK client is even built, and every draft
is a template that says why. A batch also stops calling the service after
a refused key (401/403) or after 5 failures in a row (a stalled service
would otherwise cost 20 s per draft), and says so on each draft.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from crm_core.pitch.checks import CheckFailure, check_pitch
from crm_core.pitch.client import LlmDrafter, LlmUnavailable, reason_text
from crm_core.pitch.fields import PitchFields, PitchInputError
from crm_core.pitch.prompt import (as_plain_text, language_code, parse_reply, request_hash, system_prompt,
                                   user_content)
from crm_core.pitch.settings import CHANNELS, TONES, PitchConfig
from crm_core.pitch.templates import render_template

SOURCES = ("llm", "template")
_GIVE_UP_AFTER = 5  # consecutive failed calls after which a batch stops calling the service
_KEY_REFUSED = ("AUTH", "FORBIDDEN")


class PitchCancelled(Exception):
    """The cancel event was set while the draft waited for the AI service (a batch drops such a draft)."""


@dataclass(frozen=True)
class Draft:
    """One drafted pitch and how it was made.

    Attributes:
        text: the body (email), the message (SMS) or the script (call), plain text.
        subject: the email subject; None for SMS and call.
        source: ``"llm"`` or ``"template"``.
        model: the model that wrote it; None for a template.
        tone, channel: as asked.
        language: the language code of the text (a template may be English
            when none exists in the language asked).
        request_hash: SHA-256 of the allowlisted request
            (:func:`crm_core.pitch.prompt.request_hash`).
        reason_code, reason: why this source (a key of
            :data:`crm_core.pitch.client.REASONS` and its English sentence).
        failures: the checks it fails (empty: all passed).
    """

    text: str
    subject: str | None
    source: str
    model: str | None
    tone: str
    channel: str
    language: str
    request_hash: str
    reason_code: str
    reason: str
    failures: tuple[CheckFailure, ...] = ()

    @property
    def passed_checks(self) -> bool:
        """True when no check failed."""
        return not self.failures


@dataclass(frozen=True)
class Estimate:
    """What a batch would use: tokens in and out and the cost in USD (list prices, an estimate)."""

    drafts: int
    tokens_in: int
    tokens_out: int
    cost: float
    cost_ceiling: float  # if every draft used max_tokens


@dataclass(frozen=True)
class BatchResult:
    """What a batch drafted: ``drafts`` by item index (ascending), whether it was stopped, and its time."""

    total: int
    drafts: dict[int, Draft] = field(default_factory=dict)
    stopped: bool = False
    seconds: float = 0.0
    estimate: Estimate | None = None

    @property
    def not_drafted(self) -> tuple[int, ...]:
        """Indexes of the items that have no draft (the batch was stopped first)."""
        return tuple(i for i in range(self.total) if i not in self.drafts)


def llm_switched_off(environ: Mapping[str, str] | None = None) -> bool:
    """True when ``NEXTBEST_LLM`` is ``off`` (or ``0``, ``false``, ``no``) in the environment."""
    value = (os.environ if environ is None else environ).get("NEXTBEST_LLM", "")
    return value.strip().lower() in ("off", "0", "false", "no")


def draft_pitch(offer_fields: PitchFields, *, tone: str, channel: str, language: str, config: PitchConfig,
                api_key: str | None = None, drafter: LlmDrafter | None = None, other_names: Sequence[str] = (),
                cancel: threading.Event | None = None, environ: Mapping[str, str] | None = None) -> Draft:
    """One pitch: the AI service's draft, or the template with the reason why not; checks run on both.

    Args:
        offer_fields: from :func:`crm_core.pitch.fields.pitch_fields`.
        tone: one of TONES; channel: one of CHANNELS; language: a code or name (``"fr"``, ``"French"``).
        config: the pitch settings.
        api_key: the Anthropic key (None: the environment's ``ANTHROPIC_API_KEY``).
        drafter: a shared LlmDrafter (a batch passes one); built here when None and needed.
        other_names: other customers' first names, for the PITCH_OTHER_NAME check.
        cancel: set to give up waiting for the service (raises PitchCancelled).
        environ: the environment to read (default ``os.environ``).
    Raises:
        PitchInputError: an unknown tone, channel or language.
    """
    tone, channel, language = _checked(tone, channel, language)
    environ = os.environ if environ is None else environ
    if llm_switched_off(environ):
        return _template(offer_fields, tone, channel, language, "LLM_OFF", {}, other_names)
    if not config.enabled:
        return _template(offer_fields, tone, channel, language, "LLM_DISABLED", {}, other_names)
    own = drafter is None
    try:
        if own:
            drafter = LlmDrafter(config, api_key if api_key is not None else environ.get("ANTHROPIC_API_KEY", ""))
        reply = drafter.draft(offer_fields, tone, channel, language, cancel=cancel)
    except LlmUnavailable as exc:
        if exc.code == "CANCELLED":
            raise PitchCancelled() from None
        return _template(offer_fields, tone, channel, language, exc.code, exc.params, other_names)
    finally:
        if own and drafter is not None:
            drafter.close()
    raw_subject, raw_body = parse_reply(reply.text)
    subject, body = as_plain_text(raw_subject), as_plain_text(raw_body)
    if not body or (channel == "email" and not subject):
        return _template(offer_fields, tone, channel, language, "BAD_RESPONSE", {}, other_names)
    failures = check_pitch(body, fields=offer_fields, channel=channel, subject=subject if channel == "email" else None,
                           other_names=other_names, raw_text=f"{raw_subject}\n{raw_body}")
    return Draft(text=body, subject=subject if channel == "email" else None, source="llm", model=reply.model,
                 tone=tone, channel=channel, language=language,
                 request_hash=request_hash(offer_fields, tone, channel, language), reason_code="LLM_DRAFTED",
                 reason=reason_text("LLM_DRAFTED", {"model": reply.model}), failures=tuple(failures))


def draft_batch(items: Sequence[PitchFields], *, tone: str, channel: str, language: str, config: PitchConfig,
                api_key: str | None = None, drafter: LlmDrafter | None = None,
                progress: Callable[[int, int], None] | None = None, stop_event: threading.Event | None = None,
                on_draft: Callable[[int, Draft], None] | None = None, other_names: Sequence[str] = (),
                environ: Mapping[str, str] | None = None) -> BatchResult:
    """Draft every item, ``config.concurrency`` at a time, keeping what is done when stopped.

    Callbacks run in the calling thread as each draft completes (in
    completion order): ``on_draft(index, draft)`` then ``progress(done, total)``;
    the next drafts are sent before they run, so a slow callback (one that
    saves the draft) does not leave the service idle. Setting ``stop_event``
    starts no further draft and abandons the ones waiting for the service;
    the result holds every draft finished before (``stopped``: some item has
    no draft because of it).
    The first names of the batch's items join ``other_names`` for the
    PITCH_OTHER_NAME check (each item's own name excepted).

    Raises:
        PitchInputError: an unknown tone, channel or language (before anything starts).
    """
    tone, channel, language = _checked(tone, channel, language)
    environ = os.environ if environ is None else environ
    started, total = time.monotonic(), len(items)
    estimate = estimate_batch(total, config, channel=channel)
    names = tuple(set(other_names) | {f.first_name for f in items if f.first_name})
    own = drafter is None and not llm_switched_off(environ) and config.enabled
    skip: dict = {}  # set once the batch gives up on the service: {"code": ..., "params": ...}
    if own:
        try:
            drafter = LlmDrafter(config, api_key if api_key is not None else environ.get("ANTHROPIC_API_KEY", ""))
        except LlmUnavailable as exc:
            drafter, skip = None, {"code": exc.code, "params": exc.params}

    def one(index: int) -> tuple[int, Draft | None]:
        fields = items[index]
        if skip:
            return index, _template(fields, tone, channel, language, skip["code"], skip["params"], names)
        try:
            return index, draft_pitch(fields, tone=tone, channel=channel, language=language, config=config,
                                      drafter=drafter, other_names=names, cancel=stop_event, environ=environ)
        except PitchCancelled:
            return index, None

    drafts: dict[int, Draft] = {}
    failed_in_row, next_index, reported, pending = 0, 0, 0, set()

    def submit_more() -> None:
        """Keep ``concurrency`` drafts in flight, unless the batch is stopped."""
        nonlocal next_index
        while not (stop_event is not None and stop_event.is_set()) and next_index < total \
                and len(pending) < config.concurrency:
            pending.add(pool.submit(one, next_index))
            next_index += 1

    with ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="pitch-batch") as pool:
        submit_more()
        while pending:
            finished, _ = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            pending -= finished
            done = []
            for future in finished:
                index, draft = future.result()
                if draft is not None:
                    drafts[index] = draft
                    failed_in_row = _count_failures(draft, failed_in_row, skip)
                    done.append((index, draft))
            submit_more()  # before the callbacks: a slow one (saving each draft, ~50 ms) must not hold drafts back
            for index, draft in done:
                reported += 1
                if on_draft is not None:
                    on_draft(index, draft)
                if progress is not None:
                    progress(reported, total)
            submit_more()
    stopped = bool(stop_event is not None and stop_event.is_set() and len(drafts) < total)
    if own and drafter is not None:
        drafter.close()
    return BatchResult(total=total, drafts=dict(sorted(drafts.items())), stopped=stopped,
                       seconds=time.monotonic() - started, estimate=estimate)


def estimate_batch(n: int, config: PitchConfig, *, channel: str = "email",
                   sample: PitchFields | None = None) -> Estimate:
    """Tokens and cost of ``n`` drafts, before any is made.

    Input tokens are the length of a real prompt (``sample``, or an offer with
    40-character names and three reasons) at 3 characters a token, a cautious
    rate for JSON and mixed text; output tokens are ``expected_output_tokens``
    a draft, with ``max_tokens`` a draft as the ceiling. Prices are the
    config's USD per million tokens.
    """
    sample = sample or PitchFields(first_name="A" * 12, segment="Potential Loyalists", persona="Weekend gift buyers",
                                   scenario="CROSS_SELL", product_name="P" * 40, family="F" * 20,
                                   price=None, currency="EUR", reasons=("r" * 120,) * 3)
    chars = len(system_prompt("friendly", channel, "en")) + len(user_content(sample, "friendly", channel, "en"))
    tokens_in = n * math.ceil(chars / 3)
    tokens_out = n * config.expected_output_tokens
    price_in, price_out = config.price_per_mtok_input / 1e6, config.price_per_mtok_output / 1e6
    return Estimate(drafts=n, tokens_in=tokens_in, tokens_out=tokens_out,
                    cost=round(tokens_in * price_in + tokens_out * price_out, 4),
                    cost_ceiling=round(tokens_in * price_in + n * config.max_tokens * price_out, 4))


def _checked(tone: str, channel: str, language: str) -> tuple[str, str, str]:
    """Tone, channel and language code, or PitchInputError naming the accepted values."""
    tone_, channel_ = str(tone).strip().lower(), str(channel).strip().lower()
    if tone_ not in TONES:
        raise PitchInputError(f"tone must be one of {list(TONES)}, not {tone!r}.")
    if channel_ not in CHANNELS:
        raise PitchInputError(f"channel must be one of {list(CHANNELS)}, not {channel!r}.")
    return tone_, channel_, language_code(language)


def _template(fields: PitchFields, tone: str, channel: str, language: str, code: str, params: dict,
              other_names: Sequence[str]) -> Draft:
    """The template draft, with its reason and checks."""
    filled = render_template(fields, tone=tone, channel=channel, language=language)
    failures = check_pitch(filled.body, fields=fields, channel=channel, subject=filled.subject,
                           other_names=other_names)
    return Draft(text=filled.body, subject=filled.subject, source="template", model=None, tone=tone, channel=channel,
                 language=filled.language, request_hash=request_hash(fields, tone, channel, language),
                 reason_code=code, reason=reason_text(code, params), failures=tuple(failures))


def _count_failures(draft: Draft, failed_in_row: int, skip: dict) -> int:
    """Consecutive service failures after this draft; fills ``skip`` when the batch should stop calling."""
    if draft.source == "llm":
        return 0
    if skip or draft.reason_code in ("LLM_OFF", "LLM_DISABLED", "NO_API_KEY", "SDK_MISSING", "GAVE_UP"):
        return failed_in_row
    failed_in_row += 1
    if draft.reason_code in _KEY_REFUSED:  # the same key will be refused again
        skip.update(code=draft.reason_code, params={"status": 401 if draft.reason_code == "AUTH" else 403})
    elif failed_in_row >= _GIVE_UP_AFTER:
        skip.update(code="GAVE_UP", params={"failures": failed_in_row, "last": draft.reason})
    return failed_in_row
