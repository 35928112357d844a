"""The pitch assistant: draft, read, edit and save an offer's pitch, and draft pitches for many offers at once.

Shared by the Offers, Customer 360, review queue and campaign pages:

- :func:`pitch_assistant` (one offer): tone and channel, *Draft*, the draft as
  plain text with the source that produced it and why ("Drafted by claude-…",
  "Template: no API key configured"), the checks it fails, an editable text
  area and *Save edit*, and every saved version;
- :func:`pitch_batch_panel` (many offers): the estimate of tokens and cost
  before anything starts, *Draft N pitches* with a progress bar and *Stop*
  (each draft is saved as it completes, so a stop keeps them).

A draft is never rendered as Markdown: it is drawn with ``st.text`` or in a
``st.text_area``; text from the model or a file that goes into captions and
messages passes through :func:`~app.shell.shown`. The Anthropic key is read
here only (environment ``ANTHROPIC_API_KEY``, else ``.streamlit/secrets.toml``),
handed to crm_core, and never shown.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pandas as pd
import streamlit as st

from app.shell import PageContext, show_error, shown
from crm_core.auth import Action, can
from crm_core.errors import NextBestError
from crm_core.pitch import CHANNELS, TONES, estimate_batch
from crm_core.pitch.service import (BatchSummary, SavedPitch, draft_offer_pitch, draft_offers_batch,
                                    save_edited_pitch, template_reason)
from crm_core.views.pitches import PitchVersion, pitch_versions

KEY_NAME = "ANTHROPIC_API_KEY"
DEFAULT_TONE = "friendly"


def api_key() -> str | None:
    """The Anthropic key: the environment's, else ``st.secrets`` (a missing or broken secrets file means none)."""
    key = os.environ.get(KEY_NAME, "").strip()
    if key:
        return key
    try:
        key = st.secrets.get(KEY_NAME)
    except FileNotFoundError:  # no secrets file (Streamlit's error for it, and for an unreadable one, is one)
        return None
    key = str(key or "").strip()
    return key or None


def pitch_assistant(ctx: PageContext, offer_id: int, *, key_prefix: str,
                    on_saved: Callable[[SavedPitch], None] | None = None) -> SavedPitch | None:
    """Draw the assistant for one offer; returns the version drafted in this run, if any.

    Widget keys are ``{key_prefix}_tone``, ``_channel``, ``_draft``, ``_subject``,
    ``_text`` and ``_save``. A viewer sees the pitch and its versions, read only.
    ``on_saved`` is called after every save (a page clears its cached tables:
    the offer's gate may have changed).
    """
    k = _keys(key_prefix)
    may_draft = can(ctx.actor, Action.DRAFT_PITCH)
    notice = st.session_state.pop(k("notice"), None)
    if notice:
        st.success(notice)
    versions = pitch_versions(ctx.db, offer_id)
    current = versions[0] if versions else None
    _default_choices(k, current)
    saved = None
    if may_draft:
        c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
        tone = c1.selectbox("Tone", TONES, key=k("tone"))
        channel = c2.selectbox("Channel", CHANNELS, key=k("channel"))
        if c3.button("Draft" if current is None else "Draft again", key=k("draft"), type="primary",
                     help="Writes a new version; the earlier ones are kept."):
            with st.spinner("Drafting…"):
                try:
                    saved = draft_offer_pitch(ctx.db, ctx.actor, offer_id, tone=tone, channel=channel,
                                              config=ctx.config.pitch, api_key=api_key())
                except NextBestError as exc:
                    show_error(exc)
            if saved is not None:
                current, versions = saved, (saved, *versions)
                if on_saved is not None:
                    on_saved(saved)
    if current is None:
        st.caption("No pitch for this offer yet." + (" Choose a tone and a channel, then **Draft**." if may_draft
                                                       else " An analyst can draft one."))
        return saved
    _describe(current, saved)
    if may_draft:
        _editor(ctx, offer_id, current, k, on_saved)
    else:
        if current.subject:
            st.text(f"Subject: {current.subject}")
        st.text(current.text)
    _versions_table(versions, k)
    return saved


def pitch_batch_panel(ctx: PageContext, offer_ids, *, key_prefix: str) -> BatchSummary | None:
    """Draw the batch drafter for ``offer_ids``; returns the summary of a batch finished in this run.

    Widget keys are ``{key_prefix}_tone``, ``_channel``, ``_start`` and ``_stop``.
    Clicking *Stop* (or leaving the page) interrupts the run: the drafts saved
    so far are kept and the next run says how far the batch got.
    """
    k = _keys(key_prefix)
    ids = list(dict.fromkeys(int(i) for i in offer_ids))
    if not can(ctx.actor, Action.DRAFT_PITCH):
        st.caption("An analyst can draft pitches for these offers.")
        return None
    if not ids:
        st.caption("No offers to draft pitches for.")
        return None
    _default_choices(k, None)
    c1, c2 = st.columns(2)
    tone = c1.selectbox("Tone", TONES, key=k("tone"))
    channel = c2.selectbox("Channel", CHANNELS, key=k("channel"))
    config, key = ctx.config.pitch, api_key()
    why_not = template_reason(config, key)
    if why_not is None:
        e = estimate_batch(len(ids), config, channel=channel)
        # "USD", not "$": two dollar signs in Markdown typeset what lies between them as maths
        st.caption(f"{len(ids):,} offers, {config.concurrency} at a time · estimate: about {e.tokens_in:,} input and "
                   f"{e.tokens_out:,} output tokens, USD {e.cost:,.2f} (at most USD {e.cost_ceiling:,.2f}) with "
                   f"{shown(config.model, 60)} at list prices.")
    else:
        st.caption(f"{len(ids):,} offers · templates only ({shown(why_not, 200)}): no AI service, no cost.")
    interrupted = st.session_state.pop(k("running"), None)
    if interrupted is not None:
        st.warning(f"The batch was stopped: {shown(interrupted, 200)}. Those pitches are saved; the other offers "
                   "have no new draft.")
    summary = None
    if st.button(f"Draft {len(ids):,} pitches", key=k("start"), type="primary",
                 help="Each draft is saved as it completes and becomes the offer's newest pitch version."):
        st.session_state[k("running")] = f"0 of {len(ids):,} pitches drafted and saved"
        st.button("Stop", key=k("stop"), help="Stops the batch; the pitches saved so far are kept.")
        bar = st.progress(0.0, text="Starting…")

        def progress(fraction: float, message: str) -> None:
            st.session_state[k("running")] = message
            bar.progress(min(max(fraction, 0.0), 1.0), text=message)

        try:
            summary = draft_offers_batch(ctx.db, ctx.actor, ids, tone=tone, channel=channel, config=config,
                                         api_key=key, progress=progress)
        except NextBestError as exc:
            show_error(exc)
        st.session_state.pop(k("running"), None)
    if summary is not None:
        st.session_state[k("summary")] = summary.lines()
    for i, line in enumerate(st.session_state.get(k("summary"), ())):
        (st.success if i == 0 else st.caption)(shown(line, 300))
    return summary


# --------------------------------------------------------------------------- internals


def _keys(prefix: str):
    return lambda name: f"{prefix}_{name}"


def _default_choices(k, current: PitchVersion | None) -> None:
    """Tone and channel start as the current version's (else friendly email), set once through the state."""
    if st.session_state.get(k("tone")) not in TONES:
        st.session_state[k("tone")] = current.tone if current is not None and current.tone in TONES else DEFAULT_TONE
    if st.session_state.get(k("channel")) not in CHANNELS:
        st.session_state[k("channel")] = (current.channel if current is not None and current.channel in CHANNELS
                                          else CHANNELS[0])


def _describe(current: PitchVersion, saved: SavedPitch | None) -> None:
    """The source line, the failed checks, and the gate after a save in this run."""
    st.caption(f"Version {current.version} · {shown(current.described, 160)} · saved by "
               f"{shown(current.created_by, 60)} on {current.created_at:%d %b %Y %H:%M} UTC · "
               f"{current.channel or '–'}, {current.tone or '–'}")
    for failure in current.failures:
        st.warning(f"Check failed: {shown(failure.message, 300)}")
    if saved is not None and saved.gate:
        flagged = " (flagged PITCH_CHECK_FAILED)" if "PITCH_CHECK_FAILED" in (saved.flags or "") else ""
        st.caption(f"The offer's gate is now **{shown(saved.gate, 20)}**{flagged}.")


def _editor(ctx: PageContext, offer_id: int, current: PitchVersion, k, on_saved) -> None:
    """The editable draft (plain text) and *Save edit*; a save reruns the page to show the new version."""
    if st.session_state.get(k("shown")) != current.pitch_id:  # a new version: show its text, not the old edit
        st.session_state[k("shown")] = current.pitch_id
        st.session_state[k("text")] = current.text
        st.session_state[k("subject")] = current.subject or ""
    subject = st.text_input("Subject", key=k("subject")) if current.channel == "email" else None
    text = st.text_area("Pitch (plain text: what you see is what is sent)", key=k("text"), height=240)
    if not st.button("Save edit", key=k("save"), help="Saves your text as a new version, after the same checks."):
        return
    try:
        saved = save_edited_pitch(ctx.db, ctx.actor, offer_id, text=text, subject=subject,
                                  tone=current.tone or DEFAULT_TONE, channel=current.channel or CHANNELS[0],
                                  config=ctx.config.pitch)
    except NextBestError as exc:
        show_error(exc)
        return
    checks = "passes every check" if not saved.failures else f"fails {len(saved.failures)} check(s)"
    gate = f" The offer's gate is now {saved.gate}." if saved.gate else ""
    st.session_state[k("notice")] = f"Saved as version {saved.version}: it {checks}.{gate}"
    if on_saved is not None:
        on_saved(saved)
    st.rerun()


def _versions_table(versions: tuple[PitchVersion, ...], k) -> None:
    """Every saved version, newest first (a table: its cells are never Markdown)."""
    with st.expander(f"Versions ({len(versions)})"):
        st.dataframe(pd.DataFrame({
            "version": [v.version for v in versions],
            "source": [v.described for v in versions],
            "tone": [v.tone for v in versions], "channel": [v.channel for v in versions],
            "checks": [v.failure_codes or "passed" for v in versions],
            "saved": [v.created_at for v in versions], "by": [v.created_by for v in versions],
        }), hide_index=True, key=k("versions"),
            column_config={"version": st.column_config.NumberColumn("Version", format="%d"),
                           "saved": st.column_config.DatetimeColumn("Saved (UTC)", format="YYYY-MM-DD HH:mm")})
