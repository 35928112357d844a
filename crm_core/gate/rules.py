"""The audit rules, the audit score and the policy verdict, column-wise over every offer.

Each rule is a function ``(facts, config) -> (fired, params)``: a bool per
offer and the numbers its message shows (arrays aligned with the offers). The
loop is one pass per rule (16), never one per offer.

The audit score is ``100 - sum of the weights of the flags raised`` (weights
per severity, or per code; see GateConfig), clipped to 0..100 and rounded
half up. The severity of a flag is the catalogue's, except the codes the
policy escalates to ERROR; the policy then turns flags and score into PASS,
REVIEW or BLOCK (see crm_core.gate.policies).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_core.gate.codes import take_text
from crm_core.gate.flags import FLAGS, SEVERITIES, render_template
from crm_core.gate.policies import Policy
from crm_core.gate.settings import GateConfig
from crm_core.gate.stored import details_column, facts_frame

GATES = ("PASS", "REVIEW", "BLOCK")
VERDICT_COLUMNS = ["flags", "flag_details", "worst_severity", "audit_score", "gate", "policy_name", "policy_version"]
Rule = Callable[[pd.DataFrame, GateConfig], tuple[np.ndarray, dict]]


def _num(f: pd.DataFrame, name: str) -> np.ndarray:
    return f[name].to_numpy(dtype=float, na_value=np.nan)


def _is(f: pd.DataFrame, name: str, value: bool) -> np.ndarray:
    """True where the (nullable) boolean column equals ``value``; unknown is never equal."""
    return f[name].astype("boolean").eq(value).to_numpy(dtype=bool, na_value=False)


def _const(f: pd.DataFrame, value) -> np.ndarray:
    return np.full(len(f), value, dtype=float)


def _not_rebuy(f: pd.DataFrame) -> np.ndarray:
    return ~f["scenario"].astype("string").eq("REBUY").to_numpy(dtype=bool, na_value=False)


def opted_out(f, cfg):
    """OPTED_OUT: email_opt_in is False at the contact date."""
    return _is(f, "email_opt_in", False), {}


def do_not_contact(f, cfg):
    """DO_NOT_CONTACT: do_not_contact is True at the contact date."""
    return _is(f, "do_not_contact", True), {}


def consent_unknown(f, cfg):
    """CONSENT_UNKNOWN: neither email_opt_in nor do_not_contact is known."""
    return ~f["consent_known"].to_numpy(dtype=bool), {}


def already_held(f, cfg):
    """ALREADY_HELD: the customer holds the product at the as-of date (whatever the scenario)."""
    return f["held"].to_numpy(dtype=bool), {}


def recently_bought(f, cfg):
    """RECENTLY_BOUGHT: bought fewer days ago than the product's repurchase interval, unless a REBUY."""
    days, window = _num(f, "days_since_bought"), _num(f, "repurchase_days")
    return (days < window) & _not_rebuy(f), {"days": days, "window": window}


def product_inactive(f, cfg):
    """PRODUCT_INACTIVE: the catalogue marks the product inactive."""
    return ~f["product_active"].to_numpy(dtype=bool), {}


def no_price(f, cfg):
    """NO_PRICE: no catalogue price and no sale in the price window."""
    price = _num(f, "price")
    return ~(price > 0), {"window": _const(f, cfg.price_window_days)}


def contacted_recently(f, cfg):
    """CONTACTED_RECENTLY: last contacted fewer than silence_window_days before the contact date."""
    days = _num(f, "days_since_contact")
    return days < cfg.silence_window_days, {"days": days, "window": _const(f, cfg.silence_window_days)}


def recently_exported(f, cfg):
    """RECENTLY_EXPORTED: the same product exported to the customer fewer than recent_export_days ago."""
    days = _num(f, "days_since_exported")
    return days < cfg.recent_export_days, {"days": days, "window": _const(f, cfg.recent_export_days)}


def price_above_basket(f, cfg):
    """PRICE_ABOVE_BASKET: price above basket_price_ratio times the customer's median invoice."""
    price, basket = _num(f, "price"), _num(f, "basket")
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # ratio of a tiny basket: shown as ?
        ratio = np.where(basket > 0, price / basket, np.nan)
    return (basket > 0) & (price > cfg.basket_price_ratio * basket), {
        "price": price, "ratio": ratio, "basket": basket, "limit": _const(f, cfg.basket_price_ratio)}


def low_score(f, cfg):
    """LOW_SCORE: the engine's score (0..1) below low_score."""
    score = _num(f, "score")
    return score < cfg.low_score, {"score": score, "limit": _const(f, cfg.low_score)}


def thin_data(f, cfg):
    """THIN_DATA: one purchase only, more than thin_data_days before the as-of date."""
    days = _num(f, "days_since_first")
    fired = (f["purchases"].to_numpy(dtype=np.int64) == 1) & (days > cfg.thin_data_days)
    return fired, {"days": days, "limit": _const(f, cfg.thin_data_days)}


def stale_data(f, cfg):
    """STALE_DATA: the customer's last line more than stale_data_days before the as-of date.

    Not raised with THIN_DATA: a single purchase long ago is one piece of news, counted once.
    """
    days = _num(f, "days_since_last_line")
    fired = (days > cfg.stale_data_days) & ~thin_data(f, cfg)[0]
    return fired, {"days": days, "limit": _const(f, cfg.stale_data_days)}


def low_margin(f, cfg):
    """LOW_MARGIN: a known margin rate under margin_floor (quiet when costs are unknown)."""
    margin = _num(f, "margin_rate")
    return margin < cfg.margin_floor, {"margin": margin, "floor": _const(f, cfg.margin_floor)}


def pitch_check_failed(f, cfg):
    """PITCH_CHECK_FAILED: the drafted pitch failed checks (their codes, ``;``-joined, in pitch_failures)."""
    text = pa.array(f["pitch_failures"].astype("string").fillna("").array)
    text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    fired = pc.greater(pc.utf8_length(text), 0).to_numpy(zero_copy_only=False)
    count = pc.add(pc.count_substring(text, ";"), 1).to_numpy(zero_copy_only=False).astype(float)
    return fired, {"count": count, "checks": pc.replace_substring(text, ";", ", ")}


def no_pitch(f, cfg):
    """NO_PITCH: no pitch drafted for the offer yet."""
    return ~f["has_pitch"].to_numpy(dtype=bool), {}


RULES: dict[str, Rule] = {
    "OPTED_OUT": opted_out, "DO_NOT_CONTACT": do_not_contact, "CONSENT_UNKNOWN": consent_unknown,
    "ALREADY_HELD": already_held, "RECENTLY_BOUGHT": recently_bought, "PRODUCT_INACTIVE": product_inactive,
    "NO_PRICE": no_price, "CONTACTED_RECENTLY": contacted_recently, "RECENTLY_EXPORTED": recently_exported,
    "PRICE_ABOVE_BASKET": price_above_basket, "LOW_SCORE": low_score, "THIN_DATA": thin_data,
    "STALE_DATA": stale_data, "LOW_MARGIN": low_margin, "PITCH_CHECK_FAILED": pitch_check_failed,
    "NO_PITCH": no_pitch,
}


def evaluate_rules(facts: pd.DataFrame, config: GateConfig, policy: Policy) -> pd.DataFrame:
    """Run every rule on the offers' facts and decide each offer under ``policy``.

    Args:
        facts: ``offer_facts`` output (one row per offer).
        config: gate settings (thresholds, weights).
        policy: the gating policy.
    Returns:
        A frame with the facts' index and :data:`VERDICT_COLUMNS`: ``flags``
        (codes in alphabetical order joined by ``;``, '' when none),
        ``flag_details`` (per offer a list of ``{code, severity, message}``
        dicts, worst severity first, then by code), ``worst_severity``
        (ERROR/WARN/INFO, '' when no flag), ``audit_score`` (int 0..100),
        ``gate`` (PASS/REVIEW/BLOCK), ``policy_name``, ``policy_version``.
    """
    n = len(facts)
    penalty = np.zeros(n)
    worst = np.full(n, len(SEVERITIES), dtype=np.int64)  # rank of the worst flag; len = none
    review = np.zeros(n, dtype=bool)
    fired_by_code, details = {}, []
    for code, rule in RULES.items():
        fired, params = rule(facts, config)
        fired = np.asarray(fired, dtype=bool)
        fired_by_code[code] = fired
        if not fired.any():
            continue
        severity = policy.severity_of(code)
        penalty += config.weight(code, severity.value) * fired
        worst = np.where(fired, np.minimum(worst, severity.rank), worst)
        if code in policy.review_on or severity.value in policy.review_on:
            review |= fired
        where = np.flatnonzero(fired)
        details.append((severity.rank, code, severity.value, where, _messages(code, params, where)))
    score = np.floor(np.clip(100.0 - penalty, 0.0, 100.0) + 0.5).astype(np.int64)
    block = (worst == 0) | (score < policy.block_below)
    review |= score < policy.review_below
    verdict = np.where(block, 2, np.where(review, 1, 0))
    return pd.DataFrame({
        "flags": _flags_text(fired_by_code, n),
        "flag_details": _details(details, n, facts.index),
        "worst_severity": take_text(np.array([*SEVERITIES, ""], dtype=object), worst),
        "audit_score": score,
        "gate": take_text(np.array(GATES, dtype=object), verdict),
        "policy_name": take_text(np.array([policy.name], dtype=object), np.zeros(n, dtype=np.int64)),
        "policy_version": np.full(n, policy.version, dtype=np.int64),
    }, index=facts.index)


def render_flag_messages(flags: Iterable[str], facts, config: GateConfig) -> list[list[str]]:
    """The English messages of stored flags, re-rendered from the stored facts (for pages and exports).

    Args:
        flags: per offer the ``flags`` text (codes joined by ``;``).
        facts: per offer the stored facts: the ``facts`` column, a list of
            dicts, or an ``offer_facts`` frame, aligned with ``flags``.
        config: the gate settings the offers were gated with (the thresholds the messages quote).
    Returns:
        Per offer its messages, catalogue severity first (ERROR, WARN, INFO), then by code.
    """
    frame = facts if isinstance(facts, pd.DataFrame) else facts_frame(facts)
    text = pa.array([t if isinstance(t, str) else "" for t in flags], pa.string())
    if len(text) != len(frame):
        raise ValueError(f"render_flag_messages: {len(text)} flags texts but {len(frame)} facts rows; "
                         "pass one of each per offer.")
    parts = []
    for code, rule in RULES.items():
        listed = pc.match_substring_regex(text, f"(^|;){code}(;|$)").to_numpy(zero_copy_only=False)
        if listed.any():
            _, params = rule(frame, config)
            where = np.flatnonzero(listed)
            parts.append((FLAGS[code].severity.rank, code, where, _messages(code, params, where)))
    parts.sort(key=lambda p: (p[0], p[1]))
    if not parts:
        return [[] for _ in range(len(text))]
    where = np.concatenate([p[2] for p in parts])
    order = np.argsort(where, kind="stable")
    texts = [pa.array([p[3]] * len(p[2]), pa.string()) if isinstance(p[3], str) else p[3].cast(pa.string())
             for p in parts]
    messages = pa.concat_arrays(texts).take(pa.array(order))
    offsets = np.zeros(len(text) + 1, dtype=np.int32)
    np.cumsum(np.bincount(where, minlength=len(text)), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), messages).to_pylist()


def _messages(code: str, params: dict, where: np.ndarray) -> str | pa.Array:
    """The messages of ``code`` at the offers ``where`` (one str when the message has no number)."""
    if not FLAGS[code].params:
        return FLAGS[code].template
    taken = {k: v.take(pa.array(where)) if isinstance(v, (pa.Array, pa.ChunkedArray)) else np.asarray(v)[where]
             for k, v in params.items()}
    out = render_template(code, taken, len(where))
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _flags_text(fired_by_code: dict[str, np.ndarray], n: int) -> pd.arrays.ArrowStringArray:
    """Per offer the raised codes in alphabetical order joined by ';' ('' when none).

    Offers share few combinations of flags: each combination is written once
    (from a bit mask per offer) and gathered, instead of joining 16 text columns.
    """
    codes = sorted(fired_by_code)
    mask = np.zeros(n, dtype=np.int64)
    for bit, code in enumerate(codes):
        mask |= fired_by_code[code].astype(np.int64) << bit
    which, combos = pd.factorize(mask)
    texts = np.array([";".join(c for bit, c in enumerate(codes) if int(m) >> bit & 1) for m in combos], dtype=object)
    return take_text(texts if len(texts) else np.array([""], dtype=object), which)


def _details(details: list, n: int, index) -> pd.Series:
    """The flag_details column from the fired flags of each code (worst severity first, then code)."""
    details.sort(key=lambda d: (d[0], d[1]))
    counts = np.zeros(n, dtype=np.int64)
    for d in details:
        counts[d[3]] += 1  # positions are distinct within one code
    offsets = np.concatenate(([0], np.cumsum(counts)))
    slot, dest = offsets[:-1].copy(), []
    for d in details:  # each flag's place in its offer's list, in display order: no sort
        dest.append(slot[d[3]])
        slot[d[3]] += 1
    total = int(offsets[-1])
    source = np.empty(total, dtype=np.int64)
    source[np.concatenate(dest) if dest else np.zeros(0, dtype=np.int64)] = np.arange(total)
    which = np.concatenate([np.full(len(d[3]), i, dtype=np.int32) for i, d in enumerate(details)] or
                           [np.zeros(0, dtype=np.int32)])[source]
    # Dictionary-encoded fields: the gather in offer order moves integers, never text; a message
    # without numbers (most flags) is one dictionary entry shared by all its offers.
    entries, indices, first = [], [], 0
    for d in details:
        shared = isinstance(d[4], str)
        entries.append(pa.array([d[4]], pa.string()) if shared else d[4].cast(pa.string()))
        indices.append(np.full(len(d[3]), first) if shared else first + np.arange(len(d[3])))
        first += len(entries[-1])
    index_of = np.concatenate(indices or [np.zeros(0, dtype=np.int64)])[source].astype(np.int32)
    return details_column(offsets, which, pa.array([d[1] for d in details], pa.string()),
                          pa.array([d[2] for d in details], pa.string()), index_of,
                          pa.concat_arrays(entries) if entries else pa.array([], pa.string()), index)
