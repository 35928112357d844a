"""The audit gate: facts per offer, rules that raise flags, an audit score, a policy verdict, run quality.

Pure computation: frames in, frames out; no database, no files, no clock
(the as-of and contact dates are arguments). The pipeline calls, as its last stage::

    facts = offer_facts(offers, customers=..., products=..., transactions=..., holdings=...,
                        previous_exports=..., as_of=as_of, contact_date=contact_date, config=cfg)
    gated = gate_offers(offers, facts, cfg, cfg.policy(name))
    quality = run_quality(gated, customers_in_run=customer_ids, offerable_products=..., config=cfg)

A run summarises the lines first (``summarise_history(tx, day_number(as_of), cfg)``, a
:class:`PurchaseHistory`) and passes the summary as ``transactions=``, so that it can let the
lines go before the offers are scored; the facts are the same either way.

Pages re-render stored flags with ``render_flag_messages(flags, facts, cfg)``.
"""

from __future__ import annotations

import pandas as pd

from crm_core.gate.facts import FACT_COLUMNS, offer_facts
from crm_core.gate.flags import FLAG_CODES, FLAGS, FlagSpec, Severity, flag_title
from crm_core.gate.history import PurchaseHistory, summarise_history
from crm_core.gate.policies import (BUILTIN_POLICIES, PERMISSIVE, STANDARD, STRICT, Policy, builtin_policy,
                                    policy_from_dict)
from crm_core.gate.quality import quality_level, run_quality
from crm_core.gate.rules import GATES, RULES, VERDICT_COLUMNS, evaluate_rules, render_flag_messages
from crm_core.gate.settings import GateConfig
from crm_core.gate.stored import FACT_FIELDS, facts_column, facts_frame

GATE_COLUMNS = ["audit_score", "gate", "flags", "flag_details", "worst_severity", "facts", "policy_name",
                "policy_version"]

__all__ = ["BUILTIN_POLICIES", "FACT_COLUMNS", "FACT_FIELDS", "FLAGS", "FLAG_CODES", "FlagSpec", "GATES",
           "GATE_COLUMNS", "GateConfig", "PERMISSIVE", "Policy", "PurchaseHistory", "RULES", "STANDARD", "STRICT", "Severity",
           "VERDICT_COLUMNS", "builtin_policy", "evaluate_rules", "facts_column", "facts_frame", "flag_title",
           "gate_offers", "offer_facts", "policy_from_dict", "quality_level", "render_flag_messages", "run_quality",
           "summarise_history"]


def gate_offers(offers: pd.DataFrame, facts: pd.DataFrame, config: GateConfig,
                policy: Policy | str | None = None) -> pd.DataFrame:
    """The offers with the gate's verdict and the facts it was based on.

    Args:
        offers: the engine's offers frame.
        facts: ``offer_facts(offers, ...)`` (same rows, same index).
        config: gate settings.
        policy: a Policy, a policy name (built-in or one of ``config.policies``),
            or None for ``config.default_policy``.
    Returns:
        ``offers`` (same index and order; any earlier gate columns replaced)
        followed by :data:`GATE_COLUMNS`: ``audit_score`` (int 0..100),
        ``gate`` (PASS/REVIEW/BLOCK), ``flags`` (codes, alphabetical, ``;``),
        ``flag_details`` (lists of ``{code, severity, message}``),
        ``worst_severity``, ``facts`` (a JSON-safe dict per offer),
        ``policy_name``, ``policy_version``.
    Raises:
        ValueError: ``facts`` is not aligned with ``offers``.
        ConfigError: an unknown policy name.
    """
    if len(facts) != len(offers) or not facts.index.equals(offers.index):
        raise ValueError("gate_offers: facts must come from offer_facts(offers, ...) (same rows, same index); "
                         f"got {len(facts)} facts rows for {len(offers)} offers.")
    if not isinstance(policy, Policy):
        policy = config.policy(policy)
    verdict = evaluate_rules(facts, config, policy)
    out = offers.drop(columns=[c for c in GATE_COLUMNS if c in offers.columns])
    verdict["facts"] = facts_column(facts)
    return pd.concat([out, verdict[GATE_COLUMNS]], axis=1)
